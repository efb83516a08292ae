"""The pieces of the fast permutation importance (stages.core.importance) on small fixtures;
tests/late/test_importance.py compares the whole against scikit-learn on late's models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from stages.core.importance import compact_tree, roc_auc, tree_cached_decision

RNG = np.random.default_rng(3)


@pytest.mark.parametrize(
    "scores",
    [
        RNG.normal(size=500),  # every score distinct
        RNG.integers(0, 4, size=500).astype(float),  # four values: ties everywhere
        np.r_[np.zeros(250), np.ones(250)],  # two values
        np.linspace(0, 1, 500),  # collinear stretches for the corner test to drop
    ],
)
def test_roc_auc_is_sklearns_bit_for_bit(scores: np.ndarray) -> None:
    labels = (RNG.random(500) < 0.3).astype(int)
    assert roc_auc(labels, scores) == roc_auc_score(labels, scores)


def test_roc_auc_of_a_perfect_and_a_reversed_ranking() -> None:
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0


def fitted_boosting() -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    """A small binary model with a categorical column and missing values, and its table."""
    table = np.c_[RNG.normal(size=(400, 3)), RNG.integers(0, 5, size=400)]
    table[::17, 1] = np.nan
    label = (table[:, 0] + (table[:, 3] == 2) + RNG.normal(scale=0.5, size=400) > 0.5).astype(int)
    model = HistGradientBoostingClassifier(
        max_iter=20, max_leaf_nodes=7, categorical_features=[3], random_state=0
    ).fit(table, label)
    return model, table


def test_compact_tree_reads_only_its_split_columns_and_predicts_the_same() -> None:
    model, table = fitted_boosting()
    bitsets, category_map = model._bin_mapper.make_known_categories_bitsets()
    for predictors in model._predictors:
        tree = predictors[0]
        compact = compact_tree(tree, category_map)
        split = tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0]
        assert compact.columns.tolist() == sorted(set(split.tolist()))
        narrow = np.ascontiguousarray(table[:, compact.columns])
        expected = tree.predict(table, bitsets, category_map, 1)
        np.testing.assert_array_equal(compact.predict(narrow, bitsets, 1), expected)
        leaves = compact.leaves(narrow, bitsets, 1)
        assert tree.nodes["is_leaf"][leaves].all()
        np.testing.assert_array_equal(tree.nodes["value"][leaves], expected)
        paths = compact.columns_on_paths()
        assert set(paths) == set(np.flatnonzero(tree.nodes["is_leaf"]).tolist())
        assert set().union(*paths.values()) == set(compact.columns.tolist())


def test_tree_cached_decision_equals_decision_function_on_permuted_columns() -> None:
    model, table = fitted_boosting()
    decision = tree_cached_decision(model, table)
    # The model moves its categorical column first; the permuted copies are of what it reads.
    assert decision.position.tolist() == [1, 2, 3, 0]
    order = RNG.permutation(len(table))
    for columns in ([0], [1], [3], [0, 3], [2]):
        permuted, read = table.copy(), decision.table.copy()
        moved = decision.position[columns].tolist()
        for _ in range(2):  # the same columns twice in a row: the reruns are reused
            permuted[:, columns] = permuted[order][:, columns]
            read[:, moved] = read[order][:, moved]
            expected = model.decision_function(permuted)
            np.testing.assert_array_equal(decision.function(read, moved), expected)
