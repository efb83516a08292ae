"""Data versioned for real, under real ``dvc``: the source data is a DVC-tracked directory whose
hash Git commits; a changed byte re-runs exactly what it reaches; a data update is a commit that
``dvc metrics diff`` and ``make report`` explain; going back restores the old data and outputs
byte for byte; a team's own data comes in with ``dvc import-url`` (a local directory or
``s3://``) and ``dvc update``; library pins are inputs of the stages that import them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import STAGES, Repo, output_digests, ran_stages, run_make
from tests.pipeline.s3_server import S3Server
from tools.checks.dvc_lint import read_sources, stage_entry, stage_libraries

# No xdist group: every test works on its own copy, so they spread over the workers.
pytestmark = pytest.mark.pipeline

SOURCE = "data/source/nycflights13"
DVC_FILE = f"{SOURCE}.dvc"


def lock(repo: Repo) -> dict:
    return YAML(typ="safe", pure=True).load((repo.root / "dvc.lock").read_text())


def changed_deps(before: dict, after: dict) -> list[str]:
    """The stages (but ingest) whose recorded deps differ between two dvc.lock documents."""

    def deps(document: dict, stage: str) -> dict[str, str]:
        return {d["path"]: d["md5"] for d in document["stages"][stage].get("deps", [])}

    return [s for s in STAGES if s != "ingest" and deps(before, s) != deps(after, s)]


def head(repo: Repo) -> str:
    return repo.run("git", "rev-parse", "HEAD").stdout.strip()


def test_the_source_data_is_tracked_and_declared(repo: Repo) -> None:
    assert DVC_FILE in repo.run("git", "ls-files").stdout.split()
    ingest = lock(repo)["stages"]["ingest"]
    assert SOURCE in [dep["path"] for dep in ingest["deps"]]
    committed = YAML(typ="safe", pure=True).load((repo.root / DVC_FILE).read_text())
    assert (
        next(d for d in ingest["deps"] if d["path"] == SOURCE)["md5"] == committed["outs"][0]["md5"]
    )
    assert repo.run("dvc", "status").stdout.strip() == "Data and pipelines are up to date."
    assert repo.is_clean()


def test_one_changed_byte_reruns_ingest_and_only_what_it_reaches(repo: Repo) -> None:
    weather = repo.root / SOURCE / "weather.csv"
    text = weather.read_bytes()
    # One byte: the first reading's temperature, 39.02 -> 39.03 (EWR, 2013-01-01 01:00).
    first = b"EWR,2013,1,1,1,39.02,"
    assert text.count(first) == 1
    weather.write_bytes(text.replace(first, b"EWR,2013,1,1,1,39.03,"))
    status = repo.run("dvc", "status").stdout
    assert (
        f"{DVC_FILE}:" in status
        and "ingest:" in status
        and f"modified:           {SOURCE}" in status
    )
    before = lock(repo)
    ran = repo.repro()
    after = lock(repo)
    assert ran[0] == "ingest"
    assert ran[1:] == changed_deps(before, after)
    assert "late-split" not in ran  # it reads the flights only, which did not change
    assert "late-featurize" in ran and "daily-prepare" in ran


def test_a_table_no_stage_reads_changes_nothing_downstream(repo: Repo) -> None:
    airlines = repo.root / SOURCE / "airlines.csv"
    airlines.write_text(airlines.read_text().replace("Endeavor Air Inc.", "Endeavor Air Inc"))
    assert repo.repro() == ["ingest"]


def check_a_data_update_is_a_commit_explained_and_undone(repo: Repo) -> None:
    """Cut the weather table in place, `dvc add`, repro, commit; the metrics diff and the
    report explain it; the old commit's data comes back byte for byte."""
    old, old_outputs = head(repo), output_digests(repo.root)
    weather = repo.root / SOURCE / "weather.csv"
    weather.write_text("".join(weather.read_text().splitlines(keepends=True)[:20_000]))
    repo.run("dvc", "add", SOURCE)
    ran = repo.repro()
    assert ran[0] == "ingest" and "late-featurize" in ran and "daily-prepare" in ran
    repo.commit("weather: the first 19,999 hours")
    assert repo.is_clean()
    # dvc metrics diff: the statistics of the data moved.
    diff = json.loads(repo.run("dvc", "metrics", "diff", old, "--json").stdout)
    stats = diff["metrics/ingest.json"]
    assert stats["tables.weather.rows"] == {"old": 26115, "new": 19999, "diff": -6116}
    assert stats["files.weather.csv.rows"]["new"] == 19999
    assert "tables.flights.rows" not in stats  # unchanged
    # make report: a Data section naming the file, its hashes, bytes and rows.
    result = run_make(repo.root, "report", f"BASE={old}")
    assert result.returncode == 0, result.stderr
    report = (repo.root / "reports" / "report.md").read_text()
    data = report.split("## Data\n", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in data.splitlines() if line.startswith("| `weather.csv`"))
    assert row.endswith("| 26115 | 19999 |")
    assert "airports.csv" not in data
    assert "### Headline metrics" in data and "metrics/late/metrics.json:test.roc_auc" in data
    # Going back: the old .dvc file, lock and metrics, then dvc checkout.
    repo.run("git", "checkout", old, "--", DVC_FILE, "dvc.lock", "metrics")
    repo.run("dvc", "checkout")
    assert output_digests(repo.root) == old_outputs
    assert repo.repro() == []


