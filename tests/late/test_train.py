"""train: both Pipelines fit, carry their preprocessing, and cope with unseen categories."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from stages.core.errors import StageError
from stages.late.contract import FEATURES, LABEL, model_features
from stages.late.params import HgbParams, LogregParams, TrainParams
from stages.late.scoring import known_categories
from stages.late.train import build_pipeline
from stages.late.train import run as fit_model

PARAMS = TrainParams(
    model="hgb",
    seed=0,
    drop_features=(),
    hgb=HgbParams(max_iter=30, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=5,
                  l2_regularization=0.0),
    logreg=LogregParams(C=1.0, max_iter=500),
)  # fmt: skip


@pytest.mark.parametrize("model", ["hgb", "logreg"])
def test_fitted_pipeline_learns_the_signal(processed: pd.DataFrame, model: str) -> None:
    params = dataclasses.replace(PARAMS, model=model)
    fitted = fit_model(processed, params)
    p_late = fitted.predict_proba(processed[FEATURES])[:, 1]
    assert roc_auc_score(processed[LABEL], p_late) > 0.75
    assert list(fitted.named_steps) == ["encode", "model"]


@pytest.mark.parametrize("model", ["hgb", "logreg"])
def test_unseen_categories_and_missing_values_still_score(
    processed: pd.DataFrame, model: str
) -> None:
    fitted = fit_model(processed, dataclasses.replace(PARAMS, model=model))
    odd = processed.head(3).copy()
    odd["carrier"] = "ZZ"
    odd["dest"] = None
    odd["temp"] = np.nan
    p_late = fitted.predict_proba(odd[FEATURES])[:, 1]
    assert np.isfinite(p_late).all()


def test_fit_is_deterministic_and_does_not_mutate_input(processed: pd.DataFrame) -> None:
    before = processed.copy()
    first = fit_model(processed, PARAMS).predict_proba(processed[FEATURES])
    second = fit_model(processed, PARAMS).predict_proba(processed[FEATURES])
    np.testing.assert_array_equal(first, second)
    pd.testing.assert_frame_equal(processed, before)


def test_build_pipeline_follows_params() -> None:
    hgb = build_pipeline(PARAMS).named_steps["model"]
    assert hgb.max_iter == 30 and hgb.random_state == 0
    logreg = build_pipeline(dataclasses.replace(PARAMS, model="logreg")).named_steps["model"]
    assert logreg.C == 1.0 and logreg.max_iter == 500


def test_feature_without_any_value_is_an_error(processed: pd.DataFrame) -> None:
    with pytest.raises(StageError, match=r"features \['wind_gust'\] have no values at all"):
        fit_model(processed.assign(wind_gust=np.nan), PARAMS)


def test_single_class_label_is_an_error(processed: pd.DataFrame) -> None:
    with pytest.raises(StageError, match="same label"):
        fit_model(processed.assign(late=False), PARAMS)


@pytest.mark.parametrize("model", ["hgb", "logreg"])
def test_dropped_features_are_left_out_but_scoring_takes_every_feature(
    processed: pd.DataFrame, model: str
) -> None:
    params = dataclasses.replace(PARAMS, model=model, drop_features=("carrier", "day_of_year"))
    fitted = fit_model(processed, params)
    used = fitted.named_steps["encode"].get_feature_names_out()
    assert "day_of_year" not in used and "carrier" not in used and "temp" in used
    assert fitted.predict_proba(processed[FEATURES]).shape == (len(processed), 2)
    assert set(known_categories(fitted)) == {"origin", "dest", "plane_manufacturer", "plane_engine"}


def test_unknown_dropped_feature_names_the_nearest() -> None:
    with pytest.raises(StageError, match=r"train.drop_features: unknown feature 'day_of_yeer' "
                       r"\(did you mean 'day_of_year'\?\)"):  # fmt: skip
        model_features(("day_of_yeer",))


def test_a_model_file_holding_something_else_is_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    from stages.core.model_io import save_model
    from stages.late.scoring import load_late_model

    save_model(StandardScaler(), tmp_path / "model.skops")
    with pytest.raises(
        StageError, match=r"model\.skops: holds a StandardScaler, not a model of project late"
    ):
        load_late_model(tmp_path / "model.skops")


def test_dropping_every_feature_is_refused() -> None:
    with pytest.raises(StageError, match="leaves out every feature"):
        model_features(tuple(FEATURES))
