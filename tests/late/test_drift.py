"""late-drift: the stage on synthetic processed tables (PSI itself: tests/core/test_drift.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from stages.core.io import write_parquet_dir
from stages.late.contract import FEATURES
from stages.late.drift import FEATURE_KINDS
from tests.conftest import run_module, write_params


def test_stage_writes_both_files_and_warns_naming_features(
    tmp_path: Path, processed: pd.DataFrame
) -> None:
    write_params(tmp_path, {"late.drift": {"threshold": 0.2}})
    splits = {
        "train": processed[processed["month"] < 10].reset_index(drop=True),
        "valid": processed[processed["month"] == 10].reset_index(drop=True),
        "test": processed[processed["month"] >= 11].reset_index(drop=True),
    }
    write_parquet_dir(tmp_path / "data" / "late" / "processed", splits)
    result = run_module("late.drift", tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "metrics" / "late" / "drift.json").read_text())
    assert {row["month"] for row in rows} == {"2013-10", "2013-11", "2013-12"}
    assert len(rows) == 3 * len(FEATURES)
    # The calendar cannot overlap: day_of_year in December was never seen in training.
    assert "WARNING stages.late.drift: 2013-12: PSI above 0.2 for day_of_year" in result.stderr
    plot = json.loads((tmp_path / "metrics" / "late" / "drift_psi.json").read_text())
    assert [row["psi"] for row in plot] == sorted((row["psi"] for row in plot), reverse=True)


def test_stage_without_processed_data_names_the_file(tmp_path: Path) -> None:
    write_params(tmp_path)
    result = run_module("late.drift", tmp_path)
    assert result.returncode == 1
    assert "data/late/processed/train.parquet: file not found" in result.stderr
    assert not (tmp_path / "metrics").exists()


def test_every_feature_of_the_contract_is_compared_with_its_kind() -> None:
    assert list(FEATURE_KINDS) == FEATURES
    assert [name for name, categorical in FEATURE_KINDS.items() if categorical] == [
        "carrier", "origin", "dest", "plane_manufacturer", "plane_engine"
    ]  # fmt: skip
