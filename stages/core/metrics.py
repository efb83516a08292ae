"""Metric and curve helpers. For models that score a binary outcome: ranking, probability and
calibration quality, and the rows ``dvc plots`` draws (ROC, precision-recall, calibration,
confusion matrix). For classes of any number: accuracy, balanced accuracy, macro F1 and log
loss, and the confusion matrix's cells. For regression: MAE, RMSE and the skill against a
baseline. Values are rounded to ``stages.core.io.DIGITS`` places so that metrics files are
stable and readable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from stages.core.errors import StageError
from stages.core.io import round_value


def score_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float | int]:
    """Ranking, probability and calibration quality of the probabilities ``scores`` against the
    boolean labels ``y_true``."""
    if len(np.unique(y_true)) < 2:
        raise StageError("cannot evaluate: the labels hold only one class")
    return {
        "roc_auc": round_value(roc_auc_score(y_true, scores)),
        "average_precision": round_value(average_precision_score(y_true, scores)),
        "log_loss": round_value(log_loss(y_true, scores, labels=[False, True])),
        "brier": round_value(brier_score_loss(y_true, scores)),
        "n": len(y_true),
        "positive_rate": round_value(np.mean(y_true)),
    }


def thin_indices(n_points: int, keep: int) -> np.ndarray:
    """Indices of ``keep`` points spread evenly over ``n_points``, first and last included."""
    if n_points <= keep:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, keep).round().astype(int))


def roc_points(y_true: np.ndarray, scores: np.ndarray, keep: int) -> list[dict[str, float]]:
    """At most ``keep`` points of the ROC curve, as rows for ``dvc plots``."""
    fpr, tpr, _ = roc_curve(y_true, scores)
    index = thin_indices(len(fpr), keep)
    return [{"fpr": round_value(fpr[i]), "tpr": round_value(tpr[i])} for i in index]


def precision_recall_points(
    y_true: np.ndarray, scores: np.ndarray, keep: int
) -> list[dict[str, float]]:
    """At most ``keep`` points of the precision-recall curve, as rows for ``dvc plots``."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    index = thin_indices(len(precision), keep)
    return [
        {"recall": round_value(recall[i]), "precision": round_value(precision[i])} for i in index
    ]


def calibration_points(
    y_true: np.ndarray, scores: np.ndarray, bins: int
) -> list[dict[str, float | int]]:
    """Mean predicted probability against observed positive rate in quantile bins of the
    prediction."""
    frame = pd.DataFrame({"positive": y_true.astype(float), "p": scores})
    frame["bin"] = pd.qcut(frame["p"], q=bins, labels=False, duplicates="drop")
    grouped = frame.groupby("bin", sort=True).agg(
        predicted=("p", "mean"), observed=("positive", "mean"), n=("p", "size")
    )
    return [
        {
            "predicted": round_value(row.predicted),
            "observed": round_value(row.observed),
            "n": int(row.n),
        }
        for row in grouped.itertuples()
    ]


def confusion_cells(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, names: tuple[str, str]
) -> list[dict[str, str | int]]:
    """The four cells of the confusion matrix at ``threshold``, with their counts; ``names``
    are what the negative and the positive class are called."""
    labels = np.asarray(names)
    actual = labels[np.asarray(y_true, dtype=int)]
    predicted = labels[(np.asarray(scores) >= threshold).astype(int)]
    return confusion_rows(actual, predicted, labels)


def class_metrics(
    y_true: np.ndarray, probabilities: np.ndarray, classes: np.ndarray
) -> dict[str, float | int]:
    """Accuracy, balanced accuracy, macro F1 and log loss of the class ``probabilities`` (one
    column per entry of ``classes``, as a scikit-learn classifier's ``predict_proba`` gives them)
    against the labels ``y_true``; with two classes, the ROC AUC of the second too. A label the
    model has no column for counts as a miss (and stops the log loss: StageError)."""
    if len(y_true) == 0:
        raise StageError("cannot evaluate: no rows")
    unknown = sorted(set(map(str, y_true)) - set(map(str, classes)))
    if unknown:
        raise StageError(
            f"cannot evaluate: labels {unknown[:5]} are not among the classes the model was "
            f"trained on ({', '.join(map(str, classes))}); the train split lacks them"
        )
    predicted = np.asarray(classes)[np.argmax(probabilities, axis=1)]
    metrics: dict[str, float | int] = {
        "accuracy": round_value(accuracy_score(y_true, predicted)),
        "balanced_accuracy": round_value(balanced_accuracy_score(y_true, predicted)),
        "macro_f1": round_value(f1_score(y_true, predicted, average="macro", labels=classes)),
        "log_loss": round_value(log_loss(y_true, probabilities, labels=classes)),
        "n": len(y_true),
        "classes": len(classes),
    }
    if len(classes) == 2 and len(np.unique(y_true)) == 2:
        metrics["roc_auc"] = round_value(roc_auc_score(y_true == classes[1], probabilities[:, 1]))
    return metrics


def confusion_rows(
    y_true: np.ndarray, predicted: np.ndarray, classes: np.ndarray
) -> list[dict[str, str | int]]:
    """Every cell of the confusion matrix over ``classes``, empty ones included: one row per
    actual and predicted pair with its ``count``, and the ``cell`` named for a bar chart of the
    counts (``dvc plots``'s ``confusion`` template counts rows, not a column: every cell would
    be drawn as 1)."""
    actual = pd.Series(np.asarray(y_true).astype(str))
    guessed = pd.Series(np.asarray(predicted).astype(str))
    counts = pd.crosstab(actual, guessed)
    names = [str(name) for name in classes]
    counts = counts.reindex(index=names, columns=names, fill_value=0)
    return [
        {
            "cell": f"actual {a}, predicted {p}",
            "actual": a,
            "predicted": p,
            "count": int(counts.loc[a, p]),
        }
        for a in names
        for p in names
    ]


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float | int]:
    """Mean absolute and root mean squared error of ``predicted`` against ``y_true``, and n."""
    if len(y_true) == 0:
        raise StageError("cannot evaluate: no rows")
    errors = np.asarray(predicted, dtype=float) - np.asarray(y_true, dtype=float)
    return {
        "mae": round_value(np.mean(np.abs(errors))),
        "rmse": round_value(np.sqrt(np.mean(errors**2))),
        "n": len(errors),
    }


def skill(model_error: float, baseline_error: float) -> float:
    """``1 - model_error / baseline_error``: above 0 the model beats the baseline, 0 ties it,
    below 0 it is worse (reported as it is)."""
    if baseline_error <= 0:
        raise StageError("cannot compute skill: the baseline's error is zero")
    return round_value(1 - model_error / baseline_error)
