"""Permutation importance computed on the encoded columns: scikit-learn's values, faster.

``sklearn.inspection.permutation_importance`` on a whole Pipeline re-encodes every permuted copy
of the table (pandas, encoders) before the model scores it. When the encoding works row by row,
encoding a table whose column was permuted equals permuting the encoded columns of that feature
with the same row order. So this encodes once, then permutes the encoded columns of one feature
together (one column for an ordinal code, a number or a scaled number; the whole one-hot block of
a category) and scores with the final estimator only; for gradient boosting, a tree runs again
only for the rows whose path through it reads a permuted column. The shuffles, their order and
the scorer (ROC AUC on ``decision_function``, by scikit-learn's own steps) are scikit-learn's, so
the values are the same, value for value (tests/late/test_importance.py compares them on both of
late's models; docs/performance.md has the timings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.integrate import trapezoid
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
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


@dataclass(frozen=True)
class Decision:
    """How to score permuted copies of an encoded table: the table to permute (the encoded one,
    or the one a model's trees read, made from it row by row), the column of it each encoded
    column became, and the decision function of a permuted copy of it given which of its
    columns were permuted."""

    table: np.ndarray
    position: np.ndarray
    function: Callable[[np.ndarray, list[int]], np.ndarray]


def whole_model_decision(estimator: object, encoded: np.ndarray) -> Decision:
    """``decision_function`` on the whole encoded table, whichever columns were permuted."""
    return Decision(
        table=encoded,
        position=np.arange(encoded.shape[1]),
        function=lambda permuted, _columns: estimator.decision_function(permuted),
    )


def read_positions(estimator: HistGradientBoostingClassifier, n_inputs: int) -> np.ndarray:
    """Where each input column of a fitted gradient-boosting model lies in the table its trees
    read: when the model encodes categories itself, its preprocessor (a ColumnTransformer working
    row by row) puts the categorical columns first."""
    preprocessor = estimator._preprocessor
    if preprocessor is None:
        return np.arange(n_inputs)
    position = np.empty(n_inputs, dtype=np.intp)
    for name, _, mask in preprocessor.transformers_:
        if name == "remainder":
            continue
        inputs = np.flatnonzero(mask)
        position[inputs] = preprocessor.output_indices_[name].start + np.arange(len(inputs))
    return position


@dataclass(frozen=True)
class CompactTree:
    """One tree of a fitted gradient-boosting model that reads only the columns it splits on
    (``columns``, of the table the model's trees read), so the rows it runs again are copied
    narrow."""

    predictor: TreePredictor
    columns: np.ndarray
    category_map: np.ndarray

    def predict(self, table: np.ndarray, bitsets: np.ndarray, threads: int) -> np.ndarray:
        """The tree's output for each row of ``table``, whose columns are ``self.columns``."""
        return self.predictor.predict(
            table, known_cat_bitsets=bitsets, f_idx_map=self.category_map, n_threads=threads
        )

    def leaves(self, table: np.ndarray, bitsets: np.ndarray, threads: int) -> np.ndarray:
        """The leaf (node index) each row of ``table`` reaches, by scikit-learn's own traversal
        (categories and missing values included): the same tree with each node's index as its
        value."""
        nodes = self.predictor.nodes.copy()
        nodes["value"] = np.arange(len(nodes))
        numbered = TreePredictor(
            nodes, self.predictor.binned_left_cat_bitsets, self.predictor.raw_left_cat_bitsets
        )
        return numbered.predict(
            table, known_cat_bitsets=bitsets, f_idx_map=self.category_map, n_threads=threads
        ).astype(np.intp)

    def columns_on_paths(self) -> dict[int, frozenset[int]]:
        """For each leaf (by node index), the columns its path from the root splits on."""
        nodes = self.predictor.nodes
        paths: dict[int, frozenset[int]] = {}
        pending: list[tuple[int, frozenset[int]]] = [(0, frozenset())]
        while pending:
            node, above = pending.pop()
            if nodes["is_leaf"][node]:
                paths[node] = above
                continue
            below = above | {int(self.columns[nodes["feature_idx"][node]])}
            pending.append((int(nodes["left"][node]), below))
            pending.append((int(nodes["right"][node]), below))
        return paths


def compact_tree(tree: TreePredictor, category_map: np.ndarray) -> CompactTree:
    """``tree`` renumbered to read only the columns it splits on; ``category_map`` is the
    model's map from a column it reads to that column's row of known categories."""
    nodes = tree.nodes.copy()
    splits = nodes["is_leaf"] == 0
    columns = np.unique(nodes["feature_idx"][splits])
    nodes["feature_idx"][splits] = np.searchsorted(columns, nodes["feature_idx"][splits])
    return CompactTree(
        predictor=TreePredictor(nodes, tree.binned_left_cat_bitsets, tree.raw_left_cat_bitsets),
        columns=columns,
        category_map=np.ascontiguousarray(category_map[columns]),
    )


@dataclass(frozen=True)
class TreeRerun:
    """The rows one tree runs again when some columns are permuted: their indices, their
    narrow table (its ``slots`` refilled for each shuffle) and, for each slot, the column of
    the permuted table it is refilled from."""

    rows: np.ndarray
    table: np.ndarray
    slots: list[int]
    sources: list[int]


def tree_cached_decision(
    estimator: HistGradientBoostingClassifier, encoded: np.ndarray
) -> Decision:
    """``decision_function`` of a binary gradient-boosting classifier that re-runs a tree only
    for the rows whose path through it splits on a permuted column: a row's path can leave the
    one it took on the unpermuted table only at a node that reads a permuted column, so any
    other row reaches the same leaf whatever those columns hold. The copies permuted are of the
    table the trees read (``estimator._preprocess_X`` of ``encoded``, which works row by row).
    The other outputs on it are kept, and the sum is taken tree by tree in scikit-learn's own
    order (baseline, then each iteration), so the result is its ``decision_function``, bit for
    bit (tests/core/test_importance.py, tests/late/test_importance.py). Memory: three arrays
    of trees x rows numbers (48 MB for 400 trees and 5,000 rows) and the narrow tables of one
    set of permuted columns."""
    # scikit-learn's own steps of `_raw_predict` (private API: the equality test guards it).
    bitsets, category_map = estimator._bin_mapper.make_known_categories_bitsets()
    threads = _openmp_effective_n_threads()
    trees = [compact_tree(predictors[0], category_map) for predictors in estimator._predictors]
    paths = [tree.columns_on_paths() for tree in trees]
    prepared = estimator._preprocess_X(encoded, reset=False)
    kept = np.empty((len(trees), len(prepared)))
    leaves = np.empty((len(trees), len(prepared)), dtype=np.intp)
    for t, tree in enumerate(trees):
        narrow = np.ascontiguousarray(prepared[:, tree.columns])
        kept[t] = tree.predict(narrow, bitsets, threads)
        leaves[t] = tree.leaves(narrow, bitsets, threads)
    # The running sum before each tree, as scikit-learn accumulates it: a permutation's sum
    # starts from the one before the first tree it changes.
    raw = np.zeros((len(encoded), 1), dtype=estimator._baseline_prediction.dtype, order="F")
    raw += estimator._baseline_prediction
    sums_before = np.empty_like(kept)
    for t in range(len(trees)):
        sums_before[t] = raw[:, 0]
        raw[:, 0] += kept[t]
    # The reruns of the last set of permuted columns: importance permutes one feature's
    # columns several times in a row, and the rows to rerun do not depend on the shuffle.
    last: dict[tuple[int, ...], dict[int, TreeRerun]] = {}

    def reruns_for(columns: list[int]) -> dict[int, TreeRerun]:
        """For each tree with a path through ``columns``, what it runs again."""
        key = tuple(columns)
        if key not in last:
            last.clear()
            wanted = set(columns)
            last[key] = {}
            for t, (tree, tree_paths) in enumerate(zip(trees, paths, strict=True)):
                if wanted.isdisjoint(tree.columns.tolist()):
                    continue
                affected = [leaf for leaf, used in tree_paths.items() if used & wanted]
                if not affected:
                    continue
                leaf_is_affected = np.zeros(len(tree.predictor.nodes), dtype=bool)
                leaf_is_affected[affected] = True
                rows = np.flatnonzero(leaf_is_affected[leaves[t]])
                slots = [i for i, column in enumerate(tree.columns) if column in wanted]
                last[key][t] = TreeRerun(
                    rows=rows,
                    # Two takes: a third of the time of one np.ix_ index.
                    table=prepared.take(rows, axis=0).take(tree.columns, axis=1),
                    slots=slots,
                    sources=[int(tree.columns[i]) for i in slots],
                )
        return last[key]

    def function(permuted: np.ndarray, columns: list[int]) -> np.ndarray:
        reruns = reruns_for(columns)
        if not reruns:
            return raw[:, 0].copy()
        first = min(reruns)
        total = sums_before[first].copy()
        for t in range(first, len(trees)):
            rerun = reruns.get(t)
            if rerun is None:
                total += kept[t]
                continue
            for slot, source in zip(rerun.slots, rerun.sources, strict=True):
                rerun.table[:, slot] = permuted[rerun.rows, source]
            outputs = kept[t].copy()
            outputs[rerun.rows] = trees[t].predict(rerun.table, bitsets, threads)
            total += outputs
        return total

    return Decision(
        table=prepared,
        position=read_positions(estimator, encoded.shape[1]),
        function=function,
    )


def decision_for(estimator: object, encoded: np.ndarray) -> Decision:
    """The fastest exact decision function for ``estimator`` on permuted copies of ``encoded``."""
    if (
        isinstance(estimator, HistGradientBoostingClassifier)
        and estimator.n_trees_per_iteration_ == 1
    ):
        return tree_cached_decision(estimator, encoded)
    return whole_model_decision(estimator, encoded)


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """ROC AUC of binary 0/1 labels, by scikit-learn's own steps (``roc_auc_score``: sorted
    scores, a threshold at each distinct score, collinear points dropped, trapezoids), so bit
    for bit its value, without the input checks it repeats on every call (they took a quarter
    of the importance's time). Both classes must be present."""
    order = np.argsort(y_score, kind="stable")[::-1]
    sorted_score = y_score[order]
    thresholds = np.r_[np.flatnonzero(np.diff(sorted_score)), len(sorted_score) - 1]
    tps = np.cumsum(y_true[order].astype(np.float64), dtype=np.float64)[thresholds]
    fps = 1 + thresholds - tps
    if len(fps) > 2:
        corners = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps = fps[corners], tps[corners]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return float(trapezoid(tps / tps[-1], fps / fps[-1]))


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
    if len(np.unique(y)) != 2:
        raise ValueError("permutation importance by ROC AUC needs both classes in y")
    y = (y == np.max(y)).astype(np.int64)
    groups = encoded_columns(encoder[-1], list(X.columns))
    encoded = encoder.transform(X)
    if sparse.issparse(encoded):
        encoded = encoded.toarray()
    decision = decision_for(estimator, encoded)
    baseline = roc_auc(y, estimator.decision_function(encoded))
    # scikit-learn draws one seed, then replays the same shuffles for every feature.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    importances = np.zeros((len(X.columns), n_repeats))
    for index, column in enumerate(X.columns):
        if not groups[column]:
            continue  # a feature the model leaves out: permuting it changes nothing
        columns = decision.position[groups[column]].tolist()
        shuffles = check_random_state(seed)
        order = np.arange(len(encoded))
        permuted = decision.table.copy()
        for repeat in range(n_repeats):
            shuffles.shuffle(order)
            permuted[:, columns] = permuted[order][:, columns]
            score = roc_auc(y, decision.function(permuted, columns))
            importances[index, repeat] = baseline - score
    return importances
