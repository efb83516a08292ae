"""Timing and peak memory of a command run as its own process, and the machine it ran on.

Shared by the benchmark scripts. Peak memory is the largest resident set size of the process and
of any process it waited for (``wait4``'s ``ru_maxrss``: the maximum, not the sum).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    """One run of a command: wall time, peak memory, and what it printed to stderr."""

    seconds: float
    peak_bytes: int
    stderr: str


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to completion; raise with its stderr if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr}")
    return Run(seconds, usage.ru_maxrss * 1024, stderr)  # ru_maxrss is in KiB on Linux


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
