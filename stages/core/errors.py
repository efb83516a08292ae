"""The error type for problems a user can fix, and how a stage reports it."""

from __future__ import annotations

import logging
import signal
import sys
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


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with logging to stderr; exit 1 with the message on a StageError;
    clean up and exit on SIGTERM as on SIGINT."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        main()
    except StageError as error:
        log.error("%s", error)
        sys.exit(1)
    except KeyboardInterrupt:
        log.error("interrupted; partial outputs removed")
        sys.exit(128 + signal.SIGINT)
