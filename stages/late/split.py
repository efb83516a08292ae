"""Stage ``late-split``: label each flight and divide the flights into train, valid and test.

``late = arr_delay >= late.split.late_threshold_min``. Flights without ``arr_delay`` (cancelled or
diverted) have no label: they are excluded, counted in the log and in ``metrics/late/data.json``.
Writes ``data/late/interim/{train,valid,test}.parquet``: the flights' columns plus ``late``.
"""

from __future__ import annotations

import logging

import pandas as pd

from stages.core.errors import StageError, run_stage
from stages.core.io import read_table, write_json, write_parquet_dir
from stages.core.params import load_params
from stages.core.splits import split_at_random, split_by_time
from stages.late.contract import LABEL
from stages.late.params import SplitParams
from stages.late.paths import DATA_METRICS_FILE, INTERIM_DIR
from stages.raw import RAW_TABLES, raw_path

log = logging.getLogger("stages.late.split")


def label_flights(flights: pd.DataFrame, threshold_min: int) -> tuple[pd.DataFrame, int]:
    """Flights that have an arrival delay, with ``late`` added, and how many had none."""
    has_arrival = flights["arr_delay"].notna()
    labelled = flights[has_arrival].assign(**{LABEL: flights["arr_delay"] >= threshold_min})
    return labelled, int((~has_arrival).sum())


def split_flights(flights: pd.DataFrame, params: SplitParams) -> dict[str, pd.DataFrame]:
    """Split labelled flights by ``params.strategy``; StageError if a split comes out empty."""
    if params.strategy == "time":
        splits = split_by_time(flights, params.valid_month, params.test_month)
    else:
        splits = split_at_random(flights, params.test_frac, params.valid_frac, params.seed)
    for name, frame in splits.items():
        if frame.empty:
            raise StageError(
                f"split '{name}' is empty with late.split.strategy={params.strategy}: the flights "
                f"cover months {sorted(flights['month'].unique().tolist())}"
            )
    return splits


def describe_splits(splits: dict[str, pd.DataFrame], n_flights: int, n_unlabelled: int) -> dict:
    """Counts for the data metrics: flights read and excluded, and each split's flights and late
    rate, under ``splits`` so that no key collides with a key of ``metrics.json`` in the tables
    ``dvc metrics show`` and ``dvc exp show`` print."""
    return {
        "flights": n_flights,
        "excluded_no_arr_delay": n_unlabelled,
        "splits": {
            name: {"flights": len(frame), "late_rate": round(float(frame[LABEL].mean()), 6)}
            for name, frame in splits.items()
        },
    }


def run(flights: pd.DataFrame, params: SplitParams) -> tuple[dict[str, pd.DataFrame], dict]:
    """The labelled splits of ``flights`` (index reset) and their description."""
    labelled, n_unlabelled = label_flights(flights, params.late_threshold_min)
    splits = split_flights(labelled, params)
    described = describe_splits(splits, len(flights), n_unlabelled)
    return {name: frame.reset_index(drop=True) for name, frame in splits.items()}, described


def main() -> None:
    """Label and split data/raw/flights.parquet into data/late/interim."""
    params = load_params("late.split", SplitParams)
    flights = read_table(raw_path("flights"), RAW_TABLES["flights"])
    splits, described = run(flights, params)
    log.info(
        "excluded %d of %d flights without arr_delay", described["excluded_no_arr_delay"],
        len(flights),
    )  # fmt: skip
    for name, frame in splits.items():
        log.info("%s: %d flights, %.1f%% late", name, len(frame), 100 * frame[LABEL].mean())
    write_parquet_dir(INTERIM_DIR, splits)
    write_json(DATA_METRICS_FILE, described)


if __name__ == "__main__":
    run_stage(main)
