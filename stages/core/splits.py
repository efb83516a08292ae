"""The one time split every project uses, and a random one for comparison.

Train on the months before ``valid_month``, validate from it to before ``test_month``, test from
then on: a model never sees the future of what it is judged on. Rows carry a ``month`` column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
