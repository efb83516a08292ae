"""Two `make repro` at once in one workspace, for real: the one that does not get DVC's lock
changes no file (the other's deleted outputs are the other's), and the first completes; and a
params.yaml alias bomb is refused in one line before DVC reads the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import Repo, run_make

pytestmark = pytest.mark.pipeline

# Long enough for a loaded 2-core machine to start DVC and reach the stage.
START_TIMEOUT_S = 120


def every_file_digest(root: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file of the work tree but Git's and DVC's own state
    (DVC's lock and temporary files change when a run is refused; no output does)."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".git/", ".dvc/tmp/")) or not path.is_file():
            continue
        stat = path.stat()
        found[relative] = (stat.st_size, stat.st_mtime_ns)
    return found


def stage_process(make: subprocess.Popen, module: str) -> psutil.Process:
    """The process of ``make`` running ``python -m <module>``, once it has started."""
    deadline = time.monotonic() + START_TIMEOUT_S
    parent = psutil.Process(make.pid)
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            try:
                if module in child.cmdline():
                    return child
            except psutil.NoSuchProcess:
                continue
        if make.poll() is not None:
            raise AssertionError(f"make repro ended before {module} ran: {make.communicate()}")
        time.sleep(0.1)
    raise AssertionError(f"{module} did not start within {START_TIMEOUT_S} s")


def make_repro(repo: Repo) -> subprocess.Popen:
    """``make repro P=late`` started in ``repo``, as run_make runs make."""
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return subprocess.Popen(
        ["make", "--no-print-directory", "repro", "P=late", f"VENV={venv}", "INSTALLED="],
        cwd=repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_second_make_repro_while_one_runs_changes_no_file(repo: Repo) -> None:
    # late-evaluate re-runs, and DVC deletes its Git-tracked metrics before its command starts.
    repo.set_params({"late.evaluate": {"curve_points": 51}})
    first = make_repro(repo)
    evaluate = stage_process(first, "stages.late.evaluate")
    evaluate.send_signal(signal.SIGSTOP)  # the first run holds DVC's lock, mid-stage
    try:
        before_status = repo.run("git", "status", "--porcelain").stdout
        before = every_file_digest(repo.root)
        assert " D metrics/late/metrics.json" in before_status  # deleted by the first run
        second = run_make(repo.root, "repro", "P=late")
        assert second.returncode != 0
        assert "another make repro is running in this workspace" in second.stderr, second.stderr
        assert "restored" not in second.stderr
        assert repo.run("git", "status", "--porcelain").stdout == before_status
        assert every_file_digest(repo.root) == before
    finally:
        evaluate.send_signal(signal.SIGCONT)
    out, err = first.communicate(timeout=START_TIMEOUT_S * 3)
    assert first.returncode == 0, out + err
    assert "Running stage 'late-evaluate'" in out


def test_a_params_alias_bomb_stops_make_repro_in_one_line_with_nothing_run(repo: Repo) -> None:
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    params = repo.root / "params.yaml"
    params.write_text(params.read_text() + "bomb:\n" + "\n".join(lines) + "\n")
    before = every_file_digest(repo.root)
    started = time.monotonic()
    result = run_make(repo.root, "repro")
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert errors == [
        "params.yaml: section 'bomb' expands to more than 100,000 values through YAML aliases "
        "(*name of an &name anchor): an alias bomb? Write the values out; nothing was run"
    ]
    assert "Running stage" not in result.stdout
    assert every_file_digest(repo.root) == before
    # DVC's loader was still expanding after 120 s; the check answers before DVC starts. Bounded
    # loosely: this is a guard against a hang, not a timing.
    assert elapsed < 30