def test_a_data_update_through_dvc_add_and_through_import_url(repo: Repo, tmp_path: Path) -> None:
    """Both ways a new data version arrives, in one repository so that the second finds the
    first's stage results in the run-cache instead of computing the pipeline again."""
    check_a_data_update_is_a_commit_explained_and_undone(repo)
    check_import_url_from_a_local_directory_then_update(repo, tmp_path)


def copy_source(repo: Repo, target: Path) -> Path:
    """The repository's nycflights13 files, as a team's own dataset at ``target``."""
    shutil.copytree(repo.root / SOURCE, target)
    return target


def use_source(repo: Repo, name: str) -> None:
    repo.set_params({"ingest": {"source": f"data/source/{name}"}})


def check_import_url_from_a_local_directory_then_update(repo: Repo, tmp_path: Path) -> None:
    """The same data brought in with make data-import, then the same cut taken at its origin
    with make data-update."""
    origin = copy_source(repo, tmp_path / "team-data")
    result = run_make(repo.root, "data-import", f"URL={origin}", "NAME=team")
    assert result.returncode == 0, result.stderr
    assert (repo.root / "data" / "source" / "team.dvc").is_file()
    use_source(repo, "team")
    ran = repo.repro()
    assert ran[0] == "ingest"  # same bytes as before: the source changed only its name
    repo.commit("team data")
    assert repo.is_clean()  # the .dvc file committed, the data ignored
    first, first_outputs = head(repo), output_digests(repo.root)
    # A new version at the origin: dvc update takes it; dvc status said nothing before.
    weather = origin / "weather.csv"
    weather.write_text("".join(weather.read_text().splitlines(keepends=True)[:20_000]))
    result = run_make(repo.root, "data-update", "NAME=team")
    assert result.returncode == 0, result.stderr
    output = repo.run("dvc", "repro").stdout
    # ingest re-runs (its source param differs from the first cut's); the stages after it find
    # the same raw tables as the first cut made and are restored from the run-cache.
    assert ran_stages(output)[0] == "ingest"
    assert "Stage 'daily-prepare' is cached - skipping run" in output
    repo.commit("team data, new version")
    statistics = json.loads((repo.root / "metrics" / "ingest.json").read_text())
    assert statistics["tables"]["weather"]["rows"] == 19999
    # The previous commit restores the old data and outputs byte for byte.
    repo.run("git", "checkout", "-q", first)
    repo.run("dvc", "checkout")
    assert output_digests(repo.root) == first_outputs
    assert repo.repro() == []


