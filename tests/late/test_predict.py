"""predict: scoring new flights from CSV or Parquet, chunk by chunk, and refusing bad input cleanly.

The command runs for real in a small project: synthetic side tables in data/raw, a small model
trained by the train stage's own code, and flights files written the way a user would write them.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from stages.core.errors import StageError
from stages.core.io import file_format, read_batches
from stages.core.model_io import save_model
from stages.late.contract import ID_COLUMNS, POST_DEPARTURE_COLUMNS, SCHEDULED_FLIGHT_SCHEMA
from stages.late.featurize import build_features, summarise_schedule, with_label
from stages.late.params import FeaturizeParams, HgbParams, LogregParams, TrainParams
from stages.late.predict import (
    InputReport,
    main,
    observed_period,
    read_schedule,
    score_flights,
)
from stages.late.scoring import known_categories, predict_late
from stages.late.split import label_flights
from stages.late.train import run as fit_model
from tests.conftest import REPO_ROOT, make_raw_tables, run_module, write_params

TRAIN_PARAMS = TrainParams(
    model="hgb", seed=0, drop_features=(), logreg=LogregParams(C=1.0, max_iter=200),
    hgb=HgbParams(max_iter=20, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=5,
                  l2_regularization=0.0),
)  # fmt: skip
FEATURIZE = FeaturizeParams(holiday_horizon_days=14, weather_window_hours=3, realtime_cutoff_min=60)
SIDE_TABLES = ("weather", "planes", "airports")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """The synthetic raw tables (shared: no test may change them)."""
    return make_raw_tables()


@pytest.fixture(scope="module")
def side(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The weather, planes and airports tables."""
    return {name: tables[name] for name in SIDE_TABLES}


def fit(tables: dict[str, pd.DataFrame], kind: str) -> Pipeline:
    """A model of ``kind`` fitted on the synthetic flights by the train stage's code."""
    labelled, _ = label_flights(tables["flights"], 30)
    side = {k: tables[k] for k in SIDE_TABLES}
    features = build_features(
        labelled, summarise_schedule(tables["flights"]), **side, params=FEATURIZE
    )
    processed = with_label(features, labelled)
    return fit_model(processed, dataclasses.replace(TRAIN_PARAMS, model=kind))


@pytest.fixture(scope="module", params=["hgb", "logreg"])
def model(request: pytest.FixtureRequest, tables: dict[str, pd.DataFrame]) -> Pipeline:
    """Both kinds of model, for the functions that read the model."""
    return fit(tables, request.param)


def scheduled(flights: pd.DataFrame) -> pd.DataFrame:
    """Flights as a user would have them before departure: no outcome columns."""
    return flights.drop(columns=POST_DEPARTURE_COLUMNS)


def test_file_format_by_suffix() -> None:
    assert file_format(Path("a.csv")) == "csv"
    assert file_format(Path("a.CSV.gz")) == "csv"
    assert file_format(Path("dir.v2/a.parquet")) == "parquet"
    for name in ("a.json", "a.xlsx", "a.gz", "a"):
        with pytest.raises(StageError, match=rf"{name}: cannot tell the format"):
            file_format(Path(name))


def test_schedule_read_in_chunks_gives_the_summary_of_the_whole(
    tmp_path: Path, tables: dict[str, pd.DataFrame]
) -> None:
    schedule = tables["flights"]
    write_flights(tmp_path / "schedule.csv", schedule)
    summary, rows = read_schedule(
        tmp_path / "schedule.csv", chunk_rows=37, departures_path=tmp_path / "schedule.csv"
    )
    assert rows == len(schedule)
    whole = summarise_schedule(schedule)
    assert summary.keys() == whole.keys()
    for name, expected in whole.items():
        pd.testing.assert_frame_equal(summary[name], expected, check_dtype=False)


def test_scores_equal_the_model_on_the_processed_table(
    tables: dict[str, pd.DataFrame], side: dict, model
) -> None:
    """Batch scoring gives, bit for bit, what evaluate computes on featurize's table."""
    labelled, _ = label_flights(tables["flights"], 30)
    counts = summarise_schedule(tables["flights"])
    processed = with_label(build_features(labelled, counts, **side, params=FEATURIZE), labelled)
    predictions, _ = score_flights(
        model, scheduled(labelled), counts, side, FEATURIZE, threshold=0.3
    )
    assert np.array_equal(predictions["p_late"].to_numpy(), predict_late(model, processed))
    assert predictions[ID_COLUMNS].equals(processed[ID_COLUMNS])
    assert predictions["late"].equals(predictions["p_late"] >= 0.3)


