"""Stage ``ingest``, shared by every project: read the five source tables, check their schemas,
write Parquet and the statistics of this data version.

Reads ``ingest.source``: a directory inside the repository (``data/source/<name>``) that DVC
tracks (a ``.dvc`` file from ``dvc add``, ``dvc import-url`` or ``dvc import``), holding
``<table>.csv`` (or ``.csv.gz``, ``.csv.zip``) for each table. ``dvc.yaml`` declares that
directory as the stage's dependency (``${ingest.source}``), so a changed byte in it re-runs the
stage; a URL or a path outside the repository, which DVC could not see, is refused. Writes
``data/raw/<table>.parquet``, all or nothing, and ``metrics/ingest.json``: per table its rows,
missing share and range of each column, per source file its bytes, rows and MD5, so that
``dvc metrics diff`` shows how the data moved between commits.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from stages.core.errors import StageError, run_stage
from stages.core.hashing import md5_of_file
from stages.core.io import read_csv_as_strings, write_json, write_parquet_dir
from stages.core.params import load_params
from stages.core.tables import DATE_COLUMNS, check_dates, parse_table
from stages.raw import INGEST_METRICS_FILE, RAW_DIR, RAW_TABLES, IngestParams

log = logging.getLogger("stages.ingest")

CSV_SUFFIXES = {".csv": None, ".csv.gz": "gzip", ".csv.zip": "zip"}
# Digits kept of a missing share: enough to see one row move in a million.
SHARE_DIGITS = 6
HOW_TO_IMPORT = (
    "bring the data into the repository with `make data-import URL=<url> NAME=<name>` "
    "(dvc import-url) and set ingest.source to data/source/<name> (docs/data.md)"
)


def source_directory(source: str, root: Path = Path()) -> Path:
    """The directory ``ingest.source`` names, as a path relative to the repository ``root``.

    A URL or a path outside the repository is refused: DVC tracks neither, so a change there
    would leave every stage "up to date" and the run-cache would restore another source's outputs.
    """
    path = PurePosixPath(source)
    if "://" in source or path.is_absolute() or ".." in path.parts:
        raise StageError(
            f"params.yaml: 'ingest.source' is {source!r}, outside the repository, where DVC "
            f"cannot see a change; {HOW_TO_IMPORT}"
        )
    if not (root / source).is_dir():
        tracked = (root / f"{source}.dvc").is_file()
        way = (
            f"`make pull` or `dvc checkout {source}.dvc` restores it" if tracked else HOW_TO_IMPORT
        )
        raise StageError(f"ingest.source: {source}: no such directory; {way}")
    return Path(source)


def find_table_file(root: Path, table: str) -> tuple[Path, str | None]:
    """The path of ``table``'s CSV under ``root`` and its compression; StageError if absent."""
    for suffix, compression in CSV_SUFFIXES.items():
        path = root / f"{table}{suffix}"
        if path.is_file():
            return path, compression
    names = ", ".join(table + suffix for suffix in CSV_SUFFIXES)
    raise StageError(f"{root}: table '{table}' not found (looked for {names})")


def sample_flights(flights: pd.DataFrame, frac: float, seed: int) -> pd.DataFrame:
    """A deterministic ``frac`` sample of ``flights`` in the original row order (all when 1.0)."""
    if frac >= 1.0:
        return flights
    return flights.sample(frac=frac, random_state=seed).sort_index()


def read_table_file(path: Path, compression: str | None, table: str) -> pd.DataFrame:
    """One source table, parsed against its schema and checked."""
    schema = RAW_TABLES[table]
    with path.open("rb") as handle:
        (raw,) = read_csv_as_strings(handle, str(path), compression)
    parsed = parse_table(raw, schema, str(path))
    if set(DATE_COLUMNS) <= set(schema):
        check_dates(parsed, str(path), "lines")
    return parsed.reset_index(drop=True)


def file_facts(path: Path, rows: int) -> dict[str, Any]:
    """What identifies a source file's version: its bytes, MD5 (as DVC hashes it) and rows."""
    return {"bytes": path.stat().st_size, "md5": md5_of_file(path), "rows": rows}


def read_source(root: Path) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Every table of ``RAW_TABLES`` from the directory ``root``, parsed and checked, and the
    facts of each file read, by file name."""
    tables, files = {}, {}
    for table in RAW_TABLES:
        path, compression = find_table_file(root, table)
        tables[table] = read_table_file(path, compression, table)
        files[path.name] = file_facts(path, len(tables[table]))
        log.info("%s: %d rows", path, len(tables[table]))
    return tables, files


def column_statistics(column: pd.Series) -> dict[str, Any]:
    """A column's missing share and, for a number, its smallest and largest value."""
    facts: dict[str, Any] = {"missing": round(float(column.isna().mean()), SHARE_DIGITS)}
    if pd.api.types.is_numeric_dtype(column) and column.notna().any():
        low, high = column.min(), column.max()
        facts |= {"min": low.item(), "max": high.item()}
    return facts


def table_statistics(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Per table, its rows and each column's statistics: small numbers that say how a data
    version differs from another in ``dvc metrics diff``."""
    return {
        name: {
            "rows": len(frame),
            "columns": {str(c): column_statistics(frame[c]) for c in frame.columns},
        }
        for name, frame in tables.items()
    }


def run(tables: dict[str, pd.DataFrame], params: IngestParams) -> dict[str, pd.DataFrame]:
    """The raw tables as the pipeline keeps them: the flights sampled by ``params``."""
    return {**tables, "flights": sample_flights(tables["flights"], params.sample_frac, params.seed)}


def main() -> None:
    """Read, check and sample the tables, then write them all to data/raw with their statistics."""
    params = load_params("ingest", IngestParams)
    tables, files = read_source(source_directory(params.source))
    kept = run(tables, params)
    log.info("kept %d flights (sample_frac=%s)", len(kept["flights"]), params.sample_frac)
    statistics = {"files": files, "tables": table_statistics(kept)}
    write_parquet_dir(RAW_DIR, kept)
    write_json(INGEST_METRICS_FILE, statistics)


if __name__ == "__main__":
    run_stage(main)
