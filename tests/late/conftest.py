"""Fixtures of the flight-delay project's tests: the synthetic flights as processed tables."""

from __future__ import annotations

import pandas as pd
import pytest

from stages.late.featurize import build_features, summarise_schedule, with_label
from stages.late.params import FeaturizeParams
from stages.late.split import label_flights


def build_processed(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every labelled synthetic flight as one processed table, built by featurize's own code."""
    labelled, _ = label_flights(raw_tables["flights"], 30)
    features = build_features(
        labelled, summarise_schedule(raw_tables["flights"]), raw_tables["weather"],
        raw_tables["planes"], raw_tables["airports"], FeaturizeParams(holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60),
    )  # fmt: skip
    return with_label(features, labelled)


@pytest.fixture
def processed(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The synthetic flights' processed table."""
    return build_processed(raw_tables)
