"""The error type for problems a user can fix, and how a stage reports it."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger("stages")


class StageError(Exception):
    """Bad input data or params: reported as one clear message, without a traceback."""


# The exit status of a process stopped by SIGTERM, as a shell reports it (128 + 15).
SIGTERM_EXIT = 128 + signal.SIGTERM


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit, so that every ``finally`` and cleanup handler runs (as
    KeyboardInterrupt does on SIGINT) and no temporary file is left behind."""
    log.error("stopped by signal %d; partial outputs removed", signum)
    sys.exit(SIGTERM_EXIT)


# DVC sets this in the environment of every stage command it runs.
DVC_STAGE_VARIABLE = "DVC_STAGE"
# How often a stage DVC started checks that DVC is still there.
PARENT_POLL_S = 1.0


# How many processes may stand between a stage and DVC (DVC starts the command through
# $SHELL; dash, Debian's /bin/sh, does not exec the command but waits for it).
MAX_ANCESTORS = 8


def _parent_of(pid: int) -> int | None:
    """The parent of a running process, from /proc; None when it has gone or /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the rest follows the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def _runs_stage(pid: int, stage: str) -> bool:
    """Whether a process was started for this stage (its environment names it, as DVC sets it
    for the stage command and the shell that runs it, not for itself)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{DVC_STAGE_VARIABLE}={stage}".encode() in environ.split(b"\0")


def ancestry_to_dvc(stage: str) -> list[tuple[int, int]]:
    """(process, parent) pairs from this process up to the DVC process that started the stage:
    the shell between them, if any, included. Each parent must stay as recorded: once one is
    not, a process in between has gone."""
    chain = [(os.getpid(), os.getppid())]
    while len(chain) < MAX_ANCESTORS and _runs_stage(chain[-1][1], stage):
        grandparent = _parent_of(chain[-1][1])
        if grandparent is None:
            break
        chain.append((chain[-1][1], grandparent))
    return chain


def ancestry_intact(chain: list[tuple[int, int]]) -> bool:
    """Whether every process of ``chain`` still has the parent it had."""
    if os.getppid() != chain[0][1]:
        return False
    return all(_parent_of(pid) == recorded for pid, recorded in chain[1:])


def _stop_when_orphaned(chain: list[tuple[int, int]], poll_s: float) -> None:
    """Watch the processes from this one up to the DVC process that started it; once DVC has
    gone (a queue worker or `dvc exp run` killed, which DVC cannot clean up after), SIGTERM this
    process, so that it stops as on SIGTERM, partial outputs removed, instead of running on,
    orphaned, in a workspace DVC may already have deleted."""
    while ancestry_intact(chain):
        time.sleep(poll_s)
    log.error("the DVC process that started this stage (pid %d) has gone; stopping", chain[-1][1])
    os.kill(os.getpid(), signal.SIGTERM)


HELP_FLAGS = ("-h", "--help")


def stage_usage(module: str, doc: str | None, root: Path) -> str:
    """How a stage is run and what it does: its docstring, then what dvc.yaml at ``root`` says
    it reads (data, not code), writes and which params it declares."""
    from stages.core.dvc_yaml import read_pipeline, stage_command, stage_outputs

    lines = [f"usage: python -m {module}   (no arguments: run by dvc repro / make repro)", ""]
    lines += [(doc or "").strip(), ""]
    pipeline = read_pipeline(root)
    for name, stage in (pipeline.get("stages") or {}).items():
        if stage_command(pipeline, name)[:3] != ["python", "-m", module]:
            continue
        data = [
            str(d) for d in stage.get("deps") or []
            if not str(d).startswith(("stages/", "requirements/"))
        ]  # fmt: skip
        lines += [
            f"dvc.yaml stage {name}:",
            f"  reads:  {', '.join(data) or '-'}",
            f"  writes: {', '.join(stage_outputs(pipeline)[name]) or '-'}",
            f"  params: {', '.join(map(str, stage.get('params') or [])) or '-'} (params.yaml)",
        ]
    return "\n".join(lines).rstrip() + "\n"


def refuse_arguments(main: Callable[[], None], argv: list[str]) -> int | None:
    """For a stage that takes no arguments: its usage on stdout and 0 for ``--help``, on stderr
    and 2 for anything else, before it reads or writes a thing; None when there are none."""
    if not argv:
        return None
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    module = spec.name if spec is not None else main.__module__
    usage = stage_usage(module, sys.modules[main.__module__].__doc__, Path.cwd())
    if argv[0] in HELP_FLAGS and len(argv) == 1:
        sys.stdout.write(usage)
        return 0
    sys.stderr.write(f"{module}: takes no arguments (got {' '.join(argv)}); nothing was run\n\n")
    sys.stderr.write(usage)
    return 2


def run_stage(main: Callable[[], None], takes_arguments: bool = False) -> None:
    """Run a stage's ``main`` with logging to stderr; exit 1 with the message on a StageError;
    clean up and exit on SIGTERM as on SIGINT, and (started by DVC) when DVC has gone. A stage
    that takes no arguments (all but ``predict``) given some prints its usage and runs nothing."""
    if not takes_arguments:
        refused = refuse_arguments(main, sys.argv[1:])
        if refused is not None:
            sys.exit(refused)
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    stage = os.environ.get(DVC_STAGE_VARIABLE)
    if stage:
        # Only under DVC: a batch job a user starts with nohup may outlive its shell.
        watcher = threading.Thread(
            target=_stop_when_orphaned, args=(ancestry_to_dvc(stage), PARENT_POLL_S), daemon=True
        )
        watcher.start()
    try:
        main()
    except StageError as error:
        log.error("%s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        log.error("interrupted; partial outputs removed")
        sys.exit(128 + signal.SIGINT)
