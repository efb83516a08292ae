"""How a project made by ``make project`` scores its model and judges it, from the core: one
prediction function per task, shared by its evaluate stage and its batch command (so the two
cannot disagree), and the scored rows with the headline metrics' intervals that ``make
compare``, ``make report`` and ``make gate`` pair between revisions.

The scored rows name each row by the project's key (its position in the source data, or a key
column) and its actual value, and carry its resampling unit (the row itself, the day of a date
column, or a group column): rows of one unit share what makes them alike, so the bootstrap draws
them together (``stages.core.intervals``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stages.core.errors import StageError
from stages.core.intervals import MetricSpec, RowsSpec, evaluated, scored_rows
from stages.core.io import round_value
from stages.core.metrics import (
    class_metrics,
    confusion_rows,
    regression_metrics,
    skill,
    thin_indices,
)

# The scored rows' columns beside the key: the resampling unit, the actual and the predicted
# value; for a classifier the probability it gave the actual class (and, with two classes, the
# second class's flag and probability); for a regressor the naive baseline's prediction.
UNIT, ACTUAL, PREDICTED, BASELINE = "unit", "actual", "predicted", "baseline"
P_ACTUAL, OBSERVED = "p_actual", "observed"
POSITIVE, P_POSITIVE = "positive", "p_positive"
# The prefix of each class's probability in the batch command's output.
PROBABILITY_PREFIX = "p_"


@dataclass(frozen=True)
class RowIdentity:
    """What names a scored row (``key``: columns of the prepared table) and what the bootstrap
    resamples (``unit``, a column; ``unit_name``, what a unit is called in the metrics:
    ``rows``, ``days``, ...)."""

    key: tuple[str, ...]
    unit: str
    unit_name: str


def unit_values(frame: pd.DataFrame, identity: RowIdentity) -> pd.Series:
    """Each row's resampling unit as text: a date or time column's day (``YYYY-MM-DD``), any
    other column's value."""
    values = frame[identity.unit]
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.astype(str)


def classification_spec(identity: RowIdentity, classes: tuple[str, ...]) -> RowsSpec:
    """The headline metrics of a classifier, recomputed from its scored rows: accuracy and log
    loss, and with two classes the ROC AUC of the second."""
    metrics = [
        MetricSpec("accuracy", "accuracy", ACTUAL, PREDICTED),
        MetricSpec("log_loss", "log_loss", OBSERVED, P_ACTUAL),
    ]
    if len(classes) == 2:
        metrics.insert(0, MetricSpec("roc_auc", "roc_auc", POSITIVE, P_POSITIVE))
    return RowsSpec((*identity.key, ACTUAL), UNIT, tuple(metrics), unit_name=identity.unit_name)


def regression_spec(identity: RowIdentity) -> RowsSpec:
    """The headline metrics of a regressor: its mean absolute error and its skill over the naive
    baseline (``1 - MAE / baseline MAE``)."""
    metrics = (
        MetricSpec("model.mae", "mae", ACTUAL, PREDICTED),
        MetricSpec("skill", "skill", ACTUAL, PREDICTED, (BASELINE,)),
    )
    return RowsSpec((*identity.key, ACTUAL), UNIT, metrics, unit_name=identity.unit_name)


