"""The daily project's params: the repository's sections load, and each rule stops a bad value at
its full key path."""

from __future__ import annotations

import pytest

from stages.core.params import ParamsError, build_section, parse_params, read_params_file
from stages.daily.params import PrepareParams, TrainParams
from tests.conftest import REPO_ROOT

DOCUMENT = read_params_file(REPO_ROOT / "params.yaml")


def test_repository_params_load_for_every_section() -> None:
    prepare = parse_params(DOCUMENT, "daily.prepare", PrepareParams)
    assert (prepare.cutoff_hour, prepare.late_threshold_min) == (18, 15)
    train = parse_params(DOCUMENT, "daily.train", TrainParams)
    assert train.hgb.loss == "absolute_error"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cutoff_hour", 0, r"'daily\.prepare\.cutoff_hour' must be from 1 to 24, got 0"),
        ("test_month", 10, r"'daily\.prepare\.test_month' must be after valid_month \(10\)"),
        ("late_threshold_min", 0, r"'daily\.prepare\.late_threshold_min' must be at least 1"),
    ],
)
def test_prepare_rules_name_the_full_key(key: str, value: int, message: str) -> None:
    data = {**DOCUMENT["daily"]["prepare"], key: value}
    with pytest.raises(ParamsError, match=message):
        build_section(data, PrepareParams, "daily.prepare")


def test_an_unknown_loss_names_the_choices() -> None:
    train = DOCUMENT["daily"]["train"]
    data = {**train, "hgb": {**train["hgb"], "loss": "absolute"}}
    with pytest.raises(
        ParamsError,
        match=r"'daily\.train\.hgb\.loss' must be one of 'absolute_error', 'squared_error', "
        r"got 'absolute' \(did you mean 'absolute_error'\?\)",
    ):
        build_section(data, TrainParams, "daily.train")
