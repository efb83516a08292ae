"""DVC's hashes, computed the way DVC computes them: a file's MD5, and a directory's ``<md5>.dir``
(what ``dvc.lock`` and ``.dvc`` files record). Standard library only, so that a tool checking the
source data (``tools.storage.source_data``) starts in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from stages.core.errors import StageError


def md5_of_file(path: Path) -> str:
    """The MD5 of a file's bytes: DVC's hash of a file output."""
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_listing_hash(files: Mapping[str, str]) -> str:
    """DVC's hash of a directory (``<md5>.dir``) from its files' MD5s by relative path: the MD5
    of the JSON list of paths and MD5s, sorted by path."""
    entries = [{"md5": md5, "relpath": name} for name, md5 in sorted(files.items())]
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing).hexdigest() + ".dir"


def dvc_dir_hash(directory: Path) -> str:
    """DVC's hash of a directory output, as ``dvc.lock`` and ``.dvc`` files record it."""
    files = {
        path.relative_to(directory).as_posix(): md5_of_file(path)
        for path in directory.rglob("*")
        if path.is_file()
    }
    if not files:
        raise StageError(f"{directory}: no files to hash (run the stage that writes it first)")
    return dvc_listing_hash(files)
