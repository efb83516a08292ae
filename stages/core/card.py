"""What a model card is made of, whatever the project: the DVC hashes of the data and model
files (as ``dvc.lock`` records them), the library versions, and a metrics table. Each project
writes its own card's words around these facts.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from stages.core.errors import StageError


def md5_of_file(path: Path) -> str:
    """The MD5 of a file's bytes: DVC's hash of a file output."""
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_dir_hash(directory: Path) -> str:
    """DVC's hash of a directory output, as ``dvc.lock`` records it (``<md5>.dir``): the MD5 of
    the JSON list of its files' relative paths and MD5s, sorted by path."""
    entries = sorted(
        (
            {"md5": md5_of_file(path), "relpath": path.relative_to(directory).as_posix()}
            for path in directory.rglob("*")
            if path.is_file()
        ),
        key=lambda entry: entry["relpath"],
    )
    if not entries:
        raise StageError(f"{directory}: no files to hash (run the stage that writes it first)")
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing).hexdigest() + ".dir"


def library_versions(names: list[str]) -> dict[str, str]:
    """Installed versions of ``names``, and of Python itself."""
    return {"python": platform.python_version(), **{name: metadata.version(name) for name in names}}


def metrics_table(metrics: Mapping[str, Mapping[str, Any]], names: list[str]) -> str:
    """The metrics as a Markdown table, one row per split, one column per name in ``names``
    that the first split has."""
    first = next(iter(metrics.values()))
    names = [name for name in names if name in first]
    lines = ["| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for split, values in metrics.items():
        lines.append(f"| {split} | " + " | ".join(str(values[name]) for name in names) + " |")
    return "\n".join(lines)
