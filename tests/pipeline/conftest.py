"""A copy of this repository in a temporary Git repository, driven with real ``dvc``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, write_params

# Fraction of flights the pipeline tests run on: every stage runs for real, in seconds.
SAMPLE_FRAC = 0.05

Run = Callable[..., subprocess.CompletedProcess[str]]


def tracked_files(root: Path) -> list[str]:
    """Files Git tracks or would track in ``root`` (committed, staged or new but not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [name for name in listing.split("\0") if name and (root / name).is_file()]


def copy_repository(target: Path) -> None:
    """Copy the project's source files (no data, models, caches or lock) to ``target``."""
    for name in tracked_files(REPO_ROOT):
        if name == "dvc.lock" or name.startswith(("metrics/", "notebooks/")):
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, destination)


def make_runner(cwd: Path) -> Run:
    """A function running a command in ``cwd`` with this interpreter's ``bin`` first on PATH,
    as ``make`` does, so that DVC's ``python`` is the project's."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "DVC_NO_ANALYTICS": "1",
    }  # fmt: skip
    env.pop("PYTHONPATH", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """A Git repository holding this project on a sample of the flights, committed, not yet run."""
    root = tmp_path_factory.mktemp("repo")
    copy_repository(root)
    write_params(root, ingest={"sample_frac": SAMPLE_FRAC})
    run = make_runner(root)
    run("git", "init", "-q", "-b", "main")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "project on a sample")
    return root, run
