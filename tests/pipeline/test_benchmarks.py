"""The benchmark scripts measure what they claim to: the in-process floor computes what the
pipeline computes, and the stage commands are those of dvc.yaml. (They are not timed here.)"""

from __future__ import annotations

import json
import re
import sys

from benchmarks.pipeline import stage_commands
from tests.pipeline.conftest import STAGES, Repo
from tools.project_copy import REPO_ROOT


def test_stage_commands_are_those_dvc_runs() -> None:
    commands = stage_commands(REPO_ROOT)
    assert list(commands) == STAGES
    assert commands["train"] == ["python", "-m", "stages.train"]
    assert commands["predict"][:3] == ["python", "-m", "stages.predict"]
    assert "--schedule" in commands["predict"]


def test_in_process_floor_computes_the_pipelines_metrics(repo: Repo) -> None:
    """Same functions, same params, no files between: the same test ROC AUC, to the digit."""
    result = repo.run(sys.executable, "-m", "benchmarks.in_process")
    found = re.search(r"test ROC AUC (\S+)", result.stderr)
    assert found, result.stderr
    metrics = json.loads((repo.root / "metrics" / "metrics.json").read_text())
    assert float(found.group(1)) == metrics["test"]["roc_auc"]
    assert repo.is_clean()  # it wrote nothing
