"""Metric and curve helpers on known inputs."""

from __future__ import annotations

import numpy as np
import pytest

from stages.core.errors import StageError
from stages.core.metrics import (
    calibration_points,
    class_metrics,
    confusion_cells,
    confusion_rows,
    precision_recall_points,
    regression_metrics,
    roc_points,
    score_metrics,
    skill,
)

Y = np.array([False, False, True, True, False, True])
P = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])


def test_score_metrics_values() -> None:
    metrics = score_metrics(Y, P)
    assert metrics["roc_auc"] == pytest.approx(8 / 9, abs=1e-6)
    assert metrics["n"] == 6 and metrics["positive_rate"] == 0.5
    assert metrics["brier"] == pytest.approx(np.mean((P - Y) ** 2), abs=1e-6)
    assert set(metrics) == {
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
        "n",
        "positive_rate",
    }


def test_single_class_cannot_be_scored() -> None:
    with pytest.raises(StageError, match="only one class"):
        score_metrics(np.array([True, True]), np.array([0.2, 0.3]))


def test_curves_are_thinned_and_keep_their_ends() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(1000) < 0.3
    p = rng.random(1000)
    roc = roc_points(y, p, keep=11)
    assert len(roc) == 11
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1] == {"fpr": 1.0, "tpr": 1.0}
    pr = precision_recall_points(y, p, keep=11)
    assert len(pr) == 11 and pr[-1]["recall"] == 0.0


def test_calibration_bins_cover_every_row() -> None:
    rows = calibration_points(Y, P, bins=2)
    assert [row["n"] for row in rows] == [3, 3]
    assert rows[0]["observed"] == pytest.approx(1 / 3, abs=1e-6)
    assert rows[1]["predicted"] == pytest.approx((0.4 + 0.8 + 0.9) / 3, abs=1e-6)


def test_confusion_cells_count_every_row_and_name_the_classes() -> None:
    cells = {
        (c["actual"], c["predicted"]): c["count"]
        for c in confusion_cells(Y, P, 0.5, ("on time", "late"))
    }
    assert cells == {
        ("on time", "on time"): 3,
        ("on time", "late"): 0,
        ("late", "on time"): 1,
        ("late", "late"): 2,
    }


def test_regression_metrics_values() -> None:
    metrics = regression_metrics(np.array([0.1, 0.2, 0.4]), np.array([0.2, 0.2, 0.1]))
    assert metrics == {
        "mae": pytest.approx((0.1 + 0 + 0.3) / 3, abs=1e-6),
        "rmse": pytest.approx(np.sqrt((0.01 + 0 + 0.09) / 3), abs=1e-6),
        "n": 3,
    }


def test_regression_metrics_need_rows() -> None:
    with pytest.raises(StageError, match="no rows"):
        regression_metrics(np.array([]), np.array([]))


def test_skill_is_positive_when_better_and_negative_when_worse() -> None:
    assert skill(0.08, 0.1) == pytest.approx(0.2)
    assert skill(0.1, 0.1) == 0.0
    assert skill(0.12, 0.1) == pytest.approx(-0.2)
    with pytest.raises(StageError, match="baseline's error is zero"):
        skill(0.1, 0.0)


def test_class_metrics_for_three_classes() -> None:
    classes = np.array(["a", "b", "c"])
    y_true = np.array(["a", "b", "c", "a"])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [0.6, 0.3, 0.1]])
    metrics = class_metrics(y_true, probabilities, classes)
    assert metrics["accuracy"] == 0.75
    assert metrics["balanced_accuracy"] == round(2 / 3, 6)
    assert metrics["n"] == 4 and metrics["classes"] == 3
    assert "roc_auc" not in metrics
    assert metrics["log_loss"] > 0


def test_class_metrics_for_two_classes_add_the_roc_auc() -> None:
    classes = np.array(["no", "yes"])
    y_true = np.array(["no", "yes", "yes", "no"])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    assert class_metrics(y_true, probabilities, classes)["roc_auc"] == 1.0


def test_class_metrics_name_a_label_the_model_never_saw() -> None:
    with pytest.raises(StageError, match=r"labels \['z'\] are not among the classes"):
        class_metrics(
            np.array(["a", "z"]), np.array([[1.0, 0.0], [0.5, 0.5]]), np.array(["a", "b"])
        )
    with pytest.raises(StageError, match="no rows"):
        class_metrics(np.array([]), np.zeros((0, 2)), np.array(["a", "b"]))


def test_confusion_rows_hold_every_cell_empty_ones_too() -> None:
    rows = confusion_rows(
        np.array(["a", "a", "b"]), np.array(["a", "b", "b"]), np.array(["a", "b", "c"])
    )
    assert len(rows) == 9
    counts = {(row["actual"], row["predicted"]): row["count"] for row in rows}
    assert counts[("a", "a")] == 1 and counts[("a", "b")] == 1 and counts[("b", "b")] == 1
    assert counts[("c", "c")] == 0
    assert sum(counts.values()) == 3
