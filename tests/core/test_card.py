"""Model-card facts: DVC-style hashes of files and directories, and the metrics table."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stages.core.card import ProjectCard, flat_metrics, metrics_table, render_project_card
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


def test_flat_metrics_writes_nested_ones_under_dotted_keys_without_the_interval_note() -> None:
    values = {"model": {"mae": 1.5, "mae_low": 1.2}, "skill": 0.3, "interval": {"days": 61}}
    assert flat_metrics(values) == {"model.mae": 1.5, "model.mae_low": 1.2, "skill": 0.3}


def test_a_project_card_states_every_fact_it_is_given() -> None:
    metrics = {
        split: {
            "model": {"mae": mae, "mae_low": mae - 0.5, "mae_high": mae + 0.5}, "skill": 0.4,
            "interval": {"level": 0.95, "resamples": 1000, "days": days},
        }
        for split, mae, days in (("valid", 2.0, 31), ("test", 2.5, 61))
    }  # fmt: skip
    card = ProjectCard(
        project="weights", artifact="weights-model", version="1.2.0", question="How heavy?",
        task="regression", target="grams", model_file="models/weights/model.skops",
        data={"data/source/weights": "abc.dir", "models/weights/model.skops": "def"},
        params={"prepare": {"split": "time", "key_column": ""}, "train": {"alpha": 1.0}},
        metrics=metrics, headline=("model.mae", "skill", "absent"), libraries={"python": "3.11"},
        intended_use="planning", not_for="single parcels",
    )  # fmt: skip
    text = render_project_card(card)
    assert text.startswith("# Model card: weights-model v1.2.0\n\nHow heavy?\n")
    assert "| split | model.mae | skill |" in text  # a headline the metrics lack is left out
    assert "| test | 2.5 [2.0, 3.0] | 0.4 |" in text
    assert "(valid: 31 days, test: 61 days)" in text
    assert "- **Not for:** single parcels" in text and "split: time" in text
    assert "key_column" not in text.split("## Split")[1].split("##")[0]  # '' is not a setting
    assert "`data/source/weights`: `abc.dir`" in text and "weights-model@v1.2.0" in text
