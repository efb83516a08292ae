"""``make project NAME=...``: a new project that runs green from the first minute, and a refused
name that changes nothing. Driven in copies of this repository, with real ``dvc``."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, ran_stages, write_params
from tools.new_project import main, refusal, with_project_contract
from tools.project_copy import copy_project

NAME = "tryout"


def tree_hashes(root: Path) -> dict[str, str]:
    """The md5 of every file under ``root`` but Git's own, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    copy_project(root)
    return root


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("late", "'late' is already a project or module of stages/"),
        ("daily", "'daily' is already a project or module of stages/"),
        ("core", "'core' is the core package (stages/core)"),
        ("ingest", "'ingest' is already a project or module of stages/"),
        ("raw", "'raw' is already a project or module of stages/"),
        ("1bad", "'1bad' is not a valid project name: use a lowercase Python identifier"),
        ("class", "'class' is not a valid project name"),
        ("Tryout", "'Tryout' is not a valid project name"),
        ("try-out", "'try-out' is not a valid project name"),
    ],
)
def test_a_refused_name_says_why_and_changes_nothing(
    copy: Path, name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    assert main([name], root=copy) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"ERROR: {message}") and error.count("\n") == 1
    assert tree_hashes(copy) == before


def _limit_file_size() -> None:
    """In the child: no file may grow past 8,000 bytes (the skeleton's files are smaller,
    dvc.yaml is larger), so writing fails half-way as on a full disk. Python ignores SIGXFSZ:
    the write raises OSError (EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (8000, 8000))


def test_a_failure_half_way_changes_nothing_and_the_retry_succeeds(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    result = subprocess.run(
        [sys.executable, "-m", "tools.new_project", NAME],
        cwd=copy, preexec_fn=_limit_file_size, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"ERROR: project '{NAME}' could not be written: File too large (dvc.yaml); "
    )
    assert result.stderr.endswith("nothing was changed (free space, then run make project again)\n")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert tree_hashes(copy) == before
    assert not list(copy.glob(".project-*"))
    assert not (copy / "stages" / NAME).exists()
    assert main([NAME], root=copy) == 0
    assert (copy / "stages" / NAME / "train.py").is_file()


def test_a_name_too_long_for_any_path_is_one_line(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    assert main(["x" * 300], root=copy) == 1
    error = capsys.readouterr().err
    assert error == "ERROR: 'xxxxxxxxxxxxxxxxxxxx...' is 300 characters long: use at most 40\n"
    assert tree_hashes(copy) == before


def test_a_params_section_or_a_project_folder_of_that_name_is_refused(copy: Path) -> None:
    (copy / "params.yaml").write_text((copy / "params.yaml").read_text() + "\nweekly: {}\n")
    assert (
        refusal("weekly", copy)
        == "'weekly' is already a section of params.yaml: choose another name"
    )
    (copy / "notebooks" / "monthly").mkdir()
    assert (
        refusal("monthly", copy)
        == "'monthly': notebooks/monthly already exist: choose another name"
    )


def test_the_project_joins_the_top_layer_of_the_contracts() -> None:
    text = "[importlinter:contract:layers]\nlayers =\n    late | daily | ingest\n    raw\n"
    assert with_project_contract(text, "weekly") == (
        "[importlinter:contract:layers]\nlayers =\n    late | daily | weekly | ingest\n    raw\n"
    )


def test_a_new_project_passes_every_check_runs_and_is_tested(copy: Path) -> None:
    """What a teammate does: scaffold, check, lint, run only the new project, test it. The other
    projects' stages do not run; the notebook runs on the shared data."""
    write_params(copy, {"ingest": {"sample_frac": 0.05}})
    repo = Repo(copy)
    repo.run("git", "init", "-q", "-b", "main")
    repo.run("python", "-m", "tools.source_data")  # as make setup does
    repo.commit("the monorepo")
    result = repo.run(sys.executable, "-m", "tools.new_project", NAME)
    assert f"project '{NAME}': wrote 16 files" in result.stdout
    env = {**os.environ, "PYTHONPATH": str(copy)}
    bin_dir = Path(sys.executable).parent
    for command in (
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [str(bin_dir / "lint-imports"), "--no-cache"],
        [sys.executable, "-m", "tools.dvc_lint"],
        [sys.executable, "-m", "tools.notebook_lint"],
    ):
        checked = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
        assert checked.returncode == 0, f"{command}:\n{checked.stdout}\n{checked.stderr}"
    ran = ran_stages(repo.run("dvc", "repro", "--glob", f"{NAME}-*").stdout)
    assert ran == ["ingest", f"{NAME}-prepare", f"{NAME}-train", f"{NAME}-evaluate"]
    assert (copy / "metrics" / NAME / "metrics.json").is_file()
    assert (copy / "metrics" / NAME / "plots" / "test" / "roc.json").is_file()
    dag = repo.run("dvc", "dag", "--dot").stdout
    assert f'"ingest" -> "{NAME}-prepare"' in dag
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         f"tests/{NAME}", "-k", "not notebook"],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout[-3000:]
    notebook = subprocess.run(
        [sys.executable, "-m", "papermill", "--cwd", f"notebooks/{NAME}",
         f"notebooks/{NAME}/01-explore.ipynb", str(copy.parent / "out.ipynb"),
         "--kernel", "python3", "--no-progress-bar"],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert notebook.returncode == 0, notebook.stderr[-3000:]
