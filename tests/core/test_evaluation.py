"""The core's scoring and judging of a scaffolded project: scored rows that carry their spec,
intervals beside the headline metrics, the same predictions for evaluate and the batch command,
and the unit the bootstrap draws together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_absolute_error, roc_auc_score

from stages.core.errors import StageError
from stages.core.evaluation import (
    ACTUAL,
    PREDICTED,
    UNIT,
    RowIdentity,
    class_predictions,
    classification_spec,
    evaluate_classifier,
    evaluate_regressor,
    predicted_points,
    unit_values,
    value_predictions,
)
from stages.core.intervals import spec_of

FEATURES = ["x", "z"]
BY_ROW = RowIdentity(key=("row",), unit="row", unit_name="row")
BY_DAY = RowIdentity(key=("row",), unit="when", unit_name="day")


def frame(n: int = 240, classes: tuple[str, ...] = ("a", "b"), seed: int = 0) -> pd.DataFrame:
    """Rows with two features, a class that depends on the first, a number, a day and a row id."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    order = np.argsort(np.argsort(x + rng.normal(scale=0.8, size=n)))
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) // 8, unit="D")
    return pd.DataFrame({
        "row": np.arange(n), "x": x, "z": z, "when": when,
        "label": np.asarray(classes)[order * len(classes) // n],
        "amount": 3 * x + rng.normal(scale=0.5, size=n),
    })  # fmt: skip


def fitted_classifier(train: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(train[FEATURES], train["label"])


def test_a_classifiers_rows_and_intervals_agree_with_scikit_learn() -> None:
    data = frame()
    model = fitted_classifier(data)
    metrics, plots, scored = evaluate_classifier(model, {"test": data}, FEATURES, "label", BY_ROW)
    test, rows = metrics["test"], scored["test"]
    assert test["accuracy"] == pytest.approx(
        accuracy_score(data["label"], model.predict(data[FEATURES])), abs=1e-6
    )
    auc = roc_auc_score(data["label"] == "b", model.predict_proba(data[FEATURES])[:, 1])
    assert test["roc_auc"] == pytest.approx(auc, abs=1e-6)
    for name in ("roc_auc", "accuracy", "log_loss"):
        assert test[f"{name}_low"] <= test[name] <= test[f"{name}_high"], name
    assert test["interval"] == {"level": 0.95, "resamples": 1000, "rows": len(data)}
    assert list(rows[ACTUAL]) == list(data["label"]) and set(rows[UNIT]) == set(
        map(str, data["row"])
    )
    assert [m.name for m in spec_of(rows).metrics] == ["roc_auc", "accuracy", "log_loss"]
    cells = plots["test/confusion"]
    assert sum(cell["count"] for cell in cells) == len(data) and len(cells) == 4


def test_more_classes_have_no_roc_auc_and_days_are_drawn_together() -> None:
    data = frame(classes=("p", "q", "r"))
    model = fitted_classifier(data)
    metrics, _, scored = evaluate_classifier(model, {"valid": data}, FEATURES, "label", BY_DAY)
    assert "roc_auc" not in metrics["valid"]
    assert metrics["valid"]["interval"]["days"] == 30
    assert set(scored["valid"][UNIT]) == {f"2024-01-{d:02d}" for d in range(1, 31)}
    assert [m.name for m in classification_spec(BY_DAY, ("p", "q", "r")).metrics] == [
        "accuracy", "log_loss"
    ]  # fmt: skip


def test_a_label_the_model_never_saw_is_refused() -> None:
    data = frame()
    model = fitted_classifier(data)
    with pytest.raises(StageError, match="not among the classes"):
        evaluate_classifier(model, {"test": data.assign(label="c")}, FEATURES, "label", BY_ROW)


def test_a_regressor_is_judged_against_its_baseline_with_intervals() -> None:
    data = frame()
    model = LinearRegression().fit(data[FEATURES], data["amount"])
    baseline = float(data["amount"].mean())
    metrics, plots, scored = evaluate_regressor(
        model, {"test": data}, FEATURES, "amount", BY_DAY, baseline, plot_points=20
    )
    test = metrics["test"]
    mae = mean_absolute_error(data["amount"], model.predict(data[FEATURES]))
    assert test["model"]["mae"] == pytest.approx(mae, abs=1e-6)
    assert test["skill"] == pytest.approx(1 - mae / test["baseline"]["mae"], abs=1e-5)
    assert test["model"]["mae_low"] <= test["model"]["mae"] <= test["model"]["mae_high"]
    assert test["skill_low"] <= test["skill"] <= test["skill_high"]
    assert len(plots["test/predicted"]) == 20 and len(scored["test"]) == len(data)


def test_scored_rows_need_the_identity_columns() -> None:
    data = frame()
    model = fitted_classifier(data)
    with pytest.raises(StageError, match="no column 'row'"):
        evaluate_classifier(model, {"test": data.drop(columns="row")}, FEATURES, "label", BY_ROW)


def test_the_batch_commands_columns_are_the_evaluations_predictions() -> None:
    data = frame()
    model = fitted_classifier(data)
    out = class_predictions(model, data, FEATURES)
    assert list(out.columns) == [PREDICTED, "p_a", "p_b"]
    assert list(out[PREDICTED]) == list(model.predict(data[FEATURES]))
    regressor = LinearRegression().fit(data[FEATURES], data["amount"])
    assert np.array_equal(
        value_predictions(regressor, data, FEATURES)[PREDICTED], regressor.predict(data[FEATURES])
    )


def test_units_are_days_of_a_date_and_text_of_anything_else() -> None:
    data = frame(n=16)
    assert list(unit_values(data, BY_DAY)) == ["2024-01-01"] * 8 + ["2024-01-02"] * 8
    assert list(unit_values(data, BY_ROW))[:3] == ["0", "1", "2"]


def test_predicted_points_keep_at_most_the_asked_number_in_order_of_the_actual() -> None:
    actual, predicted = np.array([3.0, 1.0, 2.0, 5.0]), np.array([2.5, 1.5, 2.0, 4.0])
    assert predicted_points(actual, predicted, 10) == [
        {"actual": 1.0, "predicted": 1.5}, {"actual": 2.0, "predicted": 2.0},
        {"actual": 3.0, "predicted": 2.5}, {"actual": 5.0, "predicted": 4.0},
    ]  # fmt: skip
    assert len(predicted_points(actual, predicted, 2)) == 2
