"""late-card: the facts the card states, and the stage's failure on missing inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from stages.core.card import library_versions
from stages.core.errors import StageError
from stages.core.params import read_params_file
from stages.late.card import card_facts, read_metrics, render_card, run
from stages.late.contract import FEATURES
from stages.late.paths import MODEL_ARTIFACT, MODEL_FILE
from tests.conftest import REPO_ROOT, run_module, write_params

METRICS = {
    split: {"roc_auc": 0.7, "average_precision": 0.3, "log_loss": 0.4, "brier": 0.1, "n": 10,
            "positive_rate": 0.2}
    for split in ("valid", "test")
}  # fmt: skip


def test_card_states_every_fact() -> None:
    document = read_params_file(REPO_ROOT / "params.yaml")
    params = {"ingest": document["ingest"], **document["late"]}
    data = {"data/raw": "abc.dir", "models/late/model.skops": "def"}
    facts = card_facts(data, params, METRICS, library_versions(["numpy"]))
    text = render_card(facts)
    assert "md5 `def`" in text and "`data/raw`: `abc.dir`" in text
    assert "| valid | 0.7 | 0.3 | 0.4 | 0.1 | 10 | 0.2 |" in text
    assert text.startswith("# Model card: late-model\n")
    assert "## Intended use and limits" in text and "**Limits:**" in text
    assert "numpy " in text and "python " in text
    embedded = json.loads(text.split("```json\n")[1].split("```")[0])
    assert embedded["params"] == json.loads(json.dumps(params))
    assert embedded["features"]["categorical"] + embedded["features"]["numeric"] == FEATURES
    assert embedded["label"] == "late = arr_delay >= 30 minutes"
    assert run(data, params, METRICS, library_versions(["numpy"])) == text


def test_read_metrics_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"metrics\.json: file not found"):
        read_metrics(tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text('{"valid": {}}')
    with pytest.raises(StageError, match=r"no metrics for \['test'\]"):
        read_metrics(tmp_path / "metrics.json")


def test_stage_without_a_model_names_it_and_writes_nothing(tmp_path: Path) -> None:
    write_params(tmp_path)
    result = run_module("late.card", tmp_path)
    assert result.returncode == 1
    assert "models/late/model.skops: file not found" in result.stderr
    assert not (tmp_path / "models").exists()


def test_the_card_names_the_artifact_dvc_yaml_declares() -> None:
    artifacts = YAML(typ="safe", pure=True).load((REPO_ROOT / "dvc.yaml").read_text())["artifacts"]
    assert artifacts[MODEL_ARTIFACT]["path"] == MODEL_FILE.as_posix()
