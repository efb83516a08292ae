"""Permutation importance computed on the encoded columns: scikit-learn's values, faster.

``sklearn.inspection.permutation_importance`` on a whole Pipeline re-encodes every permuted copy
of the table (pandas, encoders) before the model scores it. When the encoding works row by row,
encoding a table whose column was permuted equals permuting the encoded columns of that feature
with the same row order. So this encodes once, then permutes the encoded columns of one feature
together (one column for an ordinal code, a number or a scaled number; the whole one-hot block of
a category) and scores with the final estimator only; for gradient boosting, only the trees that
split on the permuted columns are run again. The shuffles, their order and the scorer
(ROC AUC on ``decision_function``) are scikit-learn's, so the values are the same, value for
value (tests/late/test_importance.py compares them on both of late's models).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import check_random_state
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads


def _outputs_per_input(transformer: object, n_inputs: int) -> list[int]:
    """How many encoded columns each input column of a fitted row-wise ``transformer`` makes."""
    if isinstance(transformer, Pipeline):
        last = [step for _, step in transformer.steps if step != "passthrough"][-1]
        return _outputs_per_input(last, n_inputs)
    if isinstance(transformer, OneHotEncoder):
        if transformer.drop is not None:
            raise ValueError("one-hot encoding with drop is not supported by the fast path")
        infrequent = getattr(transformer, "infrequent_categories_", [None] * n_inputs)
        return [
            len(categories) - (len(rare) - 1 if rare is not None and len(rare) else 0)
            for categories, rare in zip(transformer.categories_, infrequent, strict=True)
        ]
    # Ordinal codes, imputers, scalers and passthrough: one column in, one column out.
    return [1] * n_inputs


def encoded_columns(encoder: ColumnTransformer, features: list[str]) -> dict[str, list[int]]:
    """For each input feature of a fitted ColumnTransformer, the encoded columns it produces
    (features it drops produce none)."""
    groups: dict[str, list[int]] = {name: [] for name in features}
    for name, transformer, columns in encoder.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        start = encoder.output_indices_[name].start
        for column, width in zip(
            columns, _outputs_per_input(transformer, len(columns)), strict=True
        ):
            groups[column] = list(range(start, start + width))
            start += width
    return groups


Decision = Callable[[np.ndarray, list[int]], np.ndarray]


def whole_model_decision(estimator: object) -> Decision:
    """``decision_function`` on the whole encoded table, whichever columns were permuted."""
    return lambda encoded, _columns: estimator.decision_function(encoded)


def tree_cached_decision(
    estimator: HistGradientBoostingClassifier, encoded: np.ndarray
) -> Decision:
    """``decision_function`` of a binary gradient-boosting classifier that re-runs only the
    trees splitting on a permuted column: a tree that never reads a column gives every row the
    same leaf whatever that column holds. The other trees' outputs on ``encoded`` are kept, and
    the sum is taken tree by tree in scikit-learn's own order (baseline, then each iteration),
    so the result is its ``decision_function``, bit for bit (tests/late/test_importance.py).
    Memory: two arrays of trees x rows floats (64 MB for 400 trees and 10,000 rows)."""
    # scikit-learn's own steps of `_raw_predict` (private API: the equality test guards it).
    bitsets, feature_map = estimator._bin_mapper.make_known_categories_bitsets()
    threads = _openmp_effective_n_threads()
    trees = [predictors[0] for predictors in estimator._predictors]
    split_columns = [set(tree.nodes["feature_idx"][tree.nodes["is_leaf"] == 0]) for tree in trees]

    def tree_outputs(table: np.ndarray, which: list[int]) -> dict[int, np.ndarray]:
        prepared = estimator._preprocess_X(table, reset=False)
        return {
            t: trees[t].predict(
                prepared, known_cat_bitsets=bitsets, f_idx_map=feature_map, n_threads=threads
            )
            for t in which
        }

    kept = tree_outputs(encoded, list(range(len(trees))))
    # The running sum before each tree, as scikit-learn accumulates it: a permutation's sum
    # starts from the one before the first tree it changes.
    raw = np.zeros((len(encoded), 1), dtype=estimator._baseline_prediction.dtype, order="F")
    raw += estimator._baseline_prediction
    sums_before = []
    for t in range(len(trees)):
        sums_before.append(raw[:, 0].copy())
        raw[:, 0] += kept[t]

    def decision(permuted: np.ndarray, columns: list[int]) -> np.ndarray:
        rerun = [t for t, used in enumerate(split_columns) if used.intersection(columns)]
        if not rerun:
            return raw[:, 0].copy()
        outputs = {**kept, **tree_outputs(permuted, rerun)}
        total = sums_before[rerun[0]].copy()
        for t in range(rerun[0], len(trees)):
            total += outputs[t]
        return total

    return decision


def decision_for(estimator: object, encoded: np.ndarray) -> Decision:
    """The fastest exact decision function for ``estimator`` on permuted copies of ``encoded``."""
    if (
        isinstance(estimator, HistGradientBoostingClassifier)
        and estimator.n_trees_per_iteration_ == 1
    ):
        return tree_cached_decision(estimator, encoded)
    return whole_model_decision(estimator)


def permutation_importance_encoded(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: np.ndarray,
    n_repeats: int,
    random_state: int,
) -> np.ndarray:
    """The drop in ROC AUC of each column of ``X`` (in its order), per repeat: an array of
    shape (features, repeats) equal to scikit-learn's ``importances`` for the same arguments
    (``scoring="roc_auc"``, every row)."""
    encoder, estimator = pipeline[:-1], pipeline[-1]
    if not isinstance(encoder[-1], ColumnTransformer):
        raise TypeError(
            "the fast path needs a Pipeline whose last encoding step is a ColumnTransformer"
        )
    groups = encoded_columns(encoder[-1], list(X.columns))
    encoded = encoder.transform(X)
    if sparse.issparse(encoded):
        encoded = encoded.toarray()
    decision = decision_for(estimator, encoded)
    baseline = float(roc_auc_score(y, estimator.decision_function(encoded)))
    # scikit-learn draws one seed, then replays the same shuffles for every feature.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    importances = np.zeros((len(X.columns), n_repeats))
    for index, column in enumerate(X.columns):
        columns = groups[column]
        if not columns:
            continue  # a feature the model leaves out: permuting it changes nothing
        shuffles = check_random_state(seed)
        order = np.arange(len(encoded))
        permuted = encoded.copy()
        for repeat in range(n_repeats):
            shuffles.shuffle(order)
            permuted[:, columns] = permuted[order][:, columns]
            score = roc_auc_score(y, decision(permuted, columns))
            importances[index, repeat] = baseline - float(score)
    return importances
