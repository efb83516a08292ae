"""daily-train: both pipelines fit, forecast shares, save and load; bad params and data stop it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.model_io import save_model
from stages.daily.contract import FEATURES, TARGET
from stages.daily.scoring import load_daily_model, predict_share
from stages.daily.train import model_features, run
from tests.daily.conftest import TRAIN


@pytest.mark.parametrize("model", ["hgb", "ridge"])
def test_each_model_fits_and_forecasts_shares(
    model: str, day_splits: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    train = day_splits["train"]
    fitted = run(train, dataclasses.replace(TRAIN, model=model))
    forecast = predict_share(fitted, day_splits["test"])
    assert forecast.shape == (len(day_splits["test"]),)
    assert ((forecast >= 0) & (forecast <= 1)).all()
    # Saved and loaded with the project's trusted types, it forecasts the same.
    save_model(fitted, tmp_path / "model.skops")
    loaded = load_daily_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(predict_share(loaded, day_splits["test"]), forecast)


def test_fitting_is_deterministic(day_splits: dict[str, pd.DataFrame]) -> None:
    first = predict_share(run(day_splits["train"], TRAIN), day_splits["valid"])
    second = predict_share(run(day_splits["train"], TRAIN), day_splits["valid"])
    np.testing.assert_array_equal(first, second)


def test_dropped_features_are_left_out_and_unknown_ones_named() -> None:
    categorical, numeric = model_features(("origin", "share_so_far"))
    assert categorical == [] and "share_so_far" not in numeric
    assert len(numeric) == len(FEATURES) - 2
    with pytest.raises(
        StageError, match=r"unknown feature 'share_sofar' \(did you mean 'share_so_far'\?\)"
    ):
        model_features(("share_sofar",))


def test_a_constant_target_or_an_empty_feature_stops_training(
    day_splits: dict[str, pd.DataFrame],
) -> None:
    train = day_splits["train"]
    with pytest.raises(StageError, match="same late share"):
        run(train.assign(**{TARGET: 0.2}), TRAIN)
    with pytest.raises(StageError, match=r"features \['gust_max'\] have no values"):
        run(train.assign(gust_max=np.nan), TRAIN)