def predict_classes(
    model, frame: pd.DataFrame, features: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The classes the model knows (as text), each row's probability of each, and its most
    probable class: what evaluate and the batch command both report."""
    classes = np.asarray(model.classes_).astype(str)
    probabilities = model.predict_proba(frame[features])
    return classes, probabilities, classes[np.argmax(probabilities, axis=1)]


def predict_values(model, frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The regressor's prediction for each row."""
    return np.asarray(model.predict(frame[features]), dtype=float)


def class_predictions(model, frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The batch command's columns for a classifier: the predicted class and the probability of
    each class (``p_<class>``), one row per row of ``frame``."""
    classes, probabilities, predicted = predict_classes(model, frame, features)
    columns = {PREDICTED: predicted}
    columns.update({f"{PROBABILITY_PREFIX}{c}": probabilities[:, i] for i, c in enumerate(classes)})
    return pd.DataFrame(columns)


def value_predictions(model, frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The batch command's column for a regressor: the predicted value."""
    return pd.DataFrame({PREDICTED: predict_values(model, frame, features)})


def _identified(frame: pd.DataFrame, identity: RowIdentity, actual: np.ndarray) -> pd.DataFrame:
    """The key columns, the unit and the actual value of each row of ``frame``."""
    missing = [c for c in (*identity.key, identity.unit) if c not in frame.columns]
    if missing:
        raise StageError(f"cannot keep scored rows: no column {missing[0]!r} in the split")
    rows = frame[list(identity.key)].reset_index(drop=True)
    rows[UNIT] = unit_values(frame, identity).to_numpy()
    rows[ACTUAL] = actual
    return rows


def evaluate_classifier(
    model, frames: dict[str, pd.DataFrame], features: list[str], target: str,
    identity: RowIdentity,
) -> tuple[dict[str, dict], dict[str, list], dict[str, pd.DataFrame]]:  # fmt: skip
    """Each split's metrics (with the intervals of the headline ones), its confusion matrix by
    plot name (``<split>/confusion``) and its scored rows."""
    classes = np.asarray(model.classes_).astype(str)
    spec = classification_spec(identity, tuple(classes))
    column = {name: i for i, name in enumerate(classes)}
    metrics: dict[str, dict] = {}
    plots: dict[str, list] = {}
    scored: dict[str, pd.DataFrame] = {}
    for split, frame in frames.items():
        labels = frame[target].astype(str).to_numpy()
        _, probabilities, predicted = predict_classes(model, frame, features)
        values = class_metrics(labels, probabilities, classes)  # refuses an unknown label
        rows = _identified(frame, identity, labels)
        rows[PREDICTED] = predicted
        rows[P_ACTUAL] = probabilities[np.arange(len(labels)), [column[x] for x in labels]]
        rows[OBSERVED] = True
        if len(classes) == 2:
            rows[POSITIVE] = labels == classes[1]
            rows[P_POSITIVE] = probabilities[:, 1]
        scored[split] = scored_rows(rows, spec)
        metrics[split] = evaluated(values, scored[split], spec)
        plots[f"{split}/confusion"] = confusion_rows(labels, predicted, classes)
    return metrics, plots, scored


def predicted_points(actual: np.ndarray, predicted: np.ndarray, keep: int) -> list[dict]:
    """At most ``keep`` rows of (actual, predicted), spread evenly over the actual values."""
    order = np.argsort(actual, kind="stable")[thin_indices(len(actual), keep)]
    return [
        {"actual": round_value(actual[i]), "predicted": round_value(predicted[i])} for i in order
    ]


def evaluate_regressor(
    model, frames: dict[str, pd.DataFrame], features: list[str], target: str,
    identity: RowIdentity, baseline: float, plot_points: int,
) -> tuple[dict[str, dict], dict[str, list], dict[str, pd.DataFrame]]:  # fmt: skip
    """Each split's errors against the naive ``baseline`` (a constant: the train split's mean)
    with the intervals of the headline metrics, its predicted-against-actual points
    (``<split>/predicted``) and its scored rows."""
    spec = regression_spec(identity)
    metrics: dict[str, dict] = {}
    plots: dict[str, list] = {}
    scored: dict[str, pd.DataFrame] = {}
    for split, frame in frames.items():
        actual = frame[target].to_numpy(dtype=float)
        predicted = predict_values(model, frame, features)
        naive = np.full(len(actual), baseline)
        model_errors, naive_errors = (regression_metrics(actual, p) for p in (predicted, naive))
        values = {
            "model": model_errors,
            "baseline": naive_errors,
            "skill": skill(model_errors["mae"], naive_errors["mae"]),
        }
        rows = _identified(frame, identity, actual)
        rows[PREDICTED], rows[BASELINE] = predicted, naive
        scored[split] = scored_rows(rows, spec)
        metrics[split] = evaluated(values, scored[split], spec)
        plots[f"{split}/predicted"] = predicted_points(actual, predicted, plot_points)
    return metrics, plots, scored