def test_import_url_from_s3_then_update(repo: Repo, s3_server: S3Server, tmp_path: Path) -> None:
    client = s3_server.client()
    bucket = "team-data"
    client.create_bucket(Bucket=bucket)
    files = sorted((repo.root / SOURCE).iterdir())
    for path in files:
        client.put_object(Bucket=bucket, Key=f"flights/{path.name}", Body=path.read_bytes())
    env = s3_server.env()
    result = run_make(
        repo.root, "data-import", f"URL=s3://{bucket}/flights", "NAME=s3team", env=env
    )
    assert result.returncode == 0, result.stderr
    imported = YAML(typ="safe", pure=True).load((repo.root / "data/source/s3team.dvc").read_text())
    assert imported["deps"][0]["path"] == f"s3://{bucket}/flights"
    use_source(repo, "s3team")
    repo.repro()
    repo.commit("s3 data")
    first, first_outputs = head(repo), output_digests(repo.root)
    # The new version corrects a table no project reads: ingest alone re-runs.
    airlines = (repo.root / SOURCE / "airlines.csv").read_text()
    corrected = airlines.replace("Endeavor Air Inc.", "Endeavor Air Inc").encode()
    client.put_object(Bucket=bucket, Key="flights/airlines.csv", Body=corrected)
    result = run_make(repo.root, "data-update", "NAME=s3team", env=env)
    assert result.returncode == 0, result.stderr
    after = YAML(typ="safe", pure=True).load((repo.root / "data/source/s3team.dvc").read_text())
    assert after["outs"][0]["md5"] != imported["outs"][0]["md5"]
    assert repo.repro() == ["ingest"]
    repo.commit("s3 data, new version")
    assert (repo.root / "data/source/s3team/airlines.csv").read_bytes() == corrected
    repo.run("git", "checkout", "-q", first)
    repo.run("dvc", "checkout")
    assert output_digests(repo.root) == first_outputs
    assert repo.repro() == []


@pytest.mark.parametrize(
    ("url", "name", "message"),
    [
        ("", "x", "usage: make data-import URL="),
        ("/tmp", "a/b", "NAME=a/b: use letters, digits"),
        ("/tmp", "nycflights13", "data/source/nycflights13.dvc exists: take a new version"),
    ],
)
def test_data_import_refuses_bad_arguments(repo: Repo, url: str, name: str, message: str) -> None:
    result = run_make(repo.root, "data-import", f"URL={url}", f"NAME={name}")
    assert result.returncode == 2
    assert message in result.stderr
    assert repo.is_clean()


def stages_importing(repo: Repo, libraries: set[str]) -> list[str]:
    """The stages whose code imports one of ``libraries`` (top-level modules), in order."""
    sources = read_sources(repo.root)
    pipeline = YAML(typ="safe", pure=True).load((repo.root / "dvc.yaml").read_text())
    return [
        name for name, stage in pipeline["stages"].items()
        if libraries & stage_libraries(stage_entry(stage), sources)
    ]  # fmt: skip


def test_a_library_pin_is_an_input_of_the_stages_that_import_it(repo: Repo) -> None:
    pin = repo.root / "requirements" / "scikit-learn.txt"
    pin.write_text(pin.read_text().replace("scikit-learn==", "scikit-learn==0.0.1+", 1))
    status = json.loads(repo.run("dvc", "status", "--json").stdout)
    # scikit-learn's own importers and skops's (skops requires it).
    expected = stages_importing(repo, {"sklearn", "skops"})
    assert sorted(status) == sorted(expected)
    assert "ingest" not in status and "daily-prepare" not in status
    assert {"late-train", "late-evaluate", "daily-train"} <= set(status)
    repo.run("git", "checkout", "--", "requirements")
    lock_file = repo.root / "requirements.lock"
    text = lock_file.read_text()
    assert "\nruff==" in text
    lock_file.write_text(text.replace("\nruff==", "\nruff==0.0.1+", 1))
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}
