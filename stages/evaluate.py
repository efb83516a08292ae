"""Stage ``evaluate``: score the valid and test splits; write metrics and plot data.

Writes ``metrics/metrics.json`` (ROC AUC, average precision, log loss, Brier score, size and late
rate per split) and, under ``metrics/plots/``, the data ``dvc plots`` renders: ROC and
precision-recall curves, a calibration curve, the confusion matrix at ``evaluate.threshold`` and
permutation feature importance.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline

from stages.errors import StageError, run_stage
from stages.io import read_table, write_json
from stages.model_io import load_model
from stages.params import EvaluateParams, load_params
from stages.schema import FEATURES, LABEL, PROCESSED_SCHEMA
from stages.scoring import predict_late

log = logging.getLogger("stages.evaluate")

PROCESSED_DIR = Path("data/processed")
MODEL_FILE = Path("models/model.skops")
METRICS_FILE = Path("metrics/metrics.json")
PLOTS_DIR = Path("metrics/plots")
# The splits scored; train is left out, the model has seen it.
EVALUATED_SPLITS = ("valid", "test")
# Decimal places kept in metrics and plot data: far below any difference worth reading, and
# stable against the last-bit noise of floating-point sums.
DIGITS = 6


def _round(value: float) -> float:
    """Round to DIGITS for stable, readable JSON."""
    return round(float(value), DIGITS)


def score_metrics(y_true: np.ndarray, p_late: np.ndarray) -> dict[str, float | int]:
    """Ranking, probability and calibration quality of ``p_late`` against the labels."""
    if len(np.unique(y_true)) < 2:
        raise StageError("cannot evaluate: the split holds only one class of flights")
    return {
        "roc_auc": _round(roc_auc_score(y_true, p_late)),
        "average_precision": _round(average_precision_score(y_true, p_late)),
        "log_loss": _round(log_loss(y_true, p_late, labels=[False, True])),
        "brier": _round(brier_score_loss(y_true, p_late)),
        "n": len(y_true),
        "positive_rate": _round(np.mean(y_true)),
    }


def _thin(n_points: int, keep: int) -> np.ndarray:
    """Indices of ``keep`` points spread evenly over ``n_points``, first and last included."""
    if n_points <= keep:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, keep).round().astype(int))


def roc_points(y_true: np.ndarray, p_late: np.ndarray, keep: int) -> list[dict[str, float]]:
    """At most ``keep`` points of the ROC curve, as rows for ``dvc plots``."""
    fpr, tpr, _ = roc_curve(y_true, p_late)
    index = _thin(len(fpr), keep)
    return [{"fpr": _round(fpr[i]), "tpr": _round(tpr[i])} for i in index]


def precision_recall_points(
    y_true: np.ndarray, p_late: np.ndarray, keep: int
) -> list[dict[str, float]]:
    """At most ``keep`` points of the precision-recall curve, as rows for ``dvc plots``."""
    precision, recall, _ = precision_recall_curve(y_true, p_late)
    index = _thin(len(precision), keep)
    return [{"recall": _round(recall[i]), "precision": _round(precision[i])} for i in index]


def calibration_points(
    y_true: np.ndarray, p_late: np.ndarray, bins: int
) -> list[dict[str, float | int]]:
    """Mean predicted against observed late rate in quantile bins of the prediction."""
    frame = pd.DataFrame({"late": y_true.astype(float), "p": p_late})
    frame["bin"] = pd.qcut(frame["p"], q=bins, labels=False, duplicates="drop")
    grouped = frame.groupby("bin", sort=True).agg(
        predicted=("p", "mean"), observed=("late", "mean"), n=("p", "size")
    )
    return [
        {"predicted": _round(row.predicted), "observed": _round(row.observed), "n": int(row.n)}
        for row in grouped.itertuples()
    ]


def confusion_cells(
    y_true: np.ndarray, p_late: np.ndarray, threshold: float
) -> list[dict[str, str | int]]:
    """The four cells of the confusion matrix at ``threshold``, with their counts."""
    predicted = p_late >= threshold
    cells = []
    for actual_value, actual_name in ((False, "on time"), (True, "late")):
        for predicted_value, predicted_name in ((False, "on time"), (True, "late")):
            count = int(np.sum((y_true == actual_value) & (predicted == predicted_value)))
            cells.append(
                {
                    "cell": f"actual {actual_name}, predicted {predicted_name}",
                    "actual": actual_name,
                    "predicted": predicted_name,
                    "count": count,
                }
            )
    return cells


def feature_importance(
    model: Pipeline, frame: pd.DataFrame, params: EvaluateParams
) -> list[dict[str, str | float]]:
    """Permutation importance (drop in ROC AUC) of each feature on a sample of ``frame``."""
    sample = frame.sample(n=min(params.importance_rows, len(frame)), random_state=params.seed)
    result = permutation_importance(
        model,
        sample[FEATURES],
        sample[LABEL],
        scoring="roc_auc",
        n_repeats=params.importance_repeats,
        random_state=params.seed,
        n_jobs=1,
    )
    rows = [
        {"feature": name, "importance": _round(mean)}
        for name, mean in zip(FEATURES, result.importances_mean, strict=True)
    ]
    return sorted(rows, key=lambda row: (-row["importance"], row["feature"]))


def evaluate_split(
    model: Pipeline, frame: pd.DataFrame, params: EvaluateParams
) -> tuple[dict, dict[str, list]]:
    """Metrics and plot rows for one split."""
    y_true = frame[LABEL].to_numpy()
    p_late = predict_late(model, frame)
    plots = {
        "roc": roc_points(y_true, p_late, params.curve_points),
        "precision_recall": precision_recall_points(y_true, p_late, params.curve_points),
        "calibration": calibration_points(y_true, p_late, params.calibration_bins),
        "confusion": confusion_cells(y_true, p_late, params.threshold),
    }
    return score_metrics(y_true, p_late), plots


def main() -> None:
    """Score data/processed/{valid,test} with models/model.skops; write metrics and plots."""
    params: EvaluateParams = load_params("evaluate")
    model = load_model(MODEL_FILE)
    metrics: dict[str, dict] = {}
    plots: dict[str, list] = {}
    frames = {
        split: read_table(PROCESSED_DIR / f"{split}.parquet", PROCESSED_SCHEMA)
        for split in EVALUATED_SPLITS
    }
    for split, frame in frames.items():
        metrics[split], split_plots = evaluate_split(model, frame, params)
        for name, rows in split_plots.items():
            plots[f"{split}/{name}"] = rows
        log.info("%s: %s", split, metrics[split])
    plots["valid/importance"] = feature_importance(model, frames["valid"], params)
    # Everything is computed before anything is written: a failure leaves the old outputs.
    write_json(METRICS_FILE, metrics)
    for name, rows in plots.items():
        write_json(PLOTS_DIR / f"{name}.json", rows)


if __name__ == "__main__":
    run_stage(main)