def test_unknown_categories_and_missing_weather_are_scored_and_reported(
    tables: dict[str, pd.DataFrame], side: dict, model
) -> None:
    flights = scheduled(tables["flights"]).head(6).copy()
    flights.loc[flights.index[0], "carrier"] = "ZZ"
    flights.loc[flights.index[1], "dest"] = "XNA"
    flights.loc[flights.index[2], "year"] = 2031  # no weather, and no holiday data issue
    predictions, features = score_flights(
        model, flights, summarise_schedule(flights), side, FEATURIZE, threshold=0.3
    )
    assert len(predictions) == 6
    assert np.isfinite(predictions["p_late"]).all()
    report = InputReport(period=observed_period(side["weather"]))
    report.add(features, known_categories(model))
    lines = report.warnings()
    assert any(line.startswith("carrier: 1 flights") and "'ZZ'" in line for line in lines)
    assert any(line.startswith("dest: 1 flights") and "'XNA'" in line for line in lines)
    assert any(line.startswith("weather: 1 of 6 flights") for line in lines)
    assert any(
        line.startswith("dates: 1 of 6 flights are dated outside the weather table (2013-01-")
        for line in lines
    )


def test_read_batches_labels_rows_and_reads_only_what_it_needs(tmp_path: Path) -> None:
    flights = make_raw_tables(flights_per_month=2)["flights"]
    path = tmp_path / "flights.csv"
    flights.to_csv(path, index=False)
    batches = list(read_batches(path, SCHEDULED_FLIGHT_SCHEMA, chunk_rows=10))
    assert [len(b) for b in batches] == [10, 10, 4]
    assert batches[1].index[0] == 12  # line 12: the header, then 10 rows before it
    assert list(batches[0].columns) == list(SCHEDULED_FLIGHT_SCHEMA)


# --- the command, in a project directory -------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory, tables: dict[str, pd.DataFrame]) -> Path:
    """A saved boosting model, as the train stage writes it."""
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(fit(tables, "hgb"), path)
    return path


