"""The benchmark scripts measure what they claim to: the in-process floor computes what the
pipeline computes, and the stage commands are those of dvc.yaml. (They are not timed here.)"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from benchmarks.pipeline import stage_commands
from tests.conftest import STAGES, Repo
from tools.project_copy import REPO_ROOT


def test_stage_commands_are_those_dvc_runs() -> None:
    commands = stage_commands(REPO_ROOT)
    assert list(commands) == STAGES
    assert commands["late-train"] == ["python", "-m", "stages.late.train"]
    assert commands["late-predict"][:3] == ["python", "-m", "stages.late.predict"]
    assert "--schedule" in commands["late-predict"]


def test_in_process_floor_computes_the_pipelines_metrics(repo: Repo, tmp_path: Path) -> None:
    """Same functions, same params, no files between: the same test metrics of both projects, to
    the digit; and ``--timings`` gives each stage's part of the floor, for the per-stage table."""
    timings = tmp_path / "timings.json"
    result = repo.run(sys.executable, "-m", "benchmarks.in_process", "--timings", str(timings))
    found = re.search(r"test ROC AUC (\S+)", result.stderr)
    assert found, result.stderr
    metrics = json.loads((repo.root / "metrics" / "late" / "metrics.json").read_text())
    assert float(found.group(1)) == metrics["test"]["roc_auc"]
    found = re.search(r"daily: test MAE (\S+)", result.stderr)
    assert found, result.stderr
    daily = json.loads((repo.root / "metrics" / "daily" / "metrics.json").read_text())
    assert float(found.group(1)) == daily["test"]["model"]["mae"]
    assert repo.is_clean()  # it wrote nothing in the project
    seconds = json.loads(timings.read_text())
    assert list(seconds) == ["setup", *STAGES]
    assert all(value >= 0 for value in seconds.values())
    assert seconds["late-train"] > seconds["late-card"]  # fitting a model outweighs writing a page
