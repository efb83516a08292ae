"""The workspace against a base revision, per project: what `make gate` and `make report` read.

Params and metrics come from `dvc params diff` and `dvc metrics diff` (so they mean exactly what
DVC shows), and each is assigned to its project: params by their top-level section
(`late.train.seed` -> late), metrics by their folder (`metrics/daily/...` -> daily).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath

# Where a branch's base is looked for, in order: the local main branch, then the remote's (a CI
# checkout of a pull request often has only the latter).
MAIN_BRANCHES = ("main", "origin/main")


class CompareError(Exception):
    """A revision or a DVC command that cannot be compared; the message says what to do."""


@dataclass(frozen=True)
class Change:
    """One param or metric: its project, name, value at the base and now (None when absent)."""

    project: str
    name: str
    old: object
    new: object

    @property
    def delta(self) -> float | None:
        """new - old for two numbers, else None."""
        if is_number(self.old) and is_number(self.new):
            return round(float(self.new) - float(self.old), 12)
        return None


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def git(*args: str) -> str:
    """Run git; its stdout, stripped. A failure raises CompareError with git's own message."""
    result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CompareError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout.strip()


def default_base() -> str:
    """The merge base of HEAD with the main branch (local, else the remote's)."""
    for branch in MAIN_BRANCHES:
        try:
            return git("merge-base", "HEAD", branch)
        except CompareError:
            continue
    raise CompareError(
        f"no branch {' or '.join(MAIN_BRANCHES)} to compare with: pass BASE=<rev> "
        "(a commit, tag or branch)"
    )


def resolve(base: str) -> str:
    """The commit `base` names; a clear error when it names none."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except CompareError:
        raise CompareError(
            f"BASE={base} is not a commit here: pass a commit, tag or branch "
            "(git fetch first if it is on the remote)"
        ) from None


def dvc_json(*args: str) -> dict:
    """Run `dvc <args> --json` with this interpreter's DVC; the parsed output."""
    command = [sys.executable, "-m", "dvc", *args, "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise CompareError(f"dvc {' '.join(args)}: {last}")
    return json.loads(result.stdout or "{}")


def project_of_metrics_file(path: str) -> str:
    """`metrics/<project>/...` -> project; anything else is shared."""
    parts = PurePosixPath(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "metrics" else "shared"


def project_of_param(key: str) -> str:
    """`<project>.<stage>...` -> project (the shared `ingest` section is its own)."""
    return key.split(".", 1)[0]


def metric_changes(diff: dict) -> list[Change]:
    """`dvc metrics diff --all --json` as Changes named `<file>:<key>`, sorted by name (DVC's
    own order varies from run to run)."""
    return sorted(
        (
            Change(project_of_metrics_file(path), f"{path}:{key}", v.get("old"), v.get("new"))
            for path, keys in diff.items()
            for key, v in keys.items()
        ),
        key=lambda change: change.name,
    )


def param_changes(diff: dict) -> list[Change]:
    """`dvc params diff --json` as Changes named by their key, sorted by key."""
    return sorted(
        (
            Change(project_of_param(key), key, values.get("old"), values.get("new"))
            for keys in diff.values()
            for key, values in keys.items()
        ),
        key=lambda change: change.name,
    )


def read_metrics(base: str, head: str | None = None) -> list[Change]:
    """Every metric of `base` (old) and of `head` (new; None: the workspace), changed or not."""
    return metric_changes(dvc_json("metrics", "diff", base, *([head] if head else []), "--all"))


def read_params(base: str) -> list[Change]:
    """The params that differ between `base` and the workspace."""
    return param_changes(dvc_json("params", "diff", base))
