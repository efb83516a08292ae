"""Run one stage module under a Python audit hook that records every file it opens and every
network connection it tries, then write them to a JSON file for the test to judge.

    python tests/audit_stage.py REPORT.json stages.late.train [ARGS...]

Run from the project directory, as DVC runs a stage. The hook records; it does not judge, so the
stage runs to its end and the test sees every undeclared read at once (tests/pipeline/
test_audit.py compares them with what dvc.yaml declares).
"""

from __future__ import annotations

import json
import os
import runpy
import sys

# Audit events of a network connection or name lookup (socket module and its C core).
NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.bind")


def main() -> None:
    """Install the hook, run the stage as ``python -m`` would, write the report at exit."""
    report, module, *arguments = sys.argv[1:]
    opened: list[tuple[str, str]] = []
    network: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, str | bytes | os.PathLike):
                opened.append((os.path.abspath(os.fsdecode(path)), str(mode or "r")))
        elif event in NETWORK_EVENTS:
            network.append(f"{event} {args[1:] if event == 'socket.connect' else args}")

    def write_report() -> None:
        with open(report, "w", encoding="utf-8") as handle:
            json.dump({"opened": opened, "network": network}, handle)

    sys.argv = [module, *arguments]
    sys.path.insert(0, os.getcwd())  # as `python -m` puts the working directory first
    sys.addaudithook(hook)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        # The report's own open comes last: the test drops it by name.
        write_report()


if __name__ == "__main__":
    main()
