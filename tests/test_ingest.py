"""ingest: finding, reading, checking and sampling the raw tables, their statistics; bad sources,
and sources DVC cannot see, stop cleanly."""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.core.errors import StageError
from stages.core.hashing import md5_of_file
from stages.core.io import read_csv_as_strings
from stages.ingest import (
    column_statistics,
    find_table_file,
    read_source,
    sample_flights,
    source_directory,
    table_statistics,
)
from tests.conftest import make_raw_tables, run_module, write_csv_source, write_params

# Where the tests put a source directory, relative to their project directory.
SOURCE = "data/source/test"


@pytest.mark.parametrize(
    "source", ["s3://bucket/flights", "https://example.com/data", "/abs/dir", "../elsewhere",
               "data/../../up"],
)  # fmt: skip
def test_a_source_dvc_cannot_see_is_refused_with_the_way_in(tmp_path: Path, source: str) -> None:
    with pytest.raises(StageError) as caught:
        source_directory(source, tmp_path)
    message = str(caught.value)
    assert f"'ingest.source' is {source!r}, outside the repository" in message
    assert "make data-import URL=<url> NAME=<name>" in message
    assert "set ingest.source to data/source/<name>" in message


def test_a_missing_source_says_how_to_bring_it(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"data/source/x: no such directory; bring the data"):
        source_directory("data/source/x", tmp_path)
    (tmp_path / "data" / "source").mkdir(parents=True)
    (tmp_path / "data" / "source" / "x.dvc").write_text("outs: []\n")
    with pytest.raises(
        StageError,
        match=r"no such directory; `make pull` or `dvc checkout data/source/x\.dvc` restores it",
    ):
        source_directory("data/source/x", tmp_path)


def test_a_source_inside_the_repository_is_its_relative_path(tmp_path: Path) -> None:
    (tmp_path / SOURCE).mkdir(parents=True)
    assert source_directory(SOURCE, tmp_path) == Path(SOURCE)


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
    path, compression = find_table_file(tmp_path, "airlines")
    assert path.name == f"airlines{suffix}"
    with path.open("rb") as handle:
        (frame,) = read_csv_as_strings(handle, str(path), compression)
    assert frame.index.tolist() == [2, 3]  # file line numbers
    assert frame["a"].tolist() == ["1", "2"]
    assert frame["b"].isna().tolist() == [True, False]


def test_missing_table_names_directory_and_candidates(tmp_path: Path) -> None:
    with pytest.raises(
        StageError, match=r"table 'planes' not found \(looked for planes\.csv, planes\.csv\.gz"
    ):
        find_table_file(tmp_path, "planes")


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
    write_csv_source(tmp_path / SOURCE, make_raw_tables(flights_per_month=5))
    write_params(tmp_path, {"ingest": {"source": SOURCE}})
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
    statistics = json.loads((source_project / "metrics" / "ingest.json").read_text())
    assert statistics["tables"]["flights"]["rows"] == 60
    facts = statistics["files"]["weather.csv"]
    assert facts["md5"] == md5_of_file(source_project / SOURCE / "weather.csv")
    assert facts["bytes"] == (source_project / SOURCE / "weather.csv").stat().st_size
    assert facts["rows"] == len(pd.read_csv(source_project / SOURCE / "weather.csv"))


def test_column_statistics_give_missing_share_and_range_of_numbers() -> None:
    numbers = pd.Series([1.0, np.nan, 3.0, 4.0])
    assert column_statistics(numbers) == {"missing": 0.25, "min": 1.0, "max": 4.0}
    assert column_statistics(pd.Series([2, 5])) == {"missing": 0.0, "min": 2, "max": 5}
    assert column_statistics(pd.Series(["a", None, None])) == {"missing": round(2 / 3, 6)}
    assert column_statistics(pd.Series([np.nan, np.nan])) == {"missing": 1.0}


def test_table_statistics_cover_every_table_and_column(raw_tables: dict[str, pd.DataFrame]) -> None:
    statistics = table_statistics(raw_tables)
    assert set(statistics) == set(raw_tables)
    for name, frame in raw_tables.items():
        assert statistics[name]["rows"] == len(frame)
        assert list(statistics[name]["columns"]) == list(frame.columns)
    # The synthetic planes have one unknown year in three.
    assert statistics["planes"]["columns"]["year"]["missing"] == round(1 / 3, 6)
    json.dumps(statistics, allow_nan=False)  # plain JSON numbers only


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
    path = source_project / SOURCE / f"{table}.csv"
    change(pd.read_csv(path, dtype=str, keep_default_na=False), path)
    result = run_module("ingest", source_project)
    assert result.returncode == 1
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert not (source_project / "data" / "raw").exists()
    assert not (source_project / "metrics").exists()


def test_bad_source_keeps_previous_outputs(source_project: Path) -> None:
    assert run_module("ingest", source_project).returncode == 0
    before = {p.name: p.read_bytes() for p in (source_project / "data" / "raw").iterdir()}
    (source_project / SOURCE / "weather.csv").unlink()
    assert run_module("ingest", source_project).returncode == 1
    after = {p.name: p.read_bytes() for p in (source_project / "data" / "raw").iterdir()}
    assert after == before
    assert sorted(p.name for p in (source_project / "data").iterdir()) == ["raw", "source"]


def test_malformed_params_value_stops_with_key(source_project: Path) -> None:
    write_params(source_project, {"ingest": {"source": SOURCE, "sample_frac": "half"}})
    result = run_module("ingest", source_project)
    assert result.returncode == 1
    assert "params.yaml: 'ingest.sample_frac' must be float, got str 'half'" in result.stderr
    assert not (source_project / "data" / "raw").exists()


def test_a_url_source_stops_the_stage_in_one_line(source_project: Path) -> None:
    write_params(source_project, {"ingest": {"source": "s3://bucket/flights"}})
    result = run_module("ingest", source_project)
    assert result.returncode == 1
    assert "'ingest.source' is 's3://bucket/flights', outside the repository" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (source_project / "data" / "raw").exists()


def test_a_date_that_does_not_exist_stops_ingest_naming_the_line(tmp_path: Path) -> None:
    tables = make_raw_tables()
    flights = tables["flights"].copy()
    flights.loc[5, ["month", "day"]] = [2, 30]
    write_csv_source(tmp_path / SOURCE, {**tables, "flights": flights})
    with pytest.raises(
        StageError,
        match=r"flights\.csv: columns \['year', 'month', 'day'\] do not form a date in 1 rows, "
        r"first at lines 7 \(2013-2-30\)",
    ):
        read_source(tmp_path / SOURCE)
