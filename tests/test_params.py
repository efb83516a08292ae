"""params.yaml loading: typed sections, and a clear stop on every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.params import (
    IngestParams,
    ParamsError,
    SplitParams,
    TrainParams,
    build_section,
    load_params,
    parse_params,
    read_params_file,
)
from tests.conftest import REPO_ROOT

TRAIN = {
    "model": "hgb",
    "seed": 1,
    "drop_features": ["month"],
    "hgb": {
        "max_iter": 10, "learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 5,
        "l2_regularization": 0,
    },
    "logreg": {"C": 1.0, "max_iter": 100},
}  # fmt: skip


def test_repository_params_load_for_every_section() -> None:
    document = read_params_file(REPO_ROOT / "params.yaml")
    for section in ("ingest", "split", "featurize", "train", "evaluate", "drift"):
        parse_params(document, section)


def test_builds_frozen_typed_section_with_int_accepted_as_float() -> None:
    params = build_section(TRAIN, TrainParams, "train")
    assert params.drop_features == ("month",)  # a YAML list becomes a tuple: frozen
    assert params.hgb.l2_regularization == 0.0
    assert isinstance(params.hgb.l2_regularization, float)
    with pytest.raises(AttributeError):
        params.seed = 2  # type: ignore[misc]


def test_unknown_key_names_path_and_nearest_valid_key() -> None:
    data = {**TRAIN, "hgb": {**TRAIN["hgb"], "max_iterz": 5}}
    with pytest.raises(
        ParamsError, match=r"unknown key 'train\.hgb\.max_iterz' \(did you mean 'max_iter'\?\)"
    ):
        build_section(data, TrainParams, "train")


def test_missing_key_names_full_path() -> None:
    data = {**TRAIN, "logreg": {"C": 1.0}}
    with pytest.raises(ParamsError, match=r"missing key 'train\.logreg\.max_iter'"):
        build_section(data, TrainParams, "train")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seed", "1", r"'train\.seed' must be int, got str '1'"),
        ("seed", True, r"'train\.seed' must be int, got bool True"),
        ("seed", 1.5, r"'train\.seed' must be int, got float 1.5"),
        ("seed", None, r"'train\.seed' must be int, got null"),
        ("model", "hbg", r"'train\.model' must be one of 'hgb', 'logreg', got 'hbg' \(did you mean 'hgb'\?\)"),
        ("hgb", [1], r"'train\.hgb' must be a mapping of keys, got list"),
        ("drop_features", "month", r"'train\.drop_features' must be a list, got str 'month'"),
        ("drop_features", ["a", 2], r"'train\.drop_features\[1\]' must be str, got int 2"),
    ],
)  # fmt: skip
def test_wrong_type_names_key_and_value(key: str, value: object, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        build_section({**TRAIN, key: value}, TrainParams, "train")


def test_value_out_of_range_names_key() -> None:
    with pytest.raises(ParamsError, match=r"'ingest\.sample_frac' must be in \(0, 1\], got 0\.0"):
        build_section({"source": "x", "sample_frac": 0, "seed": 1}, IngestParams, "ingest")


def test_test_month_must_follow_valid_month() -> None:
    data = {
        "strategy": "time", "valid_month": 10, "test_month": 10, "test_frac": 0.25,
        "valid_frac": 0.1, "seed": 1, "late_threshold_min": 30,
    }  # fmt: skip
    with pytest.raises(ParamsError, match=r"'split\.test_month' must be after split\.valid_month"):
        build_section(data, SplitParams, "split")


def test_unknown_section_suggests_nearest() -> None:
    with pytest.raises(ParamsError, match=r"unknown section 'trian' \(did you mean 'train'\?\)"):
        parse_params({"trian": TRAIN}, "train")


def test_missing_section() -> None:
    with pytest.raises(ParamsError, match=r"missing section 'train'"):
        parse_params({"ingest": {}}, "train")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  model: [hgb\n")
    with pytest.raises(ParamsError, match=r"params\.yaml: invalid YAML at line \d+, column \d+: "):
        load_params("train", path)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("ingest:\n  seed: 1\n  seed: 2\n")
    with pytest.raises(
        ParamsError, match=r"invalid YAML at line 3, column 3: found duplicate key \"seed\""
    ):
        load_params("ingest", path)


def test_load_params_prefixes_errors_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("ingest:\n  source: x\n  sample_frac: 0.5\n  seed: 1\n  sedd: 2\n")
    with pytest.raises(
        ParamsError, match=rf"^{path}: unknown key 'ingest\.sedd' \(did you mean 'seed'\?\)"
    ):
        load_params("ingest", path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="file not found"):
        load_params("ingest", tmp_path / "params.yaml")
