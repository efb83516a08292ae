"""The workspace's Git and DVC state, checked before anything runs or is committed.

    python -m tools.checks.workspace guard              # make repro and make exp, first
    python -m tools.checks.workspace stale-lock         # the pre-commit hook: warn, never refuse
    python -m tools.checks.workspace exp PROJECT ARGS   # make exp P=<project> ARGS='-S ...'

`dvc exp run` in the workspace detaches HEAD and writes refs/exps/exec/*; killed half-way, it
leaves both behind, and every commit made after lands on no branch without a word (the next
`dvc exp run` starts from the detached HEAD too). `guard` refuses to run on that state and says
how to leave it. `stale-lock` names the stages whose code, params or command changed since
dvc.lock was recorded (DVC's own `dvc status`), so a stale dvc.lock is not committed unseen.
`exp` runs one project's experiment: its stages and the shared ones they need, not every
project's (a plain `dvc exp run` in a fresh clone runs them all).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from ruamel.yaml import YAML

from stages.core.dvc_yaml import read_pipeline

# The refs a workspace experiment writes; EXEC_HEAD alone stays after a clean run, the others
# only while one runs or after one was killed.
EXEC_REFS = "refs/exps/exec/"


class WorkspaceError(Exception):
    """A state in which nothing should run, with what to do."""


def git(root: Path, *args: str) -> str:
    """``git args`` in ``root``; its stdout, stripped ('' when git fails)."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def tracked_files(root: Path) -> list[str]:
    """Files Git tracks or would track in ``root`` (committed, staged or new but not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [name for name in listing.split("\0") if name and (root / name).is_file()]


def exec_refs(root: Path) -> list[str]:
    """The refs under refs/exps/exec/ (a workspace experiment's)."""
    listing = git(root, "for-each-ref", "--format=%(refname)", EXEC_REFS)
    return sorted(line for line in listing.splitlines() if line)


def leftover_problem(refs: list[str], detached_at: str, branches: list[str]) -> str | None:
    """What is wrong when HEAD is detached (at ``detached_at``, '' when on a branch) while an
    experiment's refs ``refs`` are left, and how to leave that state with Git's and DVC's own
    commands; None when nothing is. ``branches`` hold the detached commit."""
    if not detached_at or not refs:
        return None
    if branches:
        back = f"`git checkout {branches[0]}` (`git stash` first to keep the workspace's changes)"
    else:
        back = (
            f"`git branch keep-{detached_at}` to keep the commits made since, then "
            "`git checkout <your branch>` and merge them"
        )
    names = ", ".join(ref.removeprefix(EXEC_REFS) for ref in refs)
    return (
        f"HEAD is detached at {detached_at}, as an interrupted `dvc exp run` leaves it "
        f"(refs/exps/exec: {names}): commits made now land on no branch. Run {back}, then "
        f"`git update-ref -d` each of {', '.join(refs)}; `dvc queue status` lists any "
        "queued run left (`dvc queue remove --all`)"
    )


def workspace_problem(root: Path) -> str | None:
    """The problem :func:`leftover_problem` finds in the repository at ``root``."""
    refs = exec_refs(root)
    if not refs or git(root, "symbolic-ref", "-q", "HEAD"):
        return None
    head = git(root, "rev-parse", "--short", "HEAD")
    listing = git(
        root, "for-each-ref", "--format=%(refname:short)", "--contains=HEAD", "refs/heads/"
    )
    return leftover_problem(refs, head, [line for line in listing.splitlines() if line])


def stale_stages(status: Mapping[str, list], locked: Iterable[str]) -> dict[str, list[str]]:
    """From ``dvc status --json``: each stage whose code, params or command changed since
    dvc.lock recorded it, with what changed; a stage dvc.lock does not hold (``locked`` are
    those it does) as "not run yet". A dependency or output that is absent here ("deleted":
    data not pulled, a stage not reproduced) does not make dvc.lock stale."""
    stale: dict[str, list[str]] = {}
    recorded = set(locked)
    for stage, changes in status.items():
        if stage.split(":")[-1] not in recorded:
            stale[stage.split(":")[-1]] = ["not run yet"]
            continue
        reasons = []
        for change in changes:
            if change == "changed command":
                reasons.append("its command")
            elif isinstance(change, dict):
                for path, state in change.get("changed deps", {}).items():
                    if isinstance(state, dict):  # a params file: {key: modified|new|deleted}
                        reasons.extend(f"param {key}" for key in sorted(state))
                    elif state != "deleted":
                        reasons.append(path)
        if reasons:
            stale[stage.split(":")[-1]] = reasons
    return stale


def stale_warning(stale: Mapping[str, list[str]]) -> str | None:
    """The warning naming each stale stage and what changed, or None."""
    if not stale:
        return None
    named = "; ".join(f"{stage} ({', '.join(reasons)})" for stage, reasons in stale.items())
    return (
        f"warning: dvc.lock is stale for what is committed: {named}. Run `make repro` "
        "(`make repro P=<project>`), then `git add dvc.lock metrics` and commit again"
    )


def project_targets(stages: Iterable[str], project: str) -> list[str]:
    """The stages of ``project`` (named ``<project>-...``, as `make repro P=` selects them)."""
    return [name for name in stages if name.startswith(f"{project}-")]


def exp_command(root: Path, project: str, args: str) -> list[str]:
    """`dvc exp run` of ``project``'s stages (DVC adds the shared stages they need) with the
    options ``args`` (shell words: `-S key=value`, `--queue`, `-n name`...)."""
    targets = project_targets(read_pipeline(root).get("stages") or {}, project)
    if not targets:
        raise WorkspaceError(f"P={project}: dvc.yaml has no stage named '{project}-...'")
    try:
        options = shlex.split(args)
    except ValueError as error:
        raise WorkspaceError(f"ARGS={args}: {error} (quote as in a shell)") from None
    return ["dvc", "exp", "run", *targets, *options]


def guard(root: Path) -> None:
    """Raise when the workspace is left by an interrupted experiment."""
    problem = workspace_problem(root)
    if problem:
        raise WorkspaceError(problem)


def main(argv: list[str] | None = None, root: Path = Path(".")) -> int:
    """guard | stale-lock | exp PROJECT ARGS; one line and exit 1 on a problem."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if args == ["guard"]:
            guard(root)
            return 0
        if args == ["stale-lock"]:
            # Through this interpreter: a Git hook runs without .venv/bin on PATH.
            status = subprocess.run(
                [sys.executable, "-m", "dvc", "status", "--json"],
                cwd=root, capture_output=True, text=True, check=False,
            )  # fmt: skip
            # No verdict without DVC's: a broken dvc.yaml is dvc-lint's to report.
            if status.returncode == 0:
                lock = root / "dvc.lock"
                document = YAML(typ="safe").load(lock) if lock.is_file() else None
                locked = (document or {}).get("stages", {})
                warning = stale_warning(stale_stages(json.loads(status.stdout or "{}"), locked))
                if warning:
                    print(warning)
            return 0
        if len(args) == 3 and args[0] == "exp":
            command = exp_command(root, args[1], args[2])
            guard(root)
            print(shlex.join(command), flush=True)
            os.execvp(command[0], command)
    except (WorkspaceError, ValueError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    print(
        "usage: python -m tools.checks.workspace guard | stale-lock | exp PROJECT ARGS",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
