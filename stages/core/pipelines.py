"""Building blocks of the scikit-learn Pipelines the projects train: the encoding step that
native-categorical gradient boosting reads (which features a model keeps is
``stages.core.params.kept_features``, free of scikit-learn for the stages that only report it).

A project's train stage builds its own Pipeline from these; the step is named ``encode`` and its
transformers ``categorical`` and ``numeric``, which the projects' scoring modules read back.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OrdinalEncoder


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
