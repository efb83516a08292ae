"""Building blocks of the scikit-learn Pipelines the projects train: the encoding step that
native-categorical gradient boosting reads, and the one-hot encoding a linear model reads
(which features a model keeps is ``stages.core.params.kept_features``, free of scikit-learn for
the stages that only report it).

A project's train stage builds its own Pipeline from these; the step is named ``encode`` and its
transformers ``categorical`` and ``numeric``, which the projects' scoring modules read back.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


def ordinal_encoding(categorical: list[str], numeric: list[str]) -> ColumnTransformer:
    """Categories as ordinal codes (one unseen in training as missing) and numbers passed through,
    in that order: what ``HistGradientBoosting*`` reads with ``categorical_features`` set to
    ``boosting_categories(...)``."""
    return ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=np.nan, dtype=np.float64
                ),
                categorical,
            ),
            ("numeric", "passthrough", numeric),
        ],
        verbose_feature_names_out=False,
    )


def boosting_categories(categorical: list[str], numeric: list[str]) -> list[bool]:
    """The ``categorical_features`` mask of boosting after ``ordinal_encoding``."""
    return [True] * len(categorical) + [False] * len(numeric)


def one_hot_encoding(
    categorical: list[str], numeric: list[str], min_frequency: int | None = None
) -> ColumnTransformer:
    """Categories one-hot (a missing one as its own category ``missing``, one unseen in training
    as all zeros, those rarer than ``min_frequency`` pooled) and numbers with missing values
    imputed by the median, then standardised: what a linear model reads."""
    return ColumnTransformer(
        [
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=min_frequency),
                ),
                categorical,
            ),
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