@pytest.fixture
def project(
    tmp_path: Path,
    tables: dict[str, pd.DataFrame],
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A project directory, also the working directory: params.yaml, data/raw side tables and
    models/late/model.skops."""
    write_params(tmp_path)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    for name in SIDE_TABLES:
        tables[name].to_parquet(tmp_path / "data" / "raw" / f"{name}.parquet", index=False)
    (tmp_path / "models" / "late").mkdir(parents=True)
    (tmp_path / "models" / "late" / "model.skops").write_bytes(model_file.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_flights(path: Path, flights: pd.DataFrame) -> Path:
    """Write flights as CSV or Parquet by the path's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        flights.to_parquet(path, index=False)
    else:
        flights.to_csv(path, index=False, na_rep="NA")
    return path


def predict(project: Path, source: str, output: str = "out.csv", *args: str):
    """Run the command in the project, as its own process."""
    return run_module("late.predict", project, "--input", source, "--output", output, *args)


def predict_fails(source: str, output: str = "out.csv", *args: str) -> str:
    """Run the command's ``main`` in this process (fast); return the message it stops with."""
    with pytest.raises(StageError) as failure:
        main(["--input", source, "--output", output, *args])
    return str(failure.value)


@pytest.mark.parametrize("source", ["in.csv", "in.csv.gz", "in.parquet"])
def test_command_scores_every_flight_in_input_order(
    project: Path, tables: dict[str, pd.DataFrame], source: str
) -> None:
    flights = scheduled(tables["flights"])
    write_flights(project / source, flights.drop(columns=["time_hour"]))
    result = predict(project, source, "out.parquet", "--chunk-rows", "100")
    assert result.returncode == 0, result.stderr
    assert "scored 100 of 480 flights" in result.stderr
    assert "scored 480 of 480 flights (100%)" in result.stderr
    out = pd.read_parquet(project / "out.parquet")
    assert list(out.columns) == [*ID_COLUMNS, "p_late", "late"]
    assert out[ID_COLUMNS].astype(str).equals(flights[ID_COLUMNS].astype(str))
    assert out["p_late"].between(0, 1).all()


def test_command_output_does_not_depend_on_chunk_size_or_format(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    write_flights(project / "in.parquet", scheduled(tables["flights"]))
    main(["--input", "in.csv", "--output", "a.csv", "--chunk-rows", "7"])
    main(["--input", "in.csv", "--output", "b.csv"])
    main(["--input", "in.parquet", "--output", "c.csv", "--chunk-rows", "50"])
    first = (project / "a.csv").read_bytes()
    assert first == (project / "b.csv").read_bytes() == (project / "c.csv").read_bytes()


def test_command_warns_about_what_it_scores_with_missing_values(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    flights = scheduled(tables["flights"])
    flights.loc[[3, 9], "carrier"] = "ZZ"
    flights.loc[5, "origin"] = "SWF"  # an airport with no weather
    write_flights(project / "in.csv", flights)
    result = predict(project, "in.csv")
    assert result.returncode == 0, result.stderr
    assert "carrier: 2 flights have categories not seen in training ('ZZ' (2))" in result.stderr
    assert "origin: 1 flights have categories not seen in training ('SWF' (1))" in result.stderr
    assert "weather: 1 of 480 flights have no observation" in result.stderr
    assert len(pd.read_csv(project / "out.csv")) == 480


def corrupt(flights: pd.DataFrame, case: str) -> pd.DataFrame:
    """``flights`` with one kind of damage."""
    damaged = flights.astype({"distance": object, "sched_dep_time": object}).copy()
    if case == "missing column":
        return damaged.drop(columns=["distance"])
    if case == "unparseable value":
        damaged.loc[[400, 401], "distance"] = ["far", "1,200"]
    elif case == "missing value":
        damaged.loc[[450], "carrier"] = np.nan
    elif case == "not a whole number":
        damaged.loc[[470], "sched_dep_time"] = 830.5
    elif case == "clock time with a colon":
        damaged.loc[[470], "sched_dep_time"] = "06:00"
    elif case == "hour 25":
        damaged.loc[[460], "hour"] = 25
    elif case == "minutes past 59":
        damaged.loc[[460], "sched_dep_time"] = 2575
    elif case == "month 13":
        damaged.loc[[430], "month"] = 13
    elif case == "30 February":
        damaged.loc[[440], ["month", "day"]] = [2, 30]
    elif case == "negative distance":
        damaged.loc[[410], "distance"] = -5.0
    elif case == "infinite distance":
        damaged.loc[[410], "distance"] = "inf"
    elif case == "absurd distance":
        damaged.loc[[410], "distance"] = 99_999.0
    return damaged


CORRUPTIONS = {
    "missing column": r"missing columns \['distance'\]",
    "unparseable value": r"column 'distance' expects float; cannot parse 2 values, first at "
    r"(lines 402 \('far'\), 403 \('1,200'\)|rows 400 \('far'\), 401 \('1,200'\))",
    "missing value": r"column 'carrier' has 1 missing values, first at (lines 452|rows 450)",
    "not a whole number": r"column 'sched_dep_time' expects int; 1 values are not whole numbers, "
    r"first at (lines 472|rows 470) \(830\.5\)",
    "clock time with a colon": r"column 'sched_dep_time' expects int \(written HHMM as an integer, "
    r"545 for 05:45\); cannot parse 1 values, first at (lines 472|rows 470) \('06:00'\)",
    "hour 25": r"column 'hour' must be from 0 to 23; 1 values are not, first at (lines 462|rows 460) "
    r"\(25\)",
    "minutes past 59": r"column 'sched_dep_time' must be a time of day written HHMM as an integer "
    r"\(0 to 2359, minutes below 60\); 1 values are not, first at (lines 462|rows 460) \(2575",
    "month 13": r"column 'month' must be from 1 to 12; 1 values are not, first at "
    r"(lines 432|rows 430) \(13\)",
    "30 February": r"columns \['year', 'month', 'day'\] do not form a date in 1 rows, first at "
    r"(lines 442|rows 440) \(2013-2-30\)",
    "negative distance": r"column 'distance' must be from 1 to 10000; 1 values are not, first at "
    r"(lines 412|rows 410) \(-5\.0\)",
    "infinite distance": r"column 'distance' must be from 1 to 10000; 1 values are not, first at "
    r"(lines 412|rows 410) \(inf\)",
    "absurd distance": r"column 'distance' must be from 1 to 10000; 1 values are not, first at "
    r"(lines 412|rows 410) \(99999\.0\)",
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_bad_input_stops_naming_the_column_and_rows_and_writes_nothing(
    project: Path, tables: dict[str, pd.DataFrame], case: str, suffix: str
) -> None:
    damaged = corrupt(scheduled(tables["flights"]), case)
    if suffix == ".parquet":
        damaged = damaged.astype({c: str for c in ("distance", "sched_dep_time") if c in damaged})
        damaged = damaged.replace({"nan": None})
    source = write_flights(project / f"in{suffix}", damaged)
    (project / "out.csv").write_text("earlier predictions\n")
    # Chunks of 100: the damage sits in the last chunk, after four chunks were scored.
    message = predict_fails(source.name, "out.csv", "--chunk-rows", "100")
    assert message.startswith(f"in{suffix}: ")
    assert re.search(CORRUPTIONS[case], message), message
    assert (project / "out.csv").read_text() == "earlier predictions\n"
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".out")) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", b"", r"in\.csv: the file is empty"),
        ("in.csv", b"year,month,day\n", r"in\.csv: missing columns"),
        ("in.json", b"{}", r"in\.json: cannot tell the format"),
        ("in.parquet", b"year,month\n2013,1\n", r"in\.parquet: cannot read as Parquet"),
        ("in.csv", b"\x00\xff\xfe binary", r"in\.csv: (cannot read as CSV|missing columns)"),
        # Every column the scoring needs is named, not only those the schedule is read with.
        (
            "in.csv",
            b"year,month,day,origin\n2013,1,1,EWR\n",
            r"in\.csv: missing columns \['hour', "
            r"'sched_dep_time', 'sched_arr_time', 'carrier', 'flight', 'tailnum', 'dest', "
            r"'distance'\]",
        ),
        (
            "in.csv",
            b"year;month;day;origin\n2013;1;1;EWR\n",
            r"\(the header looks "
            r"semicolon-separated: write it comma-separated\)$",
        ),
        (
            "in.csv",
            b"YEAR,MONTH,DAY,ORIGIN\n2013,1,1,EWR\n",
            r"names differ only in case; rename "
            r"YEAR -> year, MONTH -> month, DAY -> day, ORIGIN -> origin\)$",
        ),
    ],
)
def test_unreadable_input_stops_cleanly(
    project: Path, name: str, content: bytes, message: str
) -> None:
    (project / name).write_bytes(content)
    assert re.search(message, predict_fails(name))
    assert not (project / "out.csv").exists()


