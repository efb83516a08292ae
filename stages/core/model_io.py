"""Save and load scikit-learn models with skops, byte for byte reproducibly.

``skops.io.dumps`` is not byte-stable: its zip entries carry the time of writing, ``schema.json``
holds Python object ids (``__id__``) and the arrays are stored as ``<id>.npy``.
``stable_skops_bytes`` renumbers the ids in first-seen order, renames the array files to match,
and writes the entries sorted with a fixed time: the same model gives the same bytes, and loads.
``fit_reproducibly`` fits on a fixed number of threads, so that the same data and params give
the same model on every machine.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import skops.io as sio
from sklearn.pipeline import Pipeline
from skops.io.exceptions import UntrustedTypesFoundException
from threadpoolctl import threadpool_limits

from stages.core.errors import StageError
from stages.core.io import write_bytes_atomic

SCHEMA_ENTRY = "schema.json"
# The earliest time a zip entry can carry; any fixed value would do.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# The most a model archive may unpack to. The models here unpack to a few MB; a file declaring
# more is refused before skops reads it into memory.
MAX_MODEL_BYTES = 256 * 1024 * 1024
# The steps of every project's Pipeline: the encoding of the features, then the estimator.
PIPELINE_STEPS = ("encode", "model")
# Types that the Pipelines built from ``stages.core.pipelines`` (boosting) and scikit-learn's
# linear models are made of and skops does not trust by default; a project whose models hold
# more adds to them.
PIPELINE_TRUSTED_TYPES = (
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)

# The threads every fit runs on. Gradient boosting sums gradients thread by thread, so the model
# it fits (and its metrics, in the last digits) depends on how many threads there were: left to
# scikit-learn that is the machine's physical cores, and a four-core laptop would fit another
# model than the two-core machine that computed dvc.lock. Two is what dvc.lock was computed with.
FIT_THREADS = 2


def fit_reproducibly(model: Pipeline, features: Any, target: Any) -> Pipeline:
    """``model.fit(features, target)`` on FIT_THREADS threads (OpenMP and BLAS) on any machine,
    whatever its cores or the caller's thread settings; the caller's settings are restored."""
    # With OMP_NUM_THREADS set, scikit-learn takes OpenMP's limit as it is instead of capping it
    # at the physical cores, so a one-core machine fits on two threads too.
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(FIT_THREADS)
    try:
        with threadpool_limits(limits=FIT_THREADS):
            return model.fit(features, target)
    finally:
        if saved is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = saved


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


def _archive_problem(path: Path, max_bytes: int) -> str | None:
    """Why the file at ``path`` is not a skops archive this loader will open, or None."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        return f"not a skops model file ({error})"
    if SCHEMA_ENTRY not in {entry.filename for entry in entries}:
        return f"not a skops model file (it has no {SCHEMA_ENTRY})"
    declared = sum(entry.file_size for entry in entries)
    if declared > max_bytes:
        # A zip bomb: skops would unpack it in memory before looking at any type.
        return (
            f"refusing to load: its entries unpack to {declared:,} bytes, more than any model "
            f"here ({max_bytes:,})"
        )
    return None


def load_model(path: str | Path, trusted: Sequence[str], max_bytes: int = MAX_MODEL_BYTES) -> Any:
    """Load a skops model, refusing files that hold any type skops does not trust by default
    other than ``trusted``: the few types a project's models are made of, so that a tampered
    model cannot run code. Anything that is not a sound skops archive (empty, truncated, not a
    zip, a directory, no schema, bad JSON, object arrays, entries unpacking to more than
    ``max_bytes``) stops with one line naming the file."""
    path = Path(path)
    if not path.exists():
        raise StageError(f"{path}: model file not found (run the train stage first)")
    if path.is_dir():
        raise StageError(f"{path}: is a directory, not a model file")
    problem = _archive_problem(path, max_bytes)
    if problem:
        raise StageError(f"{path}: {problem}; re-run the train stage, or give a .skops file")
    # One pass: ``load`` audits the file before it builds anything and raises on any type not
    # trusted (``get_untrusted_types`` first would read and audit the file a second time).
    try:
        return sio.load(path, trusted=list(trusted))
    except UntrustedTypesFoundException as error:
        # The first line lists the types; skops's advice after it is about its own API.
        raise StageError(f"{path}: refusing to load. {str(error).splitlines()[0]}") from None
    except Exception as error:  # a damaged archive fails deep in skops or numpy, in many ways
        raise StageError(
            f"{path}: cannot load the model ({type(error).__name__}: {error}); re-run the "
            "train stage, or give a .skops file"
        ) from None


def load_pipeline(path: str | Path, trusted: Sequence[str], project: str) -> Pipeline:
    """Load a project's model with ``load_model``; StageError naming the file when it holds
    anything but what every project trains: a scikit-learn Pipeline with the steps ``encode``
    and ``model`` (``stages.core.pipelines``)."""
    model = load_model(path, trusted)
    if not isinstance(model, Pipeline) or list(model.named_steps) != list(PIPELINE_STEPS):
        raise StageError(
            f"{path}: holds a {type(model).__name__}, not a model of project {project} (a "
            "scikit-learn Pipeline with the steps encode and model); re-run its train stage"
        )
    return model
