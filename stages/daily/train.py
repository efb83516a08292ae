"""Stage ``daily-train``: fit a scikit-learn Pipeline that forecasts each airport-day's late
share, and save it with skops.

The preprocessing (the airport's encoding, imputation, scaling) lives inside the Pipeline.
``daily.train.model`` picks histogram gradient boosting (``hgb``, by default with the absolute
error as its loss: MAE is what the forecast is judged on) or a ridge regression (``ridge``), the
linear baseline. Writes ``models/daily/model.skops``.
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from stages.core.errors import StageError, run_stage
from stages.core.io import read_table
from stages.core.model_io import fit_reproducibly, save_model
from stages.core.params import kept_features, load_params
from stages.core.pipelines import boosting_categories, ordinal_encoding
from stages.daily.contract import (
    CATEGORICAL_FEATURES,
    DAY_SCHEMA,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
)
from stages.daily.params import HgbParams, RidgeParams, TrainParams
from stages.daily.paths import MODEL_FILE, days_path

log = logging.getLogger("stages.daily.train")


def model_features(drop: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The categorical and numeric features the model uses: all but ``drop``; StageError naming
    an unknown one (with the nearest feature), or a ``drop`` that leaves none."""
    return kept_features(drop, CATEGORICAL_FEATURES, NUMERIC_FEATURES, "daily.train.drop_features")


def hgb_pipeline(params: HgbParams, seed: int, drop: tuple[str, ...] = ()) -> Pipeline:
    """The airport ordinal-encoded into native-categorical boosting; the Pipeline takes every
    feature and passes on all but ``drop``."""
    categorical, numeric = model_features(drop)
    encode = ordinal_encoding(categorical, numeric)
    boost = HistGradientBoostingRegressor(
        loss=params.loss,
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=boosting_categories(categorical, numeric),
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("encode", encode), ("model", boost)])


def ridge_pipeline(params: RidgeParams, drop: tuple[str, ...] = ()) -> Pipeline:
    """The airport one-hot encoded, the numbers imputed and standardised, into a ridge
    regression; the Pipeline takes every feature and passes on all but ``drop``."""
    categorical, numeric = model_features(drop)
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()
                ),
                numeric,
            ),
        ],
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", encode), ("model", Ridge(alpha=params.alpha))])


def build_pipeline(params: TrainParams) -> Pipeline:
    """The unfitted Pipeline that ``daily.train.model`` names."""
    if params.model == "hgb":
        return hgb_pipeline(params.hgb, params.seed, params.drop_features)
    return ridge_pipeline(params.ridge, params.drop_features)


def run(train: pd.DataFrame, params: TrainParams) -> Pipeline:
    """Fit the chosen Pipeline on the features and late share of ``train``.

    Raises StageError when the target does not vary or a feature has no value at all.
    """
    categorical, numeric = model_features(params.drop_features)
    empty = [name for name in categorical + numeric if train[name].isna().all()]
    if empty:
        raise StageError(f"train split: features {empty} have no values at all")
    if train[TARGET].nunique() < 2:
        raise StageError("train split: every airport-day has the same late share; nothing to learn")
    return fit_reproducibly(build_pipeline(params), train[FEATURES], train[TARGET])


def main() -> None:
    """Fit on data/daily/days/train.parquet and save models/daily/model.skops."""
    params = load_params("daily.train", TrainParams)
    train = read_table(days_path("train"), DAY_SCHEMA)
    log.info("fitting %s on %d airport-days, %d features", params.model, len(train), len(FEATURES))
    save_model(run(train, params), MODEL_FILE)
    log.info("saved %s", MODEL_FILE)


if __name__ == "__main__":
    run_stage(main)