@pytest.mark.parametrize(
    ("column", "values", "says"),
    [
        (
            "carrier",
            lambda n: [["UA"]] * n,
            "column 'carrier' is list<element: string> (a nested type), not str",
        ),
        (
            "origin",
            lambda n: [{"code": "JFK"}] * n,
            "column 'origin' is struct<code: string> (a nested type), not str",
        ),
        ("carrier", lambda n: [b"UA"] * n, "column 'carrier' is binary, not str"),
        (
            "distance",
            lambda n: [[1.0]] * n,
            "column 'distance' is list<element: double> (a nested type), not float",
        ),
    ],
)
def test_a_parquet_column_of_the_wrong_type_is_refused_not_scored_as_unseen(
    project: Path, tables: dict[str, pd.DataFrame], column: str, values, says: str
) -> None:
    flights = scheduled(tables["flights"]).head(20)
    flights[column] = values(len(flights))
    write_flights(project / "in.parquet", flights)
    assert (
        predict_fails("in.parquet")
        == f"in.parquet: {says}: write it as a plain {says.rsplit(' ', 1)[-1]} column"
    )
    assert not (project / "out.csv").exists()


def test_a_csv_naming_a_column_twice_is_refused(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    flights = scheduled(tables["flights"]).head(20)
    text = flights.to_csv(index=False)
    header, rest = text.split("\n", 1)
    (project / "in.csv").write_text(
        f"{header},carrier\n" + "".join(f"{line},XX\n" for line in rest.splitlines())
    )
    assert predict_fails("in.csv") == (
        "in.csv: the header names a column more than once: 'carrier' (2 times); keep one of each "
        "(rename or drop the others)"
    )
    assert not (project / "out.csv").exists()


def test_header_only_input_has_no_rows(project: Path, tables: dict[str, pd.DataFrame]) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]).head(0))
    assert predict_fails("in.csv") == "in.csv: the table has no rows"
    assert not (project / "out.csv").exists()


