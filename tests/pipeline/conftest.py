"""Copies of this repository in temporary Git repositories, driven with real ``dvc``.

A session fixture runs the whole pipeline once on a sample of the flights and commits the result;
each test then works on its own copy of that repository, DVC cache included, so tests neither
share state nor pay for the first run again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import write_params
from tools.project_copy import copy_project

# Fraction of flights the pipeline tests run on: every stage runs for real, in seconds.
SAMPLE_FRAC = 0.05
# Fewer boosting rounds than params.yaml: the tests check the machinery, not the model.
SAMPLE_HGB = {
    "max_iter": 60, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 50,
    "l2_regularization": 1.0,
}  # fmt: skip
STAGES = ["ingest", "split", "featurize", "train", "evaluate", "predict", "drift", "card"]


def ran_stages(output: str) -> list[str]:
    """Names of the stages whose command ``dvc repro`` or ``dvc exp run`` ran, in order."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


@dataclass
class Repo:
    """A project repository in a temporary directory and a way to run commands in it."""

    root: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository, as ``make`` would: this interpreter's ``bin`` first
        on PATH, so DVC's ``python`` is the project's. ``dvc`` runs through this interpreter."""
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "DVC_NO_ANALYTICS": "1",
        }  # fmt: skip
        env.pop("PYTHONPATH", None)
        command = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
        result = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def repro(self, *args: str) -> list[str]:
        """Run ``dvc repro`` and return the stages it ran."""
        return ran_stages(self.run("dvc", "repro", *args).stdout)

    def set_params(self, **sections: dict) -> None:
        """Update params.yaml key by key within the given sections."""
        write_params(self.root, base=self.root / "params.yaml", **sections)

    def commit(self, message: str) -> None:
        """Commit everything Git does not ignore."""
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def is_clean(self) -> bool:
        """Whether Git sees no change at all in the working tree."""
        return self.run("git", "status", "--porcelain").stdout == ""


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A committed repository after one full ``dvc repro`` on a sample, and the stages it ran."""
    repo = Repo(tmp_path_factory.mktemp("reproduced") / "repo")
    repo.root.mkdir()
    copy_project(repo.root)
    write_params(repo.root, ingest={"sample_frac": SAMPLE_FRAC}, train={"hgb": SAMPLE_HGB})
    repo.run("git", "init", "-q", "-b", "main")
    repo.commit("project on a sample")
    ran = repo.repro()
    repo.commit("reproduced")
    return repo.root, ran


@pytest.fixture
def repo(reproduced: tuple[Path, list[str]], tmp_path: Path) -> Repo:
    """A private copy of the reproduced repository, DVC cache and all."""
    root = tmp_path / "repo"
    shutil.copytree(reproduced[0], root, symlinks=True)
    return Repo(root)


# The S3 server fixture lives in its own module; importing it here makes it available to tests.
from tests.pipeline.s3_server import s3_server  # noqa: E402, F401
