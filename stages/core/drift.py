"""Drift: the population stability index (PSI) of each feature, a reference period against
each later month.

``PSI = sum((current - reference) * ln(current / reference))`` over bins of the feature. Numeric
features are cut at quantiles of the reference period; categorical ones use its categories.
Missing values, and categories the reference never had, get bins of their own, so a feed that
starts to miss values or names a new category shows up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from stages.core.errors import StageError

# Each feature's name and whether it is categorical, in the order results list them.
FeatureKinds = Mapping[str, bool]
# Share given to a bin that is empty on one side: PSI is infinite otherwise. 1e-4 is the usual
# choice; it caps one empty bin's term near 0.001-0.01 for shares of a few percent.
EMPTY_SHARE = 1e-4
DIGITS = 6


def numeric_edges(reference: pd.Series, bins: int) -> np.ndarray:
    """Inner cut points: the distinct quantiles of the reference values (none if all missing)."""
    values = reference.dropna().to_numpy(dtype=float)
    if values.size == 0:
        return np.array([])
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def numeric_bins(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Bin numbers: 0..len(edges) by the cut points, then one bin for missing values."""
    binned = np.searchsorted(edges, values.to_numpy(dtype=float), side="right")
    binned[values.isna().to_numpy()] = len(edges) + 1
    return binned


def categorical_bins(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Bin numbers: one per reference category, then one for unseen categories and one for
    missing values."""
    binned = pd.Index(categories).get_indexer(values).astype(np.int64)
    binned[binned < 0] = len(categories)
    binned[values.isna().to_numpy()] = len(categories) + 1
    return binned


def bin_shares(binned: np.ndarray, n_bins: int) -> np.ndarray:
    """The share of values in each of ``n_bins`` bins."""
    return np.bincount(binned, minlength=n_bins) / max(len(binned), 1)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two arrays of bin shares (empty bins get EMPTY_SHARE)."""
    ref = np.clip(reference, EMPTY_SHARE, None)
    cur = np.clip(current, EMPTY_SHARE, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def month_label(year: int, month: int) -> str:
    """``YYYY-MM``: sorts as text in time order."""
    return f"{year:04d}-{month:02d}"


def feature_binner(
    reference: pd.Series, categorical: bool, bins: int
) -> tuple[Callable[[pd.Series], np.ndarray], int]:
    """The function that bins values of a feature as its ``reference`` values were binned, and
    the number of bins."""
    if categorical:
        categories = sorted(reference.dropna().unique())
        return (lambda values: categorical_bins(values, categories)), len(categories) + 2
    edges = numeric_edges(reference, bins)
    return (lambda values: numeric_bins(values, edges)), len(edges) + 2


def drift_by_month(
    reference: pd.DataFrame, later: pd.DataFrame, features: FeatureKinds, bins: int
) -> dict[str, dict[str, float]]:
    """PSI of each feature for each month (its ``year`` and ``month`` columns) of ``later``
    against ``reference``."""
    if reference.empty or later.empty:
        raise StageError("drift needs rows in the reference period and in a later one")
    months = {
        month_label(int(year), int(month)): flights
        for (year, month), flights in later.groupby(["year", "month"], sort=True)
    }
    by_month: dict[str, dict[str, float]] = {month: {} for month in months}
    for name, categorical in features.items():
        binner, n_bins = feature_binner(reference[name], categorical, bins)
        expected = bin_shares(binner(reference[name]), n_bins)
        for month, flights in months.items():
            observed = bin_shares(binner(flights[name]), n_bins)
            by_month[month][name] = round(psi(expected, observed), DIGITS)
    return by_month


def _features(by_month: dict[str, dict[str, float]]) -> list[str]:
    """The features of a ``drift_by_month`` result, in their order."""
    return list(next(iter(by_month.values()), {}))


def largest_psi(by_month: dict[str, dict[str, float]]) -> list[dict[str, str | float]]:
    """Each feature's largest monthly PSI and its month, largest first: rows for ``dvc plots``."""
    rows = []
    for name in _features(by_month):
        month = max(by_month, key=lambda label: (by_month[label][name], label))
        rows.append({"feature": name, "psi": by_month[month][name], "month": month})
    return sorted(rows, key=lambda row: (-row["psi"], row["feature"]))


def psi_rows(by_month: dict[str, dict[str, float]]) -> list[dict[str, str | float]]:
    """One row per month and feature, in month then feature order: the form ``dvc plots`` reads
    and that stays out of ``dvc metrics show`` and ``dvc exp show`` (a value per month and
    feature would swamp them)."""
    return [
        {"month": month, "feature": name, "psi": value}
        for month, values in by_month.items()
        for name, value in values.items()
    ]


def drifted_features(by_month: dict[str, dict[str, float]], threshold: float) -> dict[str, list]:
    """For each month, the features whose PSI is above ``threshold``, largest first."""
    return {
        month: sorted((n for n, v in values.items() if v > threshold), key=lambda n: -values[n])
        for month, values in by_month.items()
    }
