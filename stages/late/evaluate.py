"""Stage ``late-evaluate``: score the valid and test splits; write metrics and plot data.

Writes ``metrics/late/metrics.json`` (ROC AUC, average precision, log loss, Brier score, size and
late rate per split; beside ROC AUC, average precision and log loss their 95% interval from a
bootstrap over whole days, ``roc_auc_low`` .. ``roc_auc_high``: the flights of a day share its
weather and congestion), the scored rows under ``data/late/evaluation/`` (each flight's id, day,
label and ``p_late``, so that two revisions can be compared flight by flight) and, under
``metrics/late/plots/``, the data ``dvc plots`` renders: ROC and
precision-recall curves, a calibration curve, the confusion matrix at ``late.evaluate.threshold``
and permutation feature importance.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.errors import run_stage
from stages.core.importance import permutation_importance_encoded
from stages.core.intervals import MetricSpec, RowsSpec, dates_of, evaluated, scored_rows
from stages.core.io import read_table, round_value, write_json, write_parquet_dir
from stages.core.metrics import (
    calibration_points,
    confusion_cells,
    precision_recall_points,
    roc_points,
    score_metrics,
)
from stages.core.params import load_params
from stages.late.contract import FEATURES, ID_COLUMNS, LABEL, PROCESSED_SCHEMA
from stages.late.params import EvaluateParams
from stages.late.paths import EVALUATION_DIR, METRICS_FILE, MODEL_FILE, PLOTS_DIR, processed_path
from stages.late.scoring import load_late_model, predict_late

log = logging.getLogger("stages.late.evaluate")

# The splits scored; train is left out, the model has seen it.
EVALUATED_SPLITS = ("valid", "test")
# What the negative and the positive class are called in the confusion matrix.
CLASS_NAMES = ("on time", "late")
# The scored rows' columns beside the flight's id and label: its day and its probability.
DAY, SCORE = "date", "p_late"
# The headline metrics, with their intervals: recomputed from the scored rows by `make report`.
ROWS_SPEC = RowsSpec(
    key=tuple(ID_COLUMNS),
    unit=DAY,
    metrics=tuple(
        MetricSpec(kind, kind, LABEL, SCORE)
        for kind in ("roc_auc", "average_precision", "log_loss")
    ),
)


def feature_importance(
    model: Pipeline, frame: pd.DataFrame, params: EvaluateParams
) -> list[dict[str, str | float]]:
    """Permutation importance (drop in ROC AUC) of each feature on a sample of ``frame``:
    scikit-learn's values, computed on the encoded columns (``stages.core.importance``)."""
    sample = frame.sample(n=min(params.importance_rows, len(frame)), random_state=params.seed)
    importances = permutation_importance_encoded(
        model,
        sample[FEATURES],
        sample[LABEL].to_numpy(),
        n_repeats=params.importance_repeats,
        random_state=params.seed,
    )
    rows = [
        {"feature": name, "importance": round_value(mean)}
        for name, mean in zip(FEATURES, np.mean(importances, axis=1), strict=True)
    ]
    return sorted(rows, key=lambda row: (-row["importance"], row["feature"]))


def evaluate_split(
    model: Pipeline, frame: pd.DataFrame, params: EvaluateParams
) -> tuple[dict, dict[str, list], pd.DataFrame]:
    """Metrics (with their intervals), plot rows and the scored rows of one split."""
    y_true = frame[LABEL].to_numpy()
    p_late = predict_late(model, frame)
    rows = scored_rows(frame.assign(**{DAY: dates_of(frame), SCORE: p_late}), ROWS_SPEC)
    plots = {
        "roc": roc_points(y_true, p_late, params.curve_points),
        "precision_recall": precision_recall_points(y_true, p_late, params.curve_points),
        "calibration": calibration_points(y_true, p_late, params.calibration_bins),
        "confusion": confusion_cells(y_true, p_late, params.threshold, CLASS_NAMES),
    }
    return evaluated(score_metrics(y_true, p_late), rows, ROWS_SPEC), plots, rows


def run(
    model: Pipeline, frames: dict[str, pd.DataFrame], params: EvaluateParams
) -> tuple[dict[str, dict], dict[str, list], dict[str, pd.DataFrame]]:
    """Metrics of each split of ``frames`` (valid and test), every plot's rows by their name
    under the plots directory (``valid/roc``, ..., ``valid/importance``), and each split's
    scored rows."""
    metrics: dict[str, dict] = {}
    plots: dict[str, list] = {}
    scored: dict[str, pd.DataFrame] = {}
    for split, frame in frames.items():
        metrics[split], split_plots, scored[split] = evaluate_split(model, frame, params)
        for name, rows in split_plots.items():
            plots[f"{split}/{name}"] = rows
    plots["valid/importance"] = feature_importance(model, frames["valid"], params)
    return metrics, plots, scored


def main() -> None:
    """Score data/late/processed/{valid,test} with the model; write metrics and plots."""
    params = load_params("late.evaluate", EvaluateParams)
    model = load_late_model(MODEL_FILE)
    frames = {
        split: read_table(processed_path(split), PROCESSED_SCHEMA) for split in EVALUATED_SPLITS
    }
    metrics, plots, scored = run(model, frames, params)
    for split, values in metrics.items():
        log.info("%s: %s", split, values)
    # Everything is computed before anything is written: a failure leaves the old outputs.
    write_parquet_dir(EVALUATION_DIR, scored)
    write_json(METRICS_FILE, metrics)
    for name, rows in plots.items():
        write_json(PLOTS_DIR / f"{name}.json", rows)


if __name__ == "__main__":
    run_stage(main)
