"""The error type for problems a user can fix, and how a stage reports it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger("stages")


class StageError(Exception):
    """Bad input data or params: reported as one clear message, without a traceback."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with logging to stderr; exit 1 with the message on a StageError."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        main()
    except StageError as error:
        log.error("%s", error)
        sys.exit(1)
