"""The Makefile's targets as a newcomer runs them (dry runs: ``make -n`` prints, runs nothing)."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO_ROOT


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def test_lab_passes_allow_root_as_root_and_extra_arguments_through() -> None:
    result = dry_run("lab", "ARGS=--no-browser --port 8890")
    assert result.returncode == 0, result.stderr
    (command,) = [line for line in result.stdout.splitlines() if line.startswith("jupyter lab")]
    assert command.endswith("--no-browser --port 8890")
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_repro_and_test_narrow_to_a_project() -> None:
    repro = dry_run("repro", "P=late").stdout.splitlines()
    assert "dvc repro --glob 'late-*'" in repro
    assert "dvc metrics show metrics/late/metrics.json metrics/late/data.json" in repro
    assert "pytest tests/daily" in dry_run("test", "P=daily").stdout.splitlines()
    unknown = dry_run("test", "P=weekly")
    assert unknown.returncode != 0
    assert "P=weekly is not a project; the projects are: daily late" in unknown.stderr


def test_project_needs_a_name_and_runs_the_scaffold() -> None:
    result = dry_run("project", "NAME=weekly")
    assert "python -m tools.new_project weekly" in result.stdout.splitlines()
    missing = subprocess.run(["make", "project"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert missing.returncode != 0
    assert "usage: make project NAME=<name>" in missing.stderr
