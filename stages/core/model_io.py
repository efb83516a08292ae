"""Save and load scikit-learn models with skops, byte for byte reproducibly.

``skops.io.dumps`` is not byte-stable: its zip entries carry the time of writing, ``schema.json``
holds Python object ids (``__id__``) and the arrays are stored as ``<id>.npy``.
``stable_skops_bytes`` renumbers the ids in first-seen order, renames the array files to match,
and writes the entries sorted with a fixed time: the same model gives the same bytes, and loads.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from stages.core.errors import StageError
from stages.core.io import write_bytes_atomic

SCHEMA_ENTRY = "schema.json"
# The earliest time a zip entry can carry; any fixed value would do.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _renumber(node: Any, new_ids: dict[int, int]) -> Any:
    """Copy of a skops schema node with every object id replaced by its first-seen number."""
    if isinstance(node, dict):
        renumbered = {}
        for key, value in node.items():
            if key == "__id__":
                renumbered[key] = new_ids.setdefault(value, len(new_ids))
            elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                old = int(value.removesuffix(".npy"))
                renumbered[key] = f"{new_ids.setdefault(old, len(new_ids))}.npy"
            else:
                renumbered[key] = _renumber(value, new_ids)
        return renumbered
    if isinstance(node, list):
        return [_renumber(item, new_ids) for item in node]
    return node


def stable_skops_bytes(raw: bytes) -> bytes:
    """Rewrite a skops archive so that it depends only on the model, not on when or where it ran."""
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    new_ids: dict[int, int] = {}
    schema = _renumber(json.loads(entries.pop(SCHEMA_ENTRY)), new_ids)
    renamed = {SCHEMA_ENTRY: json.dumps(schema, sort_keys=True).encode()}
    for name, data in entries.items():
        old = int(name.removesuffix(".npy"))
        renamed[f"{new_ids[old]}.npy"] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, renamed[name])
    return buffer.getvalue()


def model_bytes(model: Any) -> bytes:
    """``model`` as the bytes of a byte-stable skops file."""
    return stable_skops_bytes(sio.dumps(model))


def save_model(model: Any, path: Path) -> None:
    """Save ``model`` to ``path`` as a byte-stable skops file, atomically."""
    write_bytes_atomic(path, model_bytes(model))


def load_model(path: Path, trusted: Sequence[str]) -> Any:
    """Load a skops model, refusing files that hold any type skops does not trust by default
    other than ``trusted``: the few types a project's models are made of, so that a tampered
    model cannot run code."""
    if not path.exists():
        raise StageError(f"{path}: model file not found (run the train stage first)")
    # One pass: ``load`` audits the file before it builds anything and raises on any type not
    # trusted (``get_untrusted_types`` first would read and audit the file a second time).
    try:
        return sio.load(path, trusted=list(trusted))
    except UntrustedTypesFoundException as error:
        # The first line lists the types; skops's advice after it is about its own API.
        raise StageError(f"{path}: refusing to load. {str(error).splitlines()[0]}") from None
