"""Building blocks of the scikit-learn Pipelines the projects train: which features a model keeps,
and the encoding step that native-categorical gradient boosting reads.

A project's train stage builds its own Pipeline from these; the step is named ``encode`` and its
transformers ``categorical`` and ``numeric``, which the projects' scoring modules read back.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OrdinalEncoder

from stages.core.errors import StageError
from stages.core.params import did_you_mean


def kept_features(
    drop: tuple[str, ...], categorical: list[str], numeric: list[str], key: str
) -> tuple[list[str], list[str]]:
    """The categorical and numeric features a model uses: all but ``drop``, which the params
    key ``key`` lists. Raises StageError naming an unknown feature (with the nearest one), or a
    ``drop`` that leaves none."""
    features = categorical + numeric
    for name in drop:
        if name not in features:
            raise StageError(f"{key}: unknown feature '{name}'{did_you_mean(name, features)}")
    kept = [name for name in categorical if name not in drop]
    kept_numeric = [name for name in numeric if name not in drop]
    if not kept and not kept_numeric:
        raise StageError(f"{key} leaves out every feature: keep at least one to fit on")
    return kept, kept_numeric


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
