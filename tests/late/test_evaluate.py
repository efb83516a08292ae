"""late-evaluate: permutation importance, and every metric and plot of a split (the helpers
themselves are tested in tests/core/test_metrics.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from stages.core.intervals import spec_of
from stages.late.contract import FEATURES
from stages.late.evaluate import (
    CLASS_NAMES,
    ROWS_SPEC,
    evaluate_split,
    feature_importance,
    run,
)
from stages.late.params import EvaluateParams, HgbParams, LogregParams, TrainParams
from stages.late.train import run as fit_model

PARAMS = EvaluateParams(
    threshold=0.5, curve_points=5, calibration_bins=2, importance_rows=200, importance_repeats=2,
    seed=0,
)  # fmt: skip


@pytest.fixture
def fitted_and_frame(processed: pd.DataFrame) -> tuple:
    frame = processed
    params = TrainParams(
        model="hgb", seed=0, drop_features=(), logreg=LogregParams(C=1.0, max_iter=100),
        hgb=HgbParams(max_iter=20, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=5,
                      l2_regularization=0.0),
    )  # fmt: skip
    return fit_model(frame, params), frame


def test_importance_ranks_the_features_that_carry_signal(fitted_and_frame: tuple) -> None:
    model, frame = fitted_and_frame
    rows = feature_importance(model, frame, PARAMS)
    assert {row["feature"] for row in rows} == set(FEATURES)
    top = [row["feature"] for row in rows[:4]]
    assert {"sched_dep_hour", "sched_dep_minute", "precip", "visib", "wind_gust"} & set(top)
    assert rows == feature_importance(model, frame, PARAMS)  # seeded


def test_evaluate_split_returns_metrics_and_all_plots(fitted_and_frame: tuple) -> None:
    model, frame = fitted_and_frame
    metrics, plots, rows = evaluate_split(model, frame, PARAMS)
    assert metrics["n"] == len(frame)
    assert set(plots) == {"roc", "precision_recall", "calibration", "confusion"}
    assert sum(cell["count"] for cell in plots["confusion"]) == len(frame)
    # Each headline metric has its interval beside it, around it; the rows say what they are.
    for name in ("roc_auc", "average_precision", "log_loss"):
        assert metrics[f"{name}_low"] <= metrics[name] <= metrics[f"{name}_high"]
    assert metrics["interval"]["days"] == frame[["month", "day"]].drop_duplicates().shape[0]
    assert len(rows) == len(frame)
    assert spec_of(rows) == ROWS_SPEC


def test_run_scores_each_split_and_names_every_plot(fitted_and_frame: tuple) -> None:
    model, frame = fitted_and_frame
    metrics, plots, scored = run(model, {"valid": frame, "test": frame.head(200)}, PARAMS)
    assert {split: len(rows) for split, rows in scored.items()} == {
        "valid": len(frame),
        "test": 200,
    }
    assert list(metrics) == ["valid", "test"]
    assert metrics["test"]["n"] == 200
    assert set(plots) == {
        f"{split}/{name}"
        for split in ("valid", "test")
        for name in ("roc", "precision_recall", "calibration", "confusion")
    } | {"valid/importance"}
    assert {cell["actual"] for cell in plots["test/confusion"]} == set(CLASS_NAMES)
