"""split: labels, exclusions and both split strategies."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.late.params import SplitParams
from stages.late.split import (
    describe_splits,
    label_flights,
    split_at_random,
    split_by_time,
    split_flights,
)

PARAMS = SplitParams(
    strategy="time", valid_month=10, test_month=11, test_frac=0.25, valid_frac=0.1, seed=222,
    late_threshold_min=30,
)  # fmt: skip


def flights(months: list[int], delays: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({"month": months, "arr_delay": pd.array(delays, dtype="float64")})


def test_label_is_arrival_delay_at_threshold_and_unlabelled_are_excluded() -> None:
    frame = flights([1, 1, 1, 1], [29.0, 30.0, None, -5.0])
    labelled, n_excluded = label_flights(frame, 30)
    assert labelled["late"].tolist() == [False, True, False]
    assert labelled.index.tolist() == [0, 1, 3]
    assert n_excluded == 1
    assert "late" not in frame.columns  # the input is not mutated


def test_time_split_uses_month_boundaries() -> None:
    frame = flights(list(range(1, 13)), [0.0] * 12)
    splits = split_by_time(frame, valid_month=10, test_month=11)
    assert splits["train"]["month"].tolist() == list(range(1, 10))
    assert splits["valid"]["month"].tolist() == [10]
    assert splits["test"]["month"].tolist() == [11, 12]


def test_random_split_is_disjoint_complete_and_seeded() -> None:
    frame = flights([1] * 4000, [0.0] * 4000)
    splits = split_at_random(frame, test_frac=0.25, valid_frac=0.1, seed=222)
    indices = [set(part.index) for part in splits.values()]
    assert sum(map(len, indices)) == 4000 and set.union(*indices) == set(frame.index)
    assert abs(len(splits["test"]) / 4000 - 0.25) < 0.03
    assert abs(len(splits["valid"]) / 3000 - 0.1) < 0.03
    again = split_at_random(frame, test_frac=0.25, valid_frac=0.1, seed=222)
    assert again["test"].index.equals(splits["test"].index)
    # the test set does not move when only the validation share changes
    other = split_at_random(frame, test_frac=0.25, valid_frac=0.2, seed=222)
    assert other["test"].index.equals(splits["test"].index)


def test_empty_split_is_an_error_naming_it() -> None:
    frame = flights([1, 2, 3], [0.0, 40.0, 0.0])
    labelled, _ = label_flights(frame, 30)
    with pytest.raises(
        StageError, match=r"split 'valid' is empty with late.split.strategy=time.*\[1, 2, 3\]"
    ):
        split_flights(labelled, PARAMS)


def test_split_flights_dispatches_on_strategy(raw_tables: dict[str, pd.DataFrame]) -> None:
    labelled, _ = label_flights(raw_tables["flights"], 30)
    by_time = split_flights(labelled, PARAMS)
    at_random = split_flights(labelled, dataclasses.replace(PARAMS, strategy="random"))
    assert by_time["test"]["month"].min() == 11
    assert at_random["test"]["month"].nunique() == 12


def test_describe_splits_counts() -> None:
    frame = pd.DataFrame({"late": [True, False, False, False]})
    summary = describe_splits({"train": frame, "test": frame.iloc[:2]}, 5, 1)
    assert summary == {
        "flights": 5,
        "excluded_no_arr_delay": 1,
        "splits": {
            "train": {"flights": 4, "late_rate": 0.25},
            "test": {"flights": 2, "late_rate": 0.5},
        },
    }
