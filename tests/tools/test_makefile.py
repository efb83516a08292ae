"""The Makefile's targets as a newcomer runs them (dry runs: ``make -n`` prints, runs nothing)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_make, unused_name
from tools.scaffold.project_copy import copy_project


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True)


def test_lab_passes_allow_root_as_root_and_extra_arguments_through(tmp_path: Path) -> None:
    """Run for real with a stand-in `jupyter` that prints the arguments it was given."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "jupyter"
    fake.write_text('#!/bin/sh\nprintf "[%s]" "$@"\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "lab", f"VENV={tmp_path}", "INSTALLED=",
         "ARGS=--no-browser --port 8890"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    root = "[--allow-root]" if os.geteuid() == 0 else ""
    assert result.stdout == f"[lab][notebooks/]{root}[--no-browser][--port][8890]"


def test_repro_and_test_narrow_to_a_project() -> None:
    repro = dry_run("repro", "P=late").stdout.splitlines()
    assert any(line.startswith("dvc repro --glob 'late-*' || ") for line in repro)
    assert 'python -m tools.review.headline "$P"' in repro
    assert "pytest tests/daily" in dry_run("test", "P=daily").stdout.splitlines()
    new = unused_name("weekly")  # a team may have a project of that name
    unknown = dry_run("test", f"P={new}")
    assert unknown.returncode != 0
    folders = " ".join(sorted(path.parent.name for path in REPO_ROOT.glob("tests/*/__init__.py")))
    assert f"P={new} is not a project or test folder; make test takes: {folders}" in unknown.stderr
    assert "pytest tests/core" in dry_run("test", "P=core").stdout.splitlines()
    assert "pytest tests/tools" in dry_run("test", "P=tools").stdout.splitlines()
    # repro narrows to projects only: the core has no stages of its own.
    core = dry_run("repro", "P=core")
    assert core.returncode != 0
    projects = " ".join(
        sorted(path.parent.name for path in REPO_ROOT.glob("stages/*/__init__.py"))
    ).replace("core ", "")
    assert f"P=core is not a project; the projects are: {projects}" in core.stderr


def working_folders() -> list[str]:
    """The folders a user works in: the top-level code, test and docs folders, and each project's
    code and notebooks folder."""
    projects = [path.parent for path in REPO_ROOT.glob("stages/*/__init__.py")]
    notebooks = [path for path in REPO_ROOT.glob("notebooks/*") if path.is_dir()]
    top = [REPO_ROOT / name for name in ("stages", "notebooks", "tests", "docs", "tools")]
    return sorted(path.relative_to(REPO_ROOT).as_posix() for path in [*top, *projects, *notebooks])


def test_make_in_a_working_folder_says_to_run_it_from_the_root() -> None:
    assert {"stages/late", "notebooks/daily", "stages/core"} <= set(working_folders())
    for folder in working_folders():
        result = subprocess.run(
            ["make", "repro", "P=late"], cwd=REPO_ROOT / folder, capture_output=True, text=True
        )
        assert result.returncode == 2, folder
        [line] = result.stderr.splitlines()
        up = "/".join([".."] * len(Path(folder).parts))
        assert line.endswith(
            f"run make from the repository root: cd {up} && make repro P=late.  Stop."
        )
        assert (REPO_ROOT / folder / up).resolve() == REPO_ROOT.resolve()


def test_the_makefile_run_from_elsewhere_names_the_root_and_builds_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-f", str(REPO_ROOT / "Makefile"), "setup"], cwd=tmp_path, capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    root = REPO_ROOT.resolve()
    assert line.endswith(f"run make from the repository root: cd {root} && make setup.  Stop.")
    assert list(tmp_path.iterdir()) == []


def test_project_needs_a_name_and_runs_the_scaffold() -> None:
    result = dry_run("project", "NAME=weekly")
    assert (
        'python -m tools.scaffold.new_project "$NAME" --data="$DATA" --target="$TARGET" '
        '--task="$TASK" --date="$DATE" --key="$KEY" --group="$GROUP"' in result.stdout.splitlines()
    )
    missing = subprocess.run(["make", "project"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert missing.returncode != 0
    assert "usage: make project NAME=<name>" in missing.stderr


def injection(marker: Path) -> str:
    """A value that runs `touch marker` if a recipe splices it into its shell text."""
    return f"x'\"; touch {marker}; echo $(touch {marker}) `touch {marker}` '"


VARIABLES = [
    ("project", ["NAME"]),
    ("data-import", ["URL", "NAME"]),
    ("data-update", ["NAME"]),
    ("gate", ["BASE"]),
    ("report", ["BASE"]),
    ("exp-push", ["EXP"]),
    ("exp-pull", ["EXP"]),
    ("register", ["P"]),
    ("promote", ["P", "VERSION", "STAGE"]),
    ("lab", ["ARGS"]),
    ("repro", ["P"]),
    ("test", ["P"]),
]


@pytest.mark.parametrize(("target", "names"), VARIABLES)
def test_no_variable_is_spliced_into_a_recipe(
    tmp_path: Path, target: str, names: list[str]
) -> None:
    """`make -n` prints each recipe's shell text: the value is never in it (recipes read it
    from their environment, or make refuses it)."""
    value = injection(tmp_path / "pwned")
    result = dry_run(target, *(f"{name}={value}" for name in names))
    assert "pwned" not in result.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("makefile") / "repo"
    copy_project(root)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    return root


@pytest.mark.parametrize(
    ("target", "names"),
    [
        ("project", ["NAME"]),
        ("data-import", ["URL"]),
        ("data-update", ["NAME"]),
        ("gate", ["BASE"]),
    ],
)
def test_a_hostile_value_runs_nothing(
    copy: Path, tmp_path: Path, target: str, names: list[str]
) -> None:
    marker = tmp_path / "pwned"
    values = {"NAME": "ok", **{name: injection(marker) for name in names}}
    result = run_make(copy, target, *(f"{k}={v}" for k, v in values.items()))
    assert result.returncode != 0
    assert not marker.exists(), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
