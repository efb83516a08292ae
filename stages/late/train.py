"""Stage ``late-train``: fit a scikit-learn Pipeline on the train split and save it with skops.

The preprocessing (categorical encoding, imputation, scaling) lives inside the Pipeline, so what
is fitted here is exactly what scores new flights. ``late.train.model`` picks gradient boosting
(``hgb``) or a one-hot logistic regression baseline (``logreg``). Writes
``models/late/model.skops``.
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from stages.core.errors import StageError, run_stage
from stages.core.io import read_table
from stages.core.model_io import fit_reproducibly, save_model
from stages.core.params import load_params
from stages.core.pipelines import boosting_categories, one_hot_encoding, ordinal_encoding
from stages.late.contract import FEATURES, LABEL, PROCESSED_SCHEMA, model_features
from stages.late.params import HgbParams, LogregParams, TrainParams
from stages.late.paths import MODEL_FILE, processed_path
from stages.late.scoring import used_features

log = logging.getLogger("stages.late.train")


def hgb_pipeline(params: HgbParams, seed: int, drop: tuple[str, ...] = ()) -> Pipeline:
    """Ordinal-encoded categories (unknown ones as missing) into native-categorical boosting.
    The Pipeline takes every feature and passes on all but ``drop``."""
    categorical, numeric = model_features(drop)
    encode = ordinal_encoding(categorical, numeric)
    boost = HistGradientBoostingClassifier(
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


def logreg_pipeline(params: LogregParams, seed: int, drop: tuple[str, ...] = ()) -> Pipeline:
    """One-hot categories and imputed, standardised numbers into a logistic regression. The
    Pipeline takes every feature and passes on all but ``drop``."""
    categorical, numeric = model_features(drop)
    encode = one_hot_encoding(categorical, numeric, min_frequency=20)
    linear = LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed)
    return Pipeline([("encode", encode), ("model", linear)])


def build_pipeline(params: TrainParams) -> Pipeline:
    """The unfitted Pipeline that ``late.train.model`` names."""
    if params.model == "hgb":
        return hgb_pipeline(params.hgb, params.seed, params.drop_features)
    return logreg_pipeline(params.logreg, params.seed, params.drop_features)


def run(train: pd.DataFrame, params: TrainParams) -> Pipeline:
    """Fit the chosen Pipeline on the features and label of ``train``.

    Raises StageError when the label has one class only or a feature has no value at all: both
    mean the training data is not what the pipeline expects.
    """
    categorical, numeric = model_features(params.drop_features)
    empty = [name for name in categorical + numeric if train[name].isna().all()]
    if empty:
        raise StageError(f"train split: features {empty} have no values at all")
    if train[LABEL].nunique() < 2:
        raise StageError("train split: every flight has the same label; nothing to learn")
    return fit_reproducibly(build_pipeline(params), train[FEATURES], train[LABEL])


def main() -> None:
    """Fit on data/late/processed/train.parquet and save models/late/model.skops."""
    params = load_params("late.train", TrainParams)
    train = read_table(processed_path("train"), PROCESSED_SCHEMA)
    model = run(train, params)
    used = used_features(model)
    log.info(
        "fitted %s on %d flights with %d of the %d features (%d left out by "
        "late.train.drop_features)", params.model, len(train),
        len(used["categorical"]) + len(used["numeric"]), len(FEATURES), len(params.drop_features),
    )  # fmt: skip
    save_model(model, MODEL_FILE)
    log.info("saved %s", MODEL_FILE)


if __name__ == "__main__":
    run_stage(main)
