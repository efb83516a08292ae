"""Copy this project's source files into a fresh directory: what a clone would hold, without its
data, models, lock file or metrics. The pipeline tests and the benchmarks run real ``dvc`` there,
never in the working copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def tracked_files(root: Path) -> list[str]:
    """Files Git tracks or would track in ``root`` (committed, staged or new but not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [name for name in listing.split("\0") if name and (root / name).is_file()]


def copy_project(target: Path, source: Path = REPO_ROOT) -> None:
    """Copy the project's source files (no data, models, lock or metrics) to ``target``."""
    for name in tracked_files(source):
        if name == "dvc.lock" or name.startswith("metrics/"):
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, destination)
