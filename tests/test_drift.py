"""drift: binning, the population stability index, and the stage on synthetic processed tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.drift import (
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
from stages.errors import StageError
from stages.io import write_parquet_dir
from stages.schema import FEATURES
from tests.conftest import run_module, write_params


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


def frame(n: int, month: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A processed-like table: every feature, year and month."""
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(shift, 1, n) for name in FEATURES}
    for name in ("carrier", "origin", "dest", "plane_manufacturer", "plane_engine"):
        data[name] = rng.choice(["A", "B", "C"], n)
    return pd.DataFrame({**data, "year": 2013, "month": month})


def test_drift_by_month_finds_the_shifted_month_and_features() -> None:
    reference = frame(4000, 1, seed=0)
    later = pd.concat([frame(2000, 10, seed=1), frame(2000, 11, seed=2, shift=1.0)])
    later.loc[later["month"] == 11, "carrier"] = "Z"  # a carrier never seen in training
    by_month = drift_by_month(reference, later, bins=10)
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
    with pytest.raises(StageError, match="needs flights in the train split and in a later"):
        drift_by_month(frame(10, 1, seed=0), frame(0, 10, seed=0), bins=10)


def test_stage_writes_both_files_and_warns_naming_features(
    tmp_path: Path, processed: pd.DataFrame
) -> None:
    write_params(tmp_path, drift={"threshold": 0.2})
    splits = {
        "train": processed[processed["month"] < 10].reset_index(drop=True),
        "valid": processed[processed["month"] == 10].reset_index(drop=True),
        "test": processed[processed["month"] >= 11].reset_index(drop=True),
    }
    write_parquet_dir(tmp_path / "data" / "processed", splits)
    result = run_module("drift", tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "metrics" / "drift.json").read_text())
    assert {row["month"] for row in rows} == {"2013-10", "2013-11", "2013-12"}
    assert len(rows) == 3 * len(FEATURES)
    # The calendar cannot overlap: day_of_year in December was never seen in training.
    assert "WARNING stages.drift: 2013-12: PSI above 0.2 for day_of_year" in result.stderr
    plot = json.loads((tmp_path / "metrics" / "drift_psi.json").read_text())
    assert [row["psi"] for row in plot] == sorted((row["psi"] for row in plot), reverse=True)


def test_stage_without_processed_data_names_the_file(tmp_path: Path) -> None:
    write_params(tmp_path)
    result = run_module("drift", tmp_path)
    assert result.returncode == 1
    assert "data/processed/train.parquet: file not found" in result.stderr
    assert not (tmp_path / "metrics").exists()
