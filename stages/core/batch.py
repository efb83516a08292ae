"""Batch scoring, whatever the project: a CSV or Parquet file of rows in, one prediction per row
out, with the guarantees of the batch command.

- The output path is refused before anything is read when it is a directory, one of the inputs,
  or a file the pipeline owns (``stages.core.guard``).
- Every column the project's contract needs is checked in the input's header before any slow
  step, all the missing ones named in one line; a value that breaks the contract stops the run
  naming the file, column and first bad rows (``stages.core.io.read_batches``).
- Rows are read and scored a chunk at a time, and the output is written atomically: a failure
  leaves no file, or the old one intact. The output does not depend on the chunk size.

A project made by ``make project`` scores with ``python -m stages.<project>.score`` built on
:func:`score_command`; ``stages.late.predict`` writes through the same :class:`PredictionWriter`.
"""

from __future__ import annotations

import argparse
import gzip
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stages.core.dvc_yaml import read_pipeline
from stages.core.errors import StageError
from stages.core.guard import check_output_path
from stages.core.io import atomic_path, check_columns, file_format, project_root, read_batches
from stages.core.tables import TableSchema

log = logging.getLogger("stages.core.batch")

DEFAULT_CHUNK_ROWS = 100_000


class PredictionWriter:
    """Appends batches of predictions to a CSV (gzip-compressed when ``compress``) or Parquet
    file as they are scored."""

    def __init__(self, path: Path, kind: str, compress: bool = False) -> None:
        self.path, self.kind = path, kind
        self.parquet: pq.ParquetWriter | None = None
        self.csv: BinaryIO | None = None
        self.handle: BinaryIO | None = None
        # Opened by Python for Parquet too (not by Arrow): the audit test sees every write.
        self.handle = path.open("wb")
        if kind == "csv":
            # No name and no time in the gzip header: the same predictions give the same bytes.
            self.csv = (
                gzip.GzipFile(filename="", mode="wb", fileobj=self.handle, mtime=0)
                if compress
                else self.handle
            )
        self.header = True

    def write(self, predictions: pd.DataFrame) -> None:
        """Append one batch."""
        if self.csv is not None:
            text = predictions.to_csv(header=self.header, index=False, lineterminator="\n")
            self.csv.write(text.encode("utf-8"))
            self.header = False
            return
        table = pa.Table.from_pandas(predictions, preserve_index=False)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.handle, table.schema)
        self.parquet.write_table(table)

    def close(self) -> None:
        """Finish the file (gzip and Parquet write their trailers here)."""
        if self.parquet is not None:
            self.parquet.close()
        if self.csv is not None and self.csv is not self.handle:
            self.csv.close()
        if self.handle is not None:
            self.handle.close()


def batch_parser(prog: str, description: str, model: Path) -> argparse.ArgumentParser:
    """The batch command's options: ``--input``, ``--output``, ``--model`` and ``--chunk-rows``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--input", type=Path, required=True, help="rows: .csv, .csv.gz, .parquet")
    parser.add_argument("--output", type=Path, required=True, help="predictions: .csv or .parquet")
    parser.add_argument(
        "--model", type=Path, default=model, help="skops model file (default: %(default)s)"
    )
    parser.add_argument(
        "--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS,
        help="rows read and scored at a time (default: %(default)s)",
    )  # fmt: skip
    return parser


def check_batch_output(output: Path, inputs: dict[str, Path], arguments: list[str]) -> None:
    """Refuse, before anything is read, an ``output`` that is a directory, one of ``inputs``
    (by option) or a file the pipeline of the enclosing repository owns."""
    try:
        root = project_root(Path.cwd())
    except FileNotFoundError:
        root = Path.cwd()
    check_output_path(output, inputs, read_pipeline(root), root, arguments)


# A project's scoring: its model and one chunk of checked input rows -> one row of output each.
Scorer = Callable[[object, pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class BatchResult:
    """What a batch run scored."""

    rows: int
    output: Path


def score_file(
    load_model: Callable[[], object], scorer: Scorer, input_path: Path, output_path: Path,
    schema: TableSchema, chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> BatchResult:  # fmt: skip
    """Score every row of ``input_path`` (its ``schema`` columns, checked) into ``output_path``,
    written atomically; StageError naming the file, column and rows at fault. The names and the
    input's columns are checked before ``load_model`` is called: a missing column costs nothing."""
    output_kind = file_format(output_path)
    file_format(input_path)  # fail on a bad name before the slow steps
    check_columns(input_path, schema)  # every missing column, not only the first read
    model = load_model()
    rows = 0
    compress = output_path.name.lower().endswith(".gz")
    with atomic_path(output_path) as temporary:
        writer = PredictionWriter(temporary, output_kind, compress)
        try:
            for batch in read_batches(input_path, schema, chunk_rows):
                predictions = scorer(model, batch.reset_index(drop=True))
                if len(predictions) != len(batch):
                    raise StageError(
                        f"{input_path}: the scorer gave {len(predictions)} predictions for "
                        f"{len(batch)} rows"
                    )
                writer.write(predictions)
                rows += len(batch)
                log.info("scored %d rows", rows)
        finally:
            writer.close()
    return BatchResult(rows, output_path)


def score_command(
    argv: list[str], prog: str, description: str, default_model: Path,
    load_model: Callable[[Path], object], scorer: Scorer, schema: TableSchema,
) -> BatchResult:  # fmt: skip
    """The whole batch command of a project: parse ``argv``, check the output path and the
    inputs, load the model, score the input. What ``python -m stages.<project>.score`` runs."""
    parser = batch_parser(prog, description, default_model)
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be at least 1")
    check_batch_output(args.output, {"--input": args.input, "--model": args.model}, argv)
    if not args.input.is_file():
        raise StageError(f"--input {args.input}: file not found")

    def load() -> object:
        if not args.model.is_file():
            raise StageError(f"--model {args.model}: file not found (make repro builds it)")
        return load_model(args.model)

    result = score_file(load, scorer, args.input, args.output, schema, args.chunk_rows)
    log.info("wrote %d predictions to %s", result.rows, result.output)
    return result
