"""`late-score`'s pure parts and its refusals before anything is fetched (the whole job, installed
from a bare `origin` and run in an empty folder, is in tests/pipeline/test_team.py)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from stages.core.dvc_yaml import read_pipeline, stage_outputs
from stages.late.job import FETCHED, PINS_DIR, pin_mismatches, read_pins
from tests.conftest import REPO_ROOT


def test_read_pins_takes_every_exact_pin_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "scikit-learn.txt").write_text("# why\nscikit-learn==1.5.2\n    # via x\n")
    (tmp_path / "numpy.txt").write_text("numpy==2.1.0 ; python_version >= '3.11'\n")
    (tmp_path / "notes.md").write_text("pandas==0.1\n")
    assert read_pins(tmp_path) == {"numpy": "2.1.0", "scikit-learn": "1.5.2"}


def test_pin_mismatches_names_the_pins_to_install() -> None:
    pins = {"numpy": "2.1.0", "scikit-learn": "1.5.2", "skops": "0.10"}
    installed = {"numpy": "2.1.0", "scikit-learn": "1.6.0", "skops": None}
    assert pin_mismatches(pins, installed) == ["scikit-learn==1.5.2", "skops==0.10"]
    assert pin_mismatches(pins, dict(pins)) == []


def test_what_is_fetched_is_in_the_repository_and_the_pins_are_those_installed() -> None:
    """The job fetches paths that exist here (Git- or DVC-tracked), and this environment has
    exactly the pins of the stages' libraries, so a job on it passes the check."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outputs = {out for outs in stage_outputs(read_pipeline(REPO_ROOT)).values() for out in outs}
    for path in map(Path.as_posix, FETCHED):
        in_git = any(name == path or name.startswith(f"{path}/") for name in tracked)
        in_output = any(path == out or path.startswith(f"{out}/") for out in outputs)
        assert in_git or in_output, path
    pins = read_pins(REPO_ROOT / PINS_DIR)
    assert pins, "no pin files"
    assert pin_mismatches(pins, {name: metadata.version(name) for name in pins}) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--stage", "prod", "--input", "in.csv", "--output", "out.csv"], "required: --repo"),
        (
            ["--repo", "r", "--stage", "prod", "--version", "v1", "--input", "i", "--output", "o"],
            "not allowed with argument",
        ),
        (["--repo", "r", "--stage", "prod", "--input", "in.csv", "--output", "in.csv"], "same"),
        (
            ["--repo", "r", "--stage", "prod", "--input", "absent.csv", "--output", "o.csv"],
            "absent",
        ),
    ],
    ids=["no-repo", "stage-and-version", "output-is-input", "no-input"],
)
def test_bad_arguments_are_one_line_and_write_nothing(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    (tmp_path / "in.csv").write_text("year\n2013\n")
    result = subprocess.run(
        [sys.executable, "-m", "stages.late.job", *arguments],
        cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert result.returncode in (1, 2)
    assert message in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]
    assert (tmp_path / "in.csv").read_text() == "year\n2013\n"
