"""The benchmark scripts measure what they claim to: the in-process floor computes what the
pipeline computes, and the stage commands are those of dvc.yaml. (They are not timed here.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.pipeline import (
    deps_per_stage,
    dvc_env,
    import_seconds,
    project_stages,
    stage_commands,
    targets_section,
    toy_pipeline,
)
from stages.core.dvc_yaml import read_pipeline
from tests.conftest import FLIGHTS, STAGES, Repo
from tools.scaffold.project_copy import REPO_ROOT, stage_deps


def test_stage_commands_are_those_dvc_runs() -> None:
    commands = stage_commands(REPO_ROOT)
    assert list(commands) == list(stage_deps(REPO_ROOT))  # every stage, in dvc.yaml's order
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
    # The floor runs the flights projects' stages in process (a new project is not in it).
    assert list(seconds) == ["setup", *[s for s in STAGES if s.split("-")[0] in FLIGHTS]]
    assert all(value >= 0 for value in seconds.values())
    assert seconds["late-train"] > seconds["late-card"]  # fitting a model outweighs writing a page


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:       500 |     150000 |       pyarrow
import time:      2000 |     300000 |     pandas
import time:       400 |      50000 |       pandas.core
import time:      1000 |     600000 |     sklearn
import time:      3000 |     200000 |     skops
import time:       700 |    1200000 | stages.late.train
"""
# pyarrow is imported by pandas (printed before it, one level deeper): counted once, in
# pandas's time; pandas.core is imported by sklearn: in sklearn's share, not counted twice.


def test_import_seconds_reads_the_module_and_the_libraries_it_pulls_in() -> None:
    seconds = import_seconds(IMPORTTIME, "stages.late.train")
    assert seconds == pytest.approx(
        {"total": 1.2, "scikit-learn and skops": 0.8, "pandas and pyarrow": 0.3}
    )


def test_import_seconds_names_a_module_missing_from_the_output() -> None:
    with pytest.raises(ValueError, match=re.escape("stages.late.card")):
        import_seconds(IMPORTTIME, "stages.late.card")


def test_a_projects_forced_run_is_ingest_and_its_own_stages() -> None:
    assert project_stages(STAGES, "daily") == [
        "ingest", "daily-prepare", "daily-train", "daily-evaluate", "daily-card"
    ]  # fmt: skip
    assert project_stages(STAGES, "late")[:2] == ["ingest", "late-split"]
    assert not [name for name in project_stages(STAGES, "late") if name.startswith("daily")]


def test_targets_table_judges_each_measured_figure() -> None:
    figures = {"loop-late": 1.4, "noop": 1.05, "noop-deps": 0.8, "growth": 12.5}
    table = "\n".join(targets_section(figures, 3))
    assert "| 1.40 | 1.25 | **not met** |" in table
    assert "| 1.05 | 1.15 | met |" in table
    assert "| 0.80 |  |  |" in table  # reported, no limit
    assert "| Full run less its floor at 3x the data (s) | 12.50 | 15 | met |" in table
    assert "daily delays" not in table  # a figure that was not measured has no row


def test_toy_pipeline_is_a_dvc_project_with_nothing_to_do(tmp_path: Path) -> None:
    root = toy_pipeline(tmp_path / "toy", [0, 2, 1, 0])
    assert (root / "out_4.txt").read_text() == "01234"
    assert deps_per_stage(root) == [1, 3, 2, 1]  # the previous stage's file and the extra ones
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=root, env=dvc_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout) == {}
    assert len(read_pipeline(root)["stages"]) == 4
