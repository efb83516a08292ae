"""Stage ``split``: label each flight and divide the flights into train, valid and test.

``late = arr_delay >= split.late_threshold_min``. Flights without ``arr_delay`` (cancelled or
diverted) have no label: they are excluded, counted in the log and in ``metrics/data.json``.
Writes ``data/interim/{train,valid,test}.parquet``: the flights' columns plus ``late``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from stages.errors import StageError, run_stage
from stages.io import read_table, write_json, write_parquet_dir
from stages.params import SplitParams, load_params
from stages.schema import LABEL, RAW_TABLES

log = logging.getLogger("stages.split")

RAW_FLIGHTS = Path("data/raw/flights.parquet")
INTERIM_DIR = Path("data/interim")
DATA_METRICS = Path("metrics/data.json")


def label_flights(flights: pd.DataFrame, threshold_min: int) -> tuple[pd.DataFrame, int]:
    """Flights that have an arrival delay, with ``late`` added, and how many had none."""
    has_arrival = flights["arr_delay"].notna()
    labelled = flights[has_arrival].assign(**{LABEL: flights["arr_delay"] >= threshold_min})
    return labelled, int((~has_arrival).sum())


def split_by_time(
    flights: pd.DataFrame, valid_month: int, test_month: int
) -> dict[str, pd.DataFrame]:
    """Train before ``valid_month``, valid from it to before ``test_month``, test from then on."""
    month = flights["month"]
    return {
        "train": flights[month < valid_month],
        "valid": flights[(month >= valid_month) & (month < test_month)],
        "test": flights[month >= test_month],
    }


def split_at_random(
    flights: pd.DataFrame, test_frac: float, valid_frac: float, seed: int
) -> dict[str, pd.DataFrame]:
    """``test_frac`` of flights to test, ``valid_frac`` of the rest to valid; original row order."""
    rng = np.random.default_rng(seed)
    draw = rng.random(len(flights))
    is_test = draw < test_frac
    # A second, independent draw for valid keeps the test set the same whatever valid_frac is.
    is_valid = ~is_test & (rng.random(len(flights)) < valid_frac)
    return {
        "train": flights[~is_test & ~is_valid],
        "valid": flights[is_valid],
        "test": flights[is_test],
    }


def split_flights(flights: pd.DataFrame, params: SplitParams) -> dict[str, pd.DataFrame]:
    """Split labelled flights by ``params.strategy``; StageError if a split comes out empty."""
    if params.strategy == "time":
        splits = split_by_time(flights, params.valid_month, params.test_month)
    else:
        splits = split_at_random(flights, params.test_frac, params.valid_frac, params.seed)
    for name, frame in splits.items():
        if frame.empty:
            raise StageError(
                f"split '{name}' is empty with split.strategy={params.strategy}: the flights cover "
                f"months {sorted(flights['month'].unique().tolist())}"
            )
    return splits


def describe_splits(splits: dict[str, pd.DataFrame], n_flights: int, n_unlabelled: int) -> dict:
    """Counts for metrics/data.json: flights read and excluded, size and late rate per split."""
    return {
        "flights": n_flights,
        "excluded_no_arr_delay": n_unlabelled,
        **{
            name: {"n": len(frame), "positive_rate": round(float(frame[LABEL].mean()), 6)}
            for name, frame in splits.items()
        },
    }


def main() -> None:
    """Label and split data/raw/flights.parquet into data/interim."""
    params: SplitParams = load_params("split")
    flights = read_table(RAW_FLIGHTS, RAW_TABLES["flights"])
    labelled, n_unlabelled = label_flights(flights, params.late_threshold_min)
    log.info("excluded %d of %d flights without arr_delay", n_unlabelled, len(flights))
    splits = split_flights(labelled, params)
    for name, frame in splits.items():
        log.info("%s: %d flights, %.1f%% late", name, len(frame), 100 * frame[LABEL].mean())
    write_parquet_dir(
        INTERIM_DIR, {name: frame.reset_index(drop=True) for name, frame in splits.items()}
    )
    write_json(DATA_METRICS, describe_splits(splits, len(flights), n_unlabelled))


if __name__ == "__main__":
    run_stage(main)
