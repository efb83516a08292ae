"""Model-card facts: DVC-style hashes of files and directories, and the metrics table."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stages.core.card import metrics_table
from stages.core.errors import StageError
from stages.core.hashing import dvc_dir_hash, md5_of_file


def test_dir_hash_is_dvcs_listing_hash(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_bytes(b"bee")
    (tmp_path / "sub" / "a.txt").write_bytes(b"ay")
    listing = (
        '[{"md5": "' + hashlib.md5(b"bee").hexdigest() + '", "relpath": "b.txt"}, '
        '{"md5": "' + hashlib.md5(b"ay").hexdigest() + '", "relpath": "sub/a.txt"}]'
    )
    assert dvc_dir_hash(tmp_path) == hashlib.md5(listing.encode()).hexdigest() + ".dir"
    assert md5_of_file(tmp_path / "b.txt") == hashlib.md5(b"bee").hexdigest()


def test_dir_hash_of_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="no files to hash"):
        dvc_dir_hash(tmp_path)


def test_metrics_table_has_a_row_per_split_and_the_named_columns_present() -> None:
    metrics = {"valid": {"mae": 0.1, "n": 3}, "test": {"mae": 0.2, "n": 4}}
    assert metrics_table(metrics, ["rmse", "mae", "n"]).splitlines() == [
        "| split | mae | n |",
        "|---|---|---|",
        "| valid | 0.1 | 3 |",
        "| test | 0.2 | 4 |",
    ]
