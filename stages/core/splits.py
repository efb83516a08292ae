"""How rows are split into train, valid and test.

The flights projects share one time split: train on the months before ``valid_month``, validate
from it to before ``test_month``, test from then on (rows carry a ``month`` column), so a model
never sees the future of what it is judged on. A project on its own data chooses, through its
params, among a seeded random split, a stratified one (each class of the target in the same
shares), a stable one (a hash of a key column: appending rows never moves an existing row to
another split) and a time split on a date column. Every split keeps the rows' original order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from stages.core.errors import StageError
from stages.core.params import require

# The splits, in the order every stage writes and reads them.
SPLITS = ("train", "valid", "test")


def split_by_time(
    frame: pd.DataFrame, valid_month: int, test_month: int
) -> dict[str, pd.DataFrame]:
    """Train before ``valid_month``, valid from it to before ``test_month``, test from then on."""
    month = frame["month"]
    return {
        "train": frame[month < valid_month],
        "valid": frame[(month >= valid_month) & (month < test_month)],
        "test": frame[month >= test_month],
    }


def split_at_random(
    frame: pd.DataFrame, test_frac: float, valid_frac: float, seed: int
) -> dict[str, pd.DataFrame]:
    """``test_frac`` of rows to test, ``valid_frac`` of the rest to valid; original row order."""
    rng = np.random.default_rng(seed)
    draw = rng.random(len(frame))
    is_test = draw < test_frac
    # A second, independent draw for valid keeps the test set the same whatever valid_frac is.
    is_valid = ~is_test & (rng.random(len(frame)) < valid_frac)
    return {
        "train": frame[~is_test & ~is_valid],
        "valid": frame[is_valid],
        "test": frame[is_test],
    }


def split_stratified(
    frame: pd.DataFrame, labels: pd.Series, test_frac: float, valid_frac: float, seed: int
) -> dict[str, pd.DataFrame]:
    """``test_frac`` of each class of ``labels`` (aligned with ``frame``) to test and
    ``valid_frac`` of the rest to valid, so every split holds the classes in the same shares; a
    class of one row goes to train. Seeded, in the original row order."""
    rng = np.random.default_rng(seed)
    codes, _ = pd.factorize(labels.to_numpy(), sort=True)
    assigned = np.zeros(len(frame), dtype=np.int8)  # 0 train, 1 valid, 2 test
    for code in range(codes.max() + 1 if len(codes) else 0):
        members = rng.permutation(np.flatnonzero(codes == code))
        n_test = round(len(members) * test_frac)
        n_valid = round((len(members) - n_test) * valid_frac)
        assigned[members[:n_test]] = 2
        assigned[members[n_test : n_test + n_valid]] = 1
    return {name: frame[assigned == index] for index, name in enumerate(SPLITS)}


def key_positions(keys: pd.Series) -> np.ndarray:
    """Each key's place in [0, 1): a hash of its text, the same for the same key whatever other
    rows the table holds, in whatever order."""
    text = keys.astype("str").to_numpy(dtype=object)
    # pandas' hash of an object array is SipHash with a fixed key: a function of the value only.
    hashed = pd.util.hash_array(text, categorize=False)
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def split_by_key(
    frame: pd.DataFrame, keys: pd.Series, test_frac: float, valid_frac: float
) -> dict[str, pd.DataFrame]:
    """The stable split: a row's split follows from its key (aligned with ``frame``) alone, so
    appending rows never moves an existing one, and rows that share a key share a split.
    ``test_frac`` of the keys' hash range goes to test, ``valid_frac`` of the rest to valid."""
    position = key_positions(keys)
    is_test = position < test_frac
    is_valid = ~is_test & (position < test_frac + (1 - test_frac) * valid_frac)
    return {
        "train": frame[~is_test & ~is_valid],
        "valid": frame[is_valid],
        "test": frame[is_test],
    }


def split_by_date(
    frame: pd.DataFrame, dates: pd.Series, valid_from: pd.Timestamp, test_from: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """Train before ``valid_from``, valid from it to before ``test_from``, test from then on;
    ``dates`` is aligned with ``frame``."""
    return {
        "train": frame[dates < valid_from],
        "valid": frame[(dates >= valid_from) & (dates < test_from)],
        "test": frame[dates >= test_from],
    }


@dataclass(frozen=True)
class SplitParams:
    """How a project on its own data splits its rows (a ``prepare`` section of params.yaml):
    ``split`` is ``random`` (seeded), ``stratified`` (random within each class of the target),
    ``stable`` (by a hash of ``key_column``) or ``time`` (by ``date_column``: valid from
    ``valid_from``, test from ``test_from``, ISO dates). ``test_frac`` of the rows go to test and
    ``valid_frac`` of the rest to valid; the time split ignores both. A column not used is ''."""

    split: Literal["random", "stratified", "stable", "time"]
    test_frac: float
    valid_frac: float
    seed: int
    key_column: str
    date_column: str
    valid_from: str
    test_from: str

    def __post_init__(self) -> None:
        require(0 < self.test_frac < 1, "test_frac", "between 0 and 1", self.test_frac)
        require(0 < self.valid_frac < 1, "valid_frac", "between 0 and 1", self.valid_frac)
        if self.split == "stable":
            require(bool(self.key_column), "key_column", "a column for split: stable", "")
        if self.split == "time":
            require(bool(self.date_column), "date_column", "a column for split: time", "")
            for key in ("valid_from", "test_from"):
                value = getattr(self, key)
                require(_is_iso_date(value), key, "an ISO date (2024-03-31)", value)
            require(
                self.valid_from < self.test_from, "test_from",
                f"after valid_from ({self.valid_from})", self.test_from,
            )  # fmt: skip


def _is_iso_date(text: str) -> bool:
    """Whether ``text`` is a date written YYYY-MM-DD."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _column(frame: pd.DataFrame, name: str, key: str) -> pd.Series:
    """The column a split reads, with no value missing; StageError naming the params key."""
    if name not in frame.columns:
        raise StageError(f"{key} is '{name}', which is not a column of the rows: {list(frame)}")
    values = frame[name]
    if values.isna().any():
        first = ", ".join(map(str, values.index[values.isna()][:5]))
        raise StageError(
            f"{key}: column '{name}' is missing in {int(values.isna().sum())} rows (first at rows "
            f"{first}); a split cannot place them"
        )
    return values


def split_rows(
    frame: pd.DataFrame, params: SplitParams, target: str, section: str
) -> dict[str, pd.DataFrame]:
    """``frame`` split as ``params`` (the params section ``section``) says; StageError naming the
    key when a column it names is absent or has missing values, or a split comes out empty."""
    if params.split == "random":
        splits = split_at_random(frame, params.test_frac, params.valid_frac, params.seed)
    elif params.split == "stratified":
        labels = _column(frame, target, f"{section}.split: stratified reads the target, which")
        splits = split_stratified(frame, labels, params.test_frac, params.valid_frac, params.seed)
    elif params.split == "stable":
        keys = _column(frame, params.key_column, f"{section}.key_column")
        splits = split_by_key(frame, keys, params.test_frac, params.valid_frac)
    else:
        dates = _column(frame, params.date_column, f"{section}.date_column")
        zone = getattr(dates.dtype, "tz", None)
        bounds = [pd.Timestamp(params.valid_from, tz=zone), pd.Timestamp(params.test_from, tz=zone)]
        splits = split_by_date(frame, dates, *bounds)
    for name, part in splits.items():
        if part.empty:
            raise StageError(
                f"split '{name}' is empty ({section}.split is {params.split}, {len(frame)} rows): "
                "change the fractions or dates"
            )
    return splits
