"""The flight-delay project's params: the repository's sections load, and each rule stops a bad
value at its full key path."""

from __future__ import annotations

import dataclasses

import pytest

from stages.core.params import ParamsError, build_section, parse_params, read_params_file
from stages.late.params import (
    DriftParams,
    EvaluateParams,
    FeaturizeParams,
    SplitParams,
    TrainParams,
)
from stages.raw import IngestParams
from tests.conftest import REPO_ROOT

SECTIONS = {
    "late.split": SplitParams,
    "late.featurize": FeaturizeParams,
    "late.train": TrainParams,
    "late.evaluate": EvaluateParams,
    "late.drift": DriftParams,
}
SPLIT = {
    "strategy": "time", "valid_month": 10, "test_month": 11, "test_frac": 0.25,
    "valid_frac": 0.1, "seed": 1, "late_threshold_min": 30,
}  # fmt: skip


def test_repository_params_load_for_every_section() -> None:
    document = read_params_file(REPO_ROOT / "params.yaml")
    for key, cls in SECTIONS.items():
        assert dataclasses.is_dataclass(parse_params(document, key, cls))
    parse_params(document, "ingest", IngestParams)


def test_test_month_must_follow_valid_month() -> None:
    with pytest.raises(
        ParamsError, match=r"'late\.split\.test_month' must be after valid_month \(10\)"
    ):
        build_section({**SPLIT, "test_month": 10}, SplitParams, "late.split")


def test_a_nested_rule_names_the_full_path() -> None:
    document = read_params_file(REPO_ROOT / "params.yaml")
    train = document["late"]["train"]
    bad = {**train, "hgb": {**train["hgb"], "learning_rate": 0}}
    with pytest.raises(
        ParamsError, match=r"^'late\.train\.hgb\.learning_rate' must be positive, got 0\.0$"
    ):
        build_section(bad, TrainParams, "late.train")


def test_ingest_sample_frac_must_be_a_fraction() -> None:
    with pytest.raises(ParamsError, match=r"'ingest\.sample_frac' must be in \(0, 1\], got 0\.0"):
        build_section({"source": "x", "sample_frac": 0, "seed": 1}, IngestParams, "ingest")
