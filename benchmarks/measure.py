"""Timing and peak memory of a command run as its own process, and the machine it ran on.

Shared by the benchmark scripts. Peak memory is the largest resident set size of the process and
of any process it waited for (``ru_maxrss``: the maximum, not the sum). A child starts as a copy
of its parent, and that copy's pages count towards its peak until it executes the command; so the
command is started by a small launcher process, never by the benchmark (whose own memory grows
with the data it prepares), and the launcher reports its children's peak.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
PEAK_PREFIX = "PEAK_KIB="
# Runs argv[1:] and reports the largest resident set of its process tree, on stderr's last line.
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    f"print('{PEAK_PREFIX}%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class Run:
    """One run of a command: wall time, peak memory, and what it printed to stderr."""

    seconds: float
    peak_bytes: int
    stderr: str


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to completion; raise with its stderr if it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *command],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    stderr, _, peak_line = result.stderr.rstrip("\n").rpartition("\n")
    if result.returncode != 0 or not peak_line.startswith(PEAK_PREFIX):
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    peak_kib = int(peak_line.removeprefix(PEAK_PREFIX))  # ru_maxrss is in KiB on Linux
    return Run(seconds, peak_kib * 1024, stderr)


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def machine() -> str:
    """A line describing this machine: CPU model and count, memory, Python."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f", {total_kib / MIB:.0f} GiB RAM"
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
