"""The stage runner: a StageError is one line and exit 1; SIGTERM cleans up; a stage DVC started
stops once DVC has gone (a killed queue worker or `dvc exp run`), instead of running on orphaned.
Driven through real `dvc repro` in a temporary repository."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages.core.errors import StageError, ancestry_intact, ancestry_to_dvc, run_stage
from tests.conftest import REPO_ROOT, Repo

# A stage that says it started, then works for a minute; its `finally` shows the clean-up ran.
SLOW_STAGE = """
import os, sys, time
from pathlib import Path
from stages.core.errors import run_stage

def main():
    Path("started").write_text(str(os.getpid()))
    try:
        time.sleep(60)
    finally:
        Path("cleaned").write_text("yes")

run_stage(main)
"""


def alive(pid: int) -> bool:
    """Whether a process is still running (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(condition, timeout_s: float) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# DVC runs a command through $SHELL (/bin/sh when unset, as on CI): bash execs the command,
# dash (Debian's /bin/sh) stays between DVC and the stage.
@pytest.mark.pipeline
@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
def test_a_stage_stops_and_cleans_up_when_the_dvc_process_running_it_is_killed(
    tmp_path: Path, shell: str
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.root.mkdir()
    repo.run("git", "init", "-q")
    repo.run("dvc", "init", "-q")
    (repo.root / "slow.py").write_text(SLOW_STAGE)
    (repo.root / "dvc.yaml").write_text(
        "stages:\n  slow:\n    cmd: python slow.py\n    outs:\n      - out\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "SHELL": shell,
    }
    dvc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro"], cwd=repo.root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert wait_for((repo.root / "started").exists, 60), "the stage never started"
        stage = int((repo.root / "started").read_text())
        assert alive(stage)
        dvc.send_signal(signal.SIGKILL)  # as a killed queue worker: no chance to clean up
        dvc.wait()
        assert wait_for(lambda: not alive(stage), 15), "the stage ran on, orphaned"
        assert (repo.root / "cleaned").read_text() == "yes"
    finally:
        dvc.kill()
        if (repo.root / "started").exists() and alive(int((repo.root / "started").read_text())):
            os.kill(int((repo.root / "started").read_text()), signal.SIGKILL)


def test_a_process_not_started_for_the_stage_ends_the_ancestry() -> None:
    """The chain stops at the first ancestor whose environment does not name the stage (DVC)."""
    assert ancestry_to_dvc("no-such-stage") == [(os.getpid(), os.getppid())]
    assert ancestry_intact(ancestry_to_dvc("no-such-stage"))
    assert not ancestry_intact([(os.getpid(), os.getppid() + 1)])


def test_a_stage_run_by_hand_is_not_watched(tmp_path: Path) -> None:
    """Without DVC (a batch job under nohup), losing the parent does not stop the stage."""
    script = (
        "import os, subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {SLOW_STAGE!r}],\n"
        "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DVC_STAGE"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    parent = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    stage = int(parent.stdout)
    try:
        assert wait_for((tmp_path / "started").exists, 30)
        time.sleep(2.5)  # over two polls of a watcher, had there been one
        assert alive(stage)
    finally:
        os.kill(stage, signal.SIGKILL)


def test_a_stage_error_is_one_line_and_exit_1(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def main() -> None:
        raise StageError("in.csv: column 'x' is missing")

    monkeypatch.setattr(sys, "argv", ["stage"])  # pytest's own arguments are not the stage's
    with pytest.raises(SystemExit) as exit_info:
        run_stage(main)
    assert exit_info.value.code == 1
    assert [r.getMessage() for r in caplog.records] == ["in.csv: column 'x' is missing"]


@pytest.mark.parametrize(
    ("module", "args", "code"),
    [
        ("stages.ingest", ["--help"], 0),
        ("stages.late.train", ["--foo"], 2),
        ("stages.daily.evaluate", ["-h"], 0),
        ("stages.late.card", ["extra", "words"], 2),
    ],
)
def test_a_stage_given_arguments_prints_its_usage_and_touches_nothing(
    tmp_path: Path, module: str, args: list[str], code: int
) -> None:
    """`python -m stages.ingest --help` used to run ingest and rewrite data/raw."""
    shutil.copy(REPO_ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, check=False,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    usage = result.stdout if code == 0 else result.stderr
    assert f"usage: python -m {module}   (no arguments: run by dvc repro / make repro)" in usage
    assert "  reads:  " in usage and "  writes: " in usage and "(params.yaml)" in usage
    if code:
        assert usage.startswith(f"{module}: takes no arguments (got {' '.join(args)}); nothing")
    assert "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["dvc.yaml"]  # nothing read, nothing written