def test_missing_model_or_side_table_names_the_file(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    assert "models/none.skops" in predict_fails("in.csv", "out.csv", "--model", "models/none.skops")
    message = predict_fails("in.csv", "out.csv", "--weather", "nowhere.parquet")
    assert message == "nowhere.parquet: file not found"
    assert not (project / "out.csv").exists()


def test_the_command_exits_1_with_the_message_and_no_traceback(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    damaged = corrupt(scheduled(tables["flights"]), "unparseable value")
    write_flights(project / "in.csv", damaged)
    result = predict(project, "in.csv", "out.csv", "--chunk-rows", "100")
    assert result.returncode == 1
    assert "ERROR stages: in.csv: column 'distance' expects float" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "out.csv").exists()
    assert [p.name for p in project.iterdir() if p.name.endswith(".tmp")] == []


def test_side_tables_may_be_csv_files(project: Path, tables: dict[str, pd.DataFrame]) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    weather = tables["weather"].assign(
        time_hour=tables["weather"]["time_hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    weather.to_csv(project / "weather.csv", index=False, na_rep="NA")
    main(["--input", "in.csv", "--output", "a.csv"])
    main(["--input", "in.csv", "--output", "b.csv", "--weather", "weather.csv"])
    assert (project / "a.csv").read_bytes() == (project / "b.csv").read_bytes()


# --- what the command will not overwrite, and what it says about its input ----------------------


def file_hashes(root: Path) -> dict[str, str]:
    """The md5 of every file under ``root``, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_output_equal_to_the_input_is_refused_and_nothing_changes(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    before = file_hashes(project)
    result = predict(project, "in.csv", "models/../in.csv")
    assert result.returncode == 1
    assert "--output models/../in.csv is the same file as --input in.csv" in result.stderr
    assert "Traceback" not in result.stderr
    assert file_hashes(project) == before


def test_output_onto_a_file_the_pipeline_owns_is_refused_and_nothing_changes(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    (project / "dvc.yaml").write_text((REPO_ROOT / "dvc.yaml").read_text())
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    before = file_hashes(project)
    for target, stage in (
        ("data/raw/flights.parquet", "ingest"),
        ("metrics/late/metrics.json", "late-evaluate"),
        ("data/daily/days/new.parquet", "daily-prepare"),
        ("data/late/predictions/test.parquet", "late-predict"),
    ):
        result = predict(project, "in.csv", target)
        assert result.returncode == 1, target
        assert f"--output {target} is " in result.stderr
        assert f"an output of stage '{stage}' in dvc.yaml" in result.stderr
    assert file_hashes(project) == before


def test_the_predict_stage_may_write_its_own_output(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """Run with exactly the arguments dvc.yaml gives it, it is the stage, which owns its output."""
    (project / "dvc.yaml").write_text(
        "stages:\n  late-predict:\n    cmd: python -m stages.late.predict --input in.csv "
        "--output data/late/predictions/test.parquet\n    outs:\n      - data/late/predictions\n"
    )
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    result = predict(project, "in.csv", "data/late/predictions/test.parquet")
    assert result.returncode == 0, result.stderr
    assert (project / "data" / "late" / "predictions" / "test.parquet").is_file()


def test_output_that_is_a_directory_is_refused_before_reading(project: Path) -> None:
    (project / "out").mkdir()
    message = predict_fails("missing.csv", "out")
    assert message == "--output out: is a directory; give a file name to write to"


@pytest.mark.parametrize("name", ["out.csv.gz", "out.CSV.GZ"])
def test_a_gz_output_is_compressed_and_reads_back(
    project: Path, tables: dict[str, pd.DataFrame], name: str
) -> None:
    write_flights(project / "in.csv", scheduled(tables["flights"]))
    main(["--input", "in.csv", "--output", "plain.csv"])
    main(["--input", "in.csv", "--output", name, "--chunk-rows", "100"])
    assert gzip.decompress((project / name).read_bytes()) == (project / "plain.csv").read_bytes()
    first = (project / name).read_bytes()
    main(["--input", "in.csv", "--output", name])
    assert (project / name).read_bytes() == first  # no time or name in the gzip header


@pytest.mark.parametrize("name", ["out.csv.zip", "out.csv.bz2", "out.gz", "out.txt"])
def test_an_output_name_it_cannot_honour_is_refused(project: Path, name: str) -> None:
    message = predict_fails("in.csv", name)
    assert message.startswith(f"{name}: cannot tell the format from the name")


def test_a_handful_of_flights_is_scored_against_the_published_schedule(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """Without --schedule, a few flights of days the raw flights table covers get the congestion
    of the whole published schedule; with the input as the schedule, a warning says why not."""
    flights = scheduled(tables["flights"])
    tables["flights"].to_parquet(project / "data" / "raw" / "flights.parquet", index=False)
    write_flights(project / "few.csv", flights.head(5))
    main(["--input", "few.csv", "--output", "few-scores.csv"])
    main(
        [
            "--input",
            "few.csv",
            "--output",
            "all-scores.csv",
            "--schedule",
            "data/raw/flights.parquet",
        ]
    )
    assert (project / "few-scores.csv").read_bytes() == (project / "all-scores.csv").read_bytes()
    result = predict(project, "few.csv", "thin.csv", "--schedule", "few.csv")
    assert result.returncode == 0, result.stderr
    assert "schedule: congestion is counted on few.csv, which holds a median of 1" in result.stderr
    assert "--schedule FILE" in result.stderr


def test_one_flight_of_an_odd_day_changes_no_other_flights_score(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """The schedule is chosen day by day: a flight dated where the published schedule has none
    is counted on the input, with a warning naming its day; the others keep the scores they
    have alone, to the last digit."""
    tables["flights"].to_parquet(project / "data" / "raw" / "flights.parquet", index=False)
    flights = scheduled(tables["flights"]).head(20)
    write_flights(project / "few.csv", flights)
    odd = flights.head(1).assign(year=2014)
    write_flights(project / "odd.csv", pd.concat([flights, odd], ignore_index=True))
    alone = predict(project, "few.csv", "alone.csv")
    assert alone.returncode == 0 and "without flights in the" not in alone.stderr, alone.stderr
    mixed = predict(project, "odd.csv", "mixed.csv")
    assert mixed.returncode == 0, mixed.stderr
    day = f"2014-{odd['month'].iloc[0]:02d}-{odd['day'].iloc[0]:02d}"
    days = len(flights[["year", "month", "day"]].drop_duplicates()) + 1
    assert (
        f"schedule: 1 of {days} days of odd.csv ({day}) have airports without flights in the "
        "published schedule data/raw/flights.parquet: congestion on those days is counted on "
        "the input itself"
    ) in mixed.stderr, mixed.stderr
    scores = pd.read_csv(project / "mixed.csv")
    expected = pd.read_csv(project / "alone.csv")
    pd.testing.assert_frame_equal(scores.head(len(flights)), expected)


def test_duplicated_flights_are_reported(project: Path, tables: dict[str, pd.DataFrame]) -> None:
    flights = scheduled(tables["flights"])
    write_flights(project / "in.csv", pd.concat([flights, flights.head(3)], ignore_index=True))
    result = predict(project, "in.csv", "out.csv", "--chunk-rows", "100")
    assert result.returncode == 0, result.stderr
    assert "duplicates: 3 rows repeat a flight already in the input" in result.stderr


def test_sigterm_stops_it_and_leaves_no_temporary_file(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    flights = scheduled(tables["flights"])
    write_flights(project / "in.csv", pd.concat([flights] * 200, ignore_index=True))
    (project / "out.csv").write_text("earlier predictions\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "stages.late.predict", "--input", "in.csv", "--output", "out.csv",
         "--chunk-rows", "200"],
        cwd=project, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "scored 200 of" in line:
            process.send_signal(signal.SIGTERM)
            break
    process.wait(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert (project / "out.csv").read_text() == "earlier predictions\n"
    assert [p.name for p in project.iterdir() if p.name.startswith(".out.csv")] == []


def test_the_delay_state_comes_from_a_departures_table_or_is_missing_with_a_warning(
    project: Path, tables: dict[str, pd.DataFrame]
) -> None:
    flights = scheduled(tables["flights"])
    write_flights(project / "in.csv", flights)
    write_flights(project / "departures.csv", tables["flights"].drop(columns=["time_hour"]))
    without = predict(project, "in.csv", "without.csv")
    assert without.returncode == 0, without.stderr
    assert "delay state: no --departures table" in without.stderr
    given = predict(project, "in.csv", "with.csv", "--departures", "departures.csv")
    assert given.returncode == 0, given.stderr
    assert "delay state" not in given.stderr
    assert not pd.read_csv(project / "with.csv")["p_late"].equals(
        pd.read_csv(project / "without.csv")["p_late"]
    )
