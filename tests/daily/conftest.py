"""Fixtures of the daily project's tests: synthetic airport-days, split as the stage splits them."""

from __future__ import annotations

import pandas as pd
import pytest

from stages.daily.params import HgbParams, PrepareParams, RidgeParams, TrainParams
from stages.daily.prepare import run
from tests.conftest import make_raw_tables

PREPARE = PrepareParams(
    late_threshold_min=15, cutoff_hour=18, holiday_horizon_days=14, valid_month=10, test_month=11
)
TRAIN = TrainParams(
    model="hgb", seed=0, drop_features=(),
    hgb=HgbParams(loss="absolute_error", max_iter=30, learning_rate=0.1, max_leaf_nodes=8,
                  min_samples_leaf=10, l2_regularization=0.0),
    ridge=RidgeParams(alpha=1.0),
)  # fmt: skip


@pytest.fixture(scope="session")
def day_splits() -> dict[str, pd.DataFrame]:
    """The synthetic raw tables' airport-days, by split (shared: tests must not modify them)."""
    raw = make_raw_tables(flights_per_month=600, seed=3)
    return run(raw["flights"], raw["weather"], PREPARE)
