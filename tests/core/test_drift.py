"""PSI drift: binning, the population stability index, and drift by month."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stages.core.drift import (
    EMPTY_SHARE,
    bin_shares,
    categorical_bins,
    drift_by_month,
    drifted_features,
    largest_psi,
    numeric_bins,
    numeric_edges,
    psi,
    psi_rows,
)
from stages.core.errors import StageError


def test_numeric_edges_are_distinct_quantiles() -> None:
    values = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, np.nan])
    assert numeric_edges(values, 4).tolist() == [2.75, 4.5, 6.25]
    assert numeric_edges(pd.Series([1.0, 1, 1, 2]), 4).tolist() == [1.0, 1.25]
    assert numeric_edges(pd.Series([np.nan, np.nan]), 4).size == 0


def test_numeric_bins_put_missing_values_in_a_bin_of_their_own() -> None:
    edges = np.array([2.0, 5.0])
    binned = numeric_bins(pd.Series([1.0, 2.0, 4.0, 5.0, 9.0, np.nan]), edges)
    assert binned.tolist() == [0, 1, 1, 2, 2, 3]


def test_categorical_bins_separate_unseen_and_missing() -> None:
    binned = categorical_bins(pd.Series(["AA", "DL", "ZZ", None], dtype="str"), ["AA", "DL"])
    assert binned.tolist() == [0, 1, 2, 3]


def test_psi_is_zero_for_the_same_shares_and_matches_the_formula() -> None:
    shares = np.array([0.2, 0.3, 0.5])
    assert psi(shares, shares) == 0.0
    current = np.array([0.3, 0.3, 0.4])
    expected = (0.3 - 0.2) * math.log(0.3 / 0.2) + (0.4 - 0.5) * math.log(0.4 / 0.5)
    assert psi(shares, current) == pytest.approx(expected)


def test_psi_of_an_empty_bin_is_finite() -> None:
    value = psi(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert math.isfinite(value)
    assert value == pytest.approx(2 * (1 - EMPTY_SHARE) * math.log(1 / EMPTY_SHARE))


def test_bin_shares_count_every_bin() -> None:
    assert bin_shares(np.array([0, 0, 2, 3]), 5).tolist() == [0.5, 0, 0.25, 0.25, 0]


# Two numeric features and two categorical ones, in this order.
KINDS = {"temp": False, "wind": False, "carrier": True, "origin": True}
FEATURES = list(KINDS)


def frame(n: int, month: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A table of the features, year and month."""
    rng = np.random.default_rng(seed)
    data = {
        name: rng.choice(["A", "B", "C"], n) if categorical else rng.normal(shift, 1, n)
        for name, categorical in KINDS.items()
    }
    return pd.DataFrame({**data, "year": 2013, "month": month})


def test_drift_by_month_finds_the_shifted_month_and_features() -> None:
    reference = frame(4000, 1, seed=0)
    later = pd.concat([frame(2000, 10, seed=1), frame(2000, 11, seed=2, shift=1.0)])
    later.loc[later["month"] == 11, "carrier"] = "Z"  # a carrier never seen in training
    by_month = drift_by_month(reference, later, KINDS, bins=10)
    assert list(by_month) == ["2013-10", "2013-11"]
    assert max(by_month["2013-10"].values()) < 0.05  # same distribution: sampling noise only
    assert by_month["2013-11"]["temp"] > 0.5
    assert by_month["2013-11"]["carrier"] > 5
    drifted = drifted_features(by_month, threshold=0.2)
    assert drifted["2013-10"] == []
    assert drifted["2013-11"][0] == "carrier" and "temp" in drifted["2013-11"]
    rows = largest_psi(by_month)
    assert rows[0] == {"feature": "carrier", "psi": by_month["2013-11"]["carrier"],
                       "month": "2013-11"}  # fmt: skip
    assert len(rows) == len(FEATURES)
    table = psi_rows(by_month)
    assert len(table) == 2 * len(FEATURES)
    assert table[0] == {"month": "2013-10", "feature": FEATURES[0],
                        "psi": by_month["2013-10"][FEATURES[0]]}  # fmt: skip


def test_drift_needs_both_periods() -> None:
    with pytest.raises(StageError, match="needs rows in the reference period and in a later"):
        drift_by_month(frame(10, 1, seed=0), frame(0, 10, seed=0), KINDS, bins=10)
