"""The fast permutation importance (stages.core.importance) equals scikit-learn's on the whole
Pipeline, value for value, for both of late's models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from stages.core.importance import encoded_columns, permutation_importance_encoded
from stages.late.contract import CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES
from stages.late.train import run as fit
from tests.late.test_train import PARAMS


@pytest.mark.parametrize(
    ("model", "drop"), [("hgb", ()), ("logreg", ()), ("hgb", ("month", "carrier"))]
)
def test_fast_importance_equals_sklearns_on_the_pipeline(
    processed: pd.DataFrame, model: str, drop: tuple[str, ...]
) -> None:
    pipeline = fit(processed, dataclasses.replace(PARAMS, model=model, drop_features=drop))
    X, y = processed[FEATURES], processed[LABEL].to_numpy()
    expected = permutation_importance(
        pipeline, X, y, scoring="roc_auc", n_repeats=3, random_state=7, n_jobs=1
    ).importances
    fast = permutation_importance_encoded(pipeline, X, y, n_repeats=3, random_state=7)
    assert fast.shape == (len(FEATURES), 3)
    np.testing.assert_array_equal(fast, expected)
    assert np.abs(fast).sum() > 0  # the comparison is not between two arrays of zeros
    for name in drop:
        assert not fast[FEATURES.index(name)].any()


def test_each_category_maps_to_its_whole_one_hot_block(processed: pd.DataFrame) -> None:
    pipeline = fit(processed, dataclasses.replace(PARAMS, model="logreg"))
    groups = encoded_columns(pipeline[0], FEATURES)
    width = pipeline[0].transform(processed[FEATURES].head(5)).shape[1]
    flat = sorted(column for columns in groups.values() for column in columns)
    assert flat == list(range(width))  # every encoded column belongs to exactly one feature
    assert all(len(groups[name]) == 1 for name in NUMERIC_FEATURES)
    assert any(len(groups[name]) > 1 for name in CATEGORICAL_FEATURES)


def test_ordinal_encoding_maps_one_column_per_feature(processed: pd.DataFrame) -> None:
    pipeline = fit(processed, PARAMS)
    groups = encoded_columns(pipeline[0], FEATURES)
    assert sorted(c for columns in groups.values() for c in columns) == list(range(len(FEATURES)))
