"""The local pre-commit hooks on a real `git commit` in a copy of the project: a commit carrying
a credential (DVC's remote secret written without `--local`) is refused, naming the file and the
fix, and the same secret kept with `--local` commits; a params.yaml that does not parse is one
line; a notebook replacing a stage function is refused, one saved with outputs from make lab
commits stripped."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Repo
from tools.scaffold.project_copy import copy_project

pytestmark = pytest.mark.xdist_group("hooks")

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A committed copy of the project with the hooks installed, running this .venv's tools."""
    repo = Repo(tmp_path_factory.mktemp("hooks") / "repo")
    repo.root.mkdir()
    copy_project(repo.root)
    # The hooks run `.venv/bin/...` (language: system): this interpreter's environment.
    os.symlink(Path(sys.executable).parent.parent, repo.root / ".venv")
    repo.run("git", "init", "-q", "-b", "main")
    settle(repo.root.rglob("*"))
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "--no-verify", "-m", "project")
    repo.run("pre-commit", "install")
    # As make setup does: notebooks' outputs stripped as Git stages them (set after the first
    # commit, whose notebooks have none: Git need not run the filter on each of them).
    venv_bin = Path(sys.executable).parent
    repo.run("git", "config", "filter.nbstripout.clean", f"{venv_bin}/nbstripout")
    repo.run("git", "config", "filter.nbstripout.smudge", "cat")
    return repo


def settle(paths) -> None:
    """Date files a minute back. A file as new as Git's index is "racily clean" to Git, which
    then runs the notebooks' clean filter (nbstripout, 2 s a start) again in every git command
    of every hook."""
    past = time.time() - 60
    for path in paths:
        if path.is_file() and ".git" not in path.parts:
            os.utime(path, (past, past))


def commit(repo: Repo, *paths: str) -> tuple[int, str]:
    """`git add` then `git commit` through the hooks: exit code and all output; the index is
    reset after a refusal so the next test starts clean."""
    settle(repo.root / path for path in paths)
    repo.run("git", "add", *paths)
    result = repo.run("git", "commit", "-q", "-m", "change", check=False)
    if result.returncode != 0:
        repo.run("git", "reset", "-q", "--hard")
    # The reset, or the nbstripout hook stripping the working notebook, rewrote the files.
    settle(repo.root / path for path in paths)
    repo.run("git", "update-index", "-q", "--refresh", check=False)
    return result.returncode, result.stdout + result.stderr


def test_a_dvc_remote_secret_without_local_is_refused_at_commit(hooked: Repo) -> None:
    hooked.run("dvc", "remote", "modify", "storage", "secret_access_key", SECRET)
    code, output = commit(hooked, ".dvc/config")
    assert code != 0
    assert (
        "secrets: .dvc/config:8: holds a value for secret_access_key: set it with `dvc remote "
        "modify --local <remote> <key> <value>` (written to the Git-ignored .dvc/config.local)"
    ) in output
    assert SECRET not in output
    assert "secret_access_key" not in hooked.run("git", "show", "HEAD:.dvc/config").stdout


def test_the_same_secret_kept_local_commits(hooked: Repo) -> None:
    hooked.run("dvc", "remote", "modify", "--local", "storage", "secret_access_key", SECRET)
    hooked.run("dvc", "remote", "modify", "storage", "region", "eu-west-1")
    code, output = commit(hooked, ".dvc/config")
    assert code == 0, output
    assert "region = eu-west-1" in hooked.run("git", "show", "HEAD:.dvc/config").stdout


def add_cell(path: Path, source: str, outputs: list | None = None) -> None:
    """Append a code cell to a notebook file, as saving it from make lab would."""
    notebook = json.loads(path.read_text())
    notebook["cells"].append({
        "cell_type": "code", "metadata": {}, "source": source,
        "execution_count": 1 if outputs else None, "outputs": outputs or [],
    })  # fmt: skip
    path.write_text(json.dumps(notebook, indent=1))


def test_a_notebook_replacing_a_stage_function_is_refused_at_commit(hooked: Repo) -> None:
    notebook = "notebooks/late/02-features.ipynb"
    add_cell(hooked.root / notebook, "featurize.build_features = lambda flights: flights")
    code, output = commit(hooked, notebook)
    assert code != 0
    assert "assigns featurize.build_features, a function stages/ defines" in output
    assert "lambda flights: flights" not in hooked.run("git", "show", f"HEAD:{notebook}").stdout


def test_a_notebook_saved_with_outputs_commits_stripped(hooked: Repo) -> None:
    notebook = "notebooks/late/02-features.ipynb"
    shown = [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    add_cell(hooked.root / notebook, "print(42)", outputs=shown)
    code, output = commit(hooked, notebook)
    assert code == 0, output
    committed = json.loads(hooked.run("git", "show", f"HEAD:{notebook}").stdout)
    assert "".join(committed["cells"][-1]["source"]) == "print(42)"
    assert committed["cells"][-1]["outputs"] == []
    check = hooked.run("python", "-m", "tools.checks.notebook_lint", check=False)
    assert check.returncode == 0, check.stderr  # the working file keeps its outputs: fine


def test_a_params_file_that_does_not_parse_is_refused_in_one_line(hooked: Repo) -> None:
    path = hooked.root / "params.yaml"
    path.write_text(path.read_text().replace("  sample_frac:", "\tsample_frac:", 1))
    code, output = commit(hooked, "params.yaml")
    assert code != 0
    assert "params.yaml: invalid YAML at line " in output
    assert "found character '\\t' that cannot start any token" in output
    assert "Traceback" not in output
