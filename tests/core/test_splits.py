"""The core's splits for a project's own data: stratified, stable by key, by date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.core.splits import (
    SPLITS,
    key_positions,
    split_by_date,
    split_by_key,
    split_stratified,
)


def test_a_stratified_split_keeps_each_class_share_in_every_split() -> None:
    labels = pd.Series(["a"] * 600 + ["b"] * 300 + ["c"] * 100)
    frame = pd.DataFrame({"label": labels, "x": np.arange(1000)})
    splits = split_stratified(frame, frame["label"], test_frac=0.2, valid_frac=0.25, seed=1)
    assert list(splits) == list(SPLITS)
    assert sum(len(part) for part in splits.values()) == 1000
    shares = {name: part["label"].value_counts(normalize=True) for name, part in splits.items()}
    for name in SPLITS:
        assert shares[name]["a"] == pytest.approx(0.6, abs=0.01)
        assert shares[name]["c"] == pytest.approx(0.1, abs=0.01)
    assert len(splits["test"]) == 200 and len(splits["valid"]) == 200
    for part in splits.values():  # the original row order
        assert part["x"].is_monotonic_increasing


def test_a_stratified_split_is_seeded() -> None:
    frame = pd.DataFrame({"label": ["a", "b"] * 50})
    first = split_stratified(frame, frame["label"], 0.2, 0.2, seed=3)
    again = split_stratified(frame, frame["label"], 0.2, 0.2, seed=3)
    other = split_stratified(frame, frame["label"], 0.2, 0.2, seed=4)
    assert first["test"].index.equals(again["test"].index)
    assert not first["test"].index.equals(other["test"].index)


def test_a_class_of_one_row_goes_to_train() -> None:
    frame = pd.DataFrame({"label": ["a"] * 20 + ["rare"]})
    splits = split_stratified(frame, frame["label"], 0.2, 0.2, seed=0)
    assert "rare" in set(splits["train"]["label"])


def test_the_stable_split_never_moves_an_existing_row_when_rows_are_appended() -> None:
    keys = pd.Series([f"id-{i}" for i in range(2000)])
    before = split_by_key(keys.to_frame("id"), keys, test_frac=0.2, valid_frac=0.25)
    appended = pd.concat([keys, pd.Series([f"new-{i}" for i in range(500)])], ignore_index=True)
    shuffled = appended.sample(frac=1, random_state=0).reset_index(drop=True)
    after = split_by_key(shuffled.to_frame("id"), shuffled, test_frac=0.2, valid_frac=0.25)
    for name in SPLITS:
        old = set(before[name]["id"])
        assert old <= set(after[name]["id"])
    assert len(before["test"]) == pytest.approx(400, abs=60)
    assert len(before["valid"]) == pytest.approx(400, abs=60)


def test_rows_that_share_a_key_share_a_split_and_positions_lie_in_the_unit_interval() -> None:
    keys = pd.Series([1, 2, 3, 1, 2, 3] * 10)
    positions = key_positions(keys)
    assert ((positions >= 0) & (positions < 1)).all()
    assert positions[0] == positions[3]
    splits = split_by_key(keys.to_frame("k"), keys, 0.3, 0.3)
    for part in splits.values():
        assert part.groupby("k").size().isin([20]).all()


def test_the_date_split_cuts_at_the_two_dates() -> None:
    dates = pd.Series(pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC"))
    frame = dates.to_frame("when")
    splits = split_by_date(
        frame, dates, pd.Timestamp("2024-01-06", tz="UTC"), pd.Timestamp("2024-01-09", tz="UTC")
    )
    assert [len(splits[name]) for name in SPLITS] == [5, 3, 2]
    assert splits["valid"]["when"].min() == pd.Timestamp("2024-01-06", tz="UTC")
