"""daily-card: what the card states, and the stage on missing inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.core.card import read_metrics
from stages.core.errors import StageError
from stages.daily.card import CARD_SPLITS, errors_table, render_card
from tests.conftest import REPO_ROOT, run_module

SPLIT = {
    "airport_days": 9, "model": {"mae": 0.08, "rmse": 0.1}, "mean_7d": {"mae": 0.1, "rmse": 0.12},
    "persistence": {"mae": 0.11, "rmse": 0.15}, "skill": 0.2,
}  # fmt: skip
METRICS = {split: SPLIT for split in ("train", "valid", "test")}
PARAMS = {"prepare": {"late_threshold_min": 15, "cutoff_hour": 18}, "train": {"model": "hgb"}}
DATA = {"data/raw": "a.dir", "data/daily/days": "b.dir", "models/daily/model.skops": "c"}


def test_errors_table_compares_the_model_with_each_naive_forecast() -> None:
    lines = errors_table(METRICS).splitlines()
    assert (
        lines[0] == "| split | airport-days | MAE model | MAE mean_7d | MAE persistence | skill |"
    )
    assert lines[2] == "| train | 9 | 0.08 | 0.1 | 0.11 | 0.2 |"
    assert len(lines) == 5


def test_the_card_names_its_version_and_every_fact() -> None:
    text = render_card("2.1.0", DATA, PARAMS, METRICS, {"python": "3.11"})
    assert text.startswith("# Model card: daily-model v2.1.0\n")
    assert "`daily-model@v2.1.0`" in text
    assert "leave 15 or more minutes late" in text and "at 18:00 the evening before" in text
    assert "md5 `c`" in text and "- `data/daily/days`: `b.dir`" in text
    facts = json.loads(text.split("```json\n")[1].split("```")[0])
    assert facts["version"] == "2.1.0" and facts["metrics"] == METRICS


def test_missing_metrics_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(
        StageError, match=r"metrics\.json: file not found \(run daily-evaluate first\)"
    ):
        read_metrics(tmp_path / "metrics.json", CARD_SPLITS, "daily-evaluate")


def test_a_version_that_is_not_semver_stops_the_stage_naming_the_key(tmp_path: Path) -> None:
    text = (REPO_ROOT / "params.yaml").read_text().replace('version: "1.0.0"', 'version: "1.0"')
    (tmp_path / "params.yaml").write_text(text)
    result = run_module("daily.card", tmp_path)
    assert result.returncode == 1
    assert "daily.card.version" in result.stderr and "MAJOR.MINOR.PATCH" in result.stderr
    assert "Traceback" not in result.stderr
