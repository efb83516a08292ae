"""Permutation importance computed on the encoded columns: scikit-learn's values, faster.

``sklearn.inspection.permutation_importance`` on a whole Pipeline re-encodes every permuted copy
of the table (pandas, encoders) before the model scores it. When the encoding works row by row,
encoding a table whose column was permuted equals permuting the encoded columns of that feature
with the same row order. So this encodes once, then permutes the encoded columns of one feature
together (one column for an ordinal code, a number or a scaled number; the whole one-hot block of
a category) and scores with the final estimator only. The shuffles, their order and the scorer
(ROC AUC on ``decision_function``) are scikit-learn's, so the values are the same, value for
value (tests/core/test_importance.py compares them on both model kinds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import check_random_state


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


def _score(estimator: object, encoded: np.ndarray, y: np.ndarray) -> float:
    return float(roc_auc_score(y, estimator.decision_function(encoded)))


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
    groups = encoded_columns(encoder[-1], list(X.columns))
    encoded = encoder.transform(X)
    if sparse.issparse(encoded):
        encoded = encoded.toarray()
    baseline = _score(estimator, encoded, y)
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
            importances[index, repeat] = baseline - _score(estimator, permuted, y)
    return importances
