"""The error type for problems a user can fix, and how a stage reports it."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
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


def _stop_when_orphaned(parent: int, poll_s: float) -> None:
    """Watch the process that started this one; once it has gone (a queue worker or `dvc exp
    run` killed, which DVC cannot clean up after), SIGTERM this process, so that it stops as on
    SIGTERM, partial outputs removed, instead of running on, orphaned, in a workspace DVC may
    already have deleted."""
    while os.getppid() == parent:
        time.sleep(poll_s)
    log.error("the DVC process that started this stage (pid %d) has gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with logging to stderr; exit 1 with the message on a StageError;
    clean up and exit on SIGTERM as on SIGINT, and (started by DVC) when DVC has gone."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if os.environ.get(DVC_STAGE_VARIABLE):
        # Only under DVC: a batch job a user starts with nohup may outlive its shell.
        watcher = threading.Thread(
            target=_stop_when_orphaned, args=(os.getppid(), PARENT_POLL_S), daemon=True
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
