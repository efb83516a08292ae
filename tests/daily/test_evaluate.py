"""daily-evaluate: metrics against the naive forecasts, skill, and the plot rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.daily.contract import AIRPORTS, TARGET
from stages.daily.evaluate import residual_rows, run, series_rows, split_metrics
from stages.daily.train import run as fit
from tests.daily.conftest import TRAIN


def hand_made_days() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": ["EWR", "JFK", "EWR", "JFK"], "year": 2013, "month": 11, "day": [1, 1, 2, 2],
            TARGET: [0.2, 0.4, 0.1, 0.3], "share_so_far": [0.3, 0.4, 0.3, 0.1],
            "share_mean_7d": [0.2, 0.2, 0.2, 0.2],
        }
    )  # fmt: skip


def test_split_metrics_compare_the_model_with_each_baseline_and_the_best() -> None:
    days = hand_made_days()
    metrics = split_metrics(days, pd.Series([0.2, 0.35, 0.15, 0.3]))
    assert metrics["airport_days"] == 4
    assert metrics["model"]["mae"] == pytest.approx(0.025)
    assert metrics["persistence"]["mae"] == pytest.approx((0.1 + 0 + 0.2 + 0.2) / 4)
    assert metrics["mean_7d"]["mae"] == pytest.approx((0 + 0.2 + 0.1 + 0.1) / 4)  # the best
    assert metrics["skill"] == pytest.approx(1 - 0.025 / 0.1)
    assert set(metrics) == {
        "airport_days", "model", "persistence", "mean_7d", "skill", "skill_vs_persistence",
        "skill_vs_mean_7d",
    }  # fmt: skip


def test_a_model_worse_than_the_baselines_has_negative_skill() -> None:
    metrics = split_metrics(hand_made_days(), pd.Series([0.9, 0.9, 0.9, 0.9]))
    assert metrics["skill"] < 0 and metrics["skill_vs_mean_7d"] < 0


def test_plot_rows() -> None:
    days = hand_made_days()
    forecast = pd.Series([0.25, 0.35, 0.15, 0.3])
    rows = series_rows(days, forecast, "JFK")
    assert rows == [
        {"date": "2013-11-01", "day_of_year": 305, "actual": 0.4, "forecast": 0.35, "mean_7d": 0.2},
        {"date": "2013-11-02", "day_of_year": 306, "actual": 0.3, "forecast": 0.3, "mean_7d": 0.2},
    ]
    residuals = residual_rows(days, forecast)
    assert [row["residual"] for row in residuals] == pytest.approx([-0.05, 0.05, -0.05, 0.0])


def test_run_reports_every_split_and_draws_every_airport(
    day_splits: dict[str, pd.DataFrame],
) -> None:
    model = fit(day_splits["train"], TRAIN)
    metrics, plots, scored = run(model, day_splits)
    assert list(metrics) == ["train", "valid", "test"]
    # Intervals on valid and test, around their point values; train's are in-sample: none.
    assert sorted(scored) == ["test", "valid"] and "interval" not in metrics["train"]
    for split in scored:
        assert len(scored[split]) == len(day_splits[split])
        for forecast in ("model", "persistence", "mean_7d"):
            values = metrics[split][forecast]
            assert values["mae_low"] <= values["mae"] <= values["mae_high"]
        assert (
            metrics[split]["skill_low"] <= metrics[split]["skill"] <= metrics[split]["skill_high"]
        )
    assert all(np.isfinite(metrics[split]["skill"]) for split in metrics)
    assert set(plots) == {f"test/{airport}" for airport in AIRPORTS} | {"test/residuals"}
    assert sum(len(plots[f"test/{airport}"]) for airport in AIRPORTS) == len(day_splits["test"])
