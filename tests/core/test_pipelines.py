"""Pipeline building blocks: the features a model keeps, and the boosting encoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.params import kept_features
from stages.core.pipelines import boosting_categories, one_hot_encoding, ordinal_encoding


def test_kept_features_leave_out_the_dropped_ones_in_order() -> None:
    assert kept_features(("b", "y"), ["a", "b"], ["x", "y", "z"], "p.drop") == (["a"], ["x", "z"])


def test_kept_features_name_an_unknown_feature_and_the_key() -> None:
    with pytest.raises(StageError, match=r"^p\.drop: unknown feature 'zz' \(did you mean 'z'\?\)"):
        kept_features(("zz",), ["a"], ["z"], "p.drop")


def test_kept_features_refuse_to_drop_everything() -> None:
    with pytest.raises(StageError, match=r"^p\.drop leaves out every feature"):
        kept_features(("a", "z"), ["a"], ["z"], "p.drop")


def test_ordinal_encoding_codes_categories_and_passes_numbers() -> None:
    train = pd.DataFrame({"c": ["x", "y", "x"], "n": [1.0, 2.0, 3.0]})
    encode = ordinal_encoding(["c"], ["n"]).fit(train)
    coded = encode.transform(pd.DataFrame({"c": ["y", "new"], "n": [5.0, 6.0]}))
    assert coded[0].tolist() == [1.0, 5.0]
    assert np.isnan(coded[1][0]) and coded[1][1] == 6.0  # unseen category: missing
    assert boosting_categories(["c"], ["n", "m"]) == [True, False, False]


def test_one_hot_encoding_gives_a_missing_category_and_imputes_numbers() -> None:
    frame = pd.DataFrame({"kind": ["a", None, "b", "a"], "size": [1.0, np.nan, 3.0, 5.0]})
    encoded = one_hot_encoding(["kind"], ["size"]).fit(frame)
    names = list(encoded.get_feature_names_out())
    assert names == ["kind_a", "kind_b", "kind_missing", "size"]
    values = encoded.transform(pd.DataFrame({"kind": ["c"], "size": [np.nan]}))
    assert np.asarray(values).tolist() == [[0.0, 0.0, 0.0, 0.0]]  # unseen; the median, scaled
