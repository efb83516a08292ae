"""card: DVC-style hashes, the facts the card states, and the stage's failure on missing inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stages.card import (
    card_facts,
    dvc_dir_hash,
    library_versions,
    md5_of_file,
    read_metrics,
    render_card,
)
from stages.errors import StageError
from stages.params import read_params_file
from stages.schema import FEATURES
from tests.conftest import REPO_ROOT, run_module, write_params

METRICS = {
    split: {"roc_auc": 0.7, "average_precision": 0.3, "log_loss": 0.4, "brier": 0.1, "n": 10,
            "positive_rate": 0.2}
    for split in ("valid", "test")
}  # fmt: skip


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


def test_card_states_every_fact() -> None:
    params = read_params_file(REPO_ROOT / "params.yaml")
    data = {"data/raw": "abc.dir", "models/model.skops": "def"}
    facts = card_facts(data, params, METRICS, library_versions(["numpy"]))
    text = render_card(facts)
    assert "md5 `def`" in text and "`data/raw`: `abc.dir`" in text
    assert "| valid | 0.7 | 0.3 | 0.4 | 0.1 | 10 | 0.2 |" in text
    assert "## Intended use and limits" in text and "**Limits:**" in text
    assert "numpy " in text and "python " in text
    embedded = json.loads(text.split("```json\n")[1].split("```")[0])
    assert embedded["params"] == json.loads(json.dumps(params))
    assert embedded["features"]["categorical"] + embedded["features"]["numeric"] == FEATURES
    assert embedded["label"] == "late = arr_delay >= 30 minutes"


def test_read_metrics_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"metrics\.json: file not found"):
        read_metrics(tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text('{"valid": {}}')
    with pytest.raises(StageError, match=r"no metrics for \['test'\]"):
        read_metrics(tmp_path / "metrics.json")


def test_stage_without_a_model_names_it_and_writes_nothing(tmp_path: Path) -> None:
    write_params(tmp_path)
    result = run_module("card", tmp_path)
    assert result.returncode == 1
    assert "models/model.skops: file not found" in result.stderr
    assert not (tmp_path / "models").exists()
