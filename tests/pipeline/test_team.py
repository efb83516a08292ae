"""Working as a team, against real components started here: a bare Git repository as `origin`
and the signature-checking S3 server as the DVC remote.

Experiments: one run and pushed in clone A appears with its params and metrics in clone B after
a pull, and applying it there restores its outputs without computing a stage. The registry:
registering and promoting create GTO's tags on `origin`; in an empty directory the `prod` model
is fetched by stage, and `late-score`, installed from `origin` at the version's tag, scores
flights byte for byte as the pipeline does in a clone; a version or a stage that does not exist
stops with one line; no credential lands in any tag, commit or file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Repo, ran_stages, run_make
from tests.pipeline.s3_server import S3Server

# One worker runs the module: its tests share one module fixture and run in order.
pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("team")]

EXPERIMENT = "cut-07"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def team(reproduced: tuple[Path, list[str]], s3_server: S3Server, tmp_path_factory) -> dict:
    """`origin` (bare), a bucket, and clone A: the reproduced repository pushed to both."""
    base = tmp_path_factory.mktemp("team")
    bucket = f"team-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    origin = base / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    alice = Repo(base / "alice")
    shutil.copytree(reproduced[0], alice.root, symlinks=True)
    alice.run("git", "remote", "add", "origin", str(origin))
    alice.run("git", "push", "-q", "origin", "main")
    alice.run("dvc", "remote", "modify", "--local", "storage", "url", f"s3://{bucket}/dvc")
    pushed = run_make(alice.root, "push", env=s3_server.env())
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    return {"origin": origin, "bucket": bucket, "alice": alice, "base": base}


def clone(team: dict, name: str) -> Repo:
    """A teammate's clone of `origin`, pointed at the bucket (config.local, as a user does)."""
    repo = Repo(team["base"] / name)
    subprocess.run(["git", "clone", "-q", str(team["origin"]), str(repo.root)], check=True)
    repo.run("dvc", "remote", "modify", "--local", "storage", "url", f"s3://{team['bucket']}/dvc")
    return repo


def test_a_pushed_experiment_is_seen_and_applied_by_a_teammate_without_computing(
    team: dict, s3_server: S3Server
) -> None:
    alice = team["alice"]
    alice.run("dvc", "exp", "run", "--temp", "-n", EXPERIMENT, "-S", "late.evaluate.threshold=0.7")
    shared = run_make(alice.root, "exp-push", f"EXP={EXPERIMENT}", env=s3_server.env())
    assert shared.returncode == 0, shared.stdout + shared.stderr

    bob = clone(team, "bob")
    pulled = run_make(bob.root, "exp-pull", env=s3_server.env())
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    shown = json.loads(bob.run("dvc", "exp", "show", "--json").stdout)
    experiments = {
        exp["name"]: exp["revs"][0]["data"]
        for row in shown for exp in (row.get("experiments") or [])
    }  # fmt: skip
    data = experiments[EXPERIMENT]
    assert data["params"]["params.yaml"]["data"]["late"]["evaluate"]["threshold"] == 0.7
    ours = json.loads((alice.root / "metrics/late/metrics.json").read_text())
    theirs = data["metrics"]["metrics/late/metrics.json"]["data"]
    assert theirs["test"]["roc_auc"] == ours["test"]["roc_auc"]  # the threshold moves no AUC

    applied = bob.run("dvc", "exp", "apply", EXPERIMENT, check=False, env=s3_server.env())
    assert applied.returncode == 0, applied.stderr
    repro = bob.run("dvc", "repro")
    assert ran_stages(repro.stdout) == []
    assert "threshold: 0.7" in (bob.root / "params.yaml").read_text()


@pytest.fixture(scope="module")
def prod_version(team: dict) -> str:
    """`late` registered and its version promoted to `prod`, `daily` registered, as a user does
    with make; the late version."""
    alice = team["alice"]
    registered = run_make(alice.root, "register", "P=late")
    assert registered.returncode == 0, registered.stderr
    version = registered.stdout.strip().splitlines()[-1].split("@")[-1]
    promoted = run_make(alice.root, "promote", "P=late", f"VERSION={version}", "STAGE=prod")
    assert promoted.returncode == 0, promoted.stderr
    assert run_make(alice.root, "register", "P=daily").returncode == 0
    return version


def test_registering_and_promoting_push_gto_tags_and_prod_is_fetched_by_stage(
    team: dict, prod_version: str, s3_server: S3Server, tmp_path: Path
) -> None:
    alice, origin, version = team["alice"], team["origin"], prod_version
    tags = subprocess.run(
        ["git", "ls-remote", "--tags", str(origin)], capture_output=True, text=True, check=True
    ).stdout
    assert f"refs/tags/late-model@{version}" in tags
    assert "refs/tags/late-model#prod#1" in tags
    assert "refs/tags/daily-model@v" in tags
    shown = alice.run("gto", "show").stdout
    assert "late-model" in shown and "daily-model" in shown
    card = (alice.root / "models/late/model_card.md").read_text()
    assert f"late-model {version}" in card.splitlines()[0]

    # A batch job: no clone, only the repository's URL and the remote's credentials.
    job = tmp_path / "job"
    job.mkdir()
    fetched = subprocess.run(
        [sys.executable, "-m", "dvc", "artifacts", "get", str(origin), "late-model",
         "--stage", "prod", "-o", "model.skops",
         "--remote-config", f"url=s3://{team['bucket']}/dvc"],
        cwd=job, env={**os.environ, **s3_server.env()}, capture_output=True, text=True,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert md5(job / "model.skops") == md5(alice.root / "models/late/model.skops")


def job_environment(folder: Path) -> Path:
    """A virtual environment for a batch job in ``folder``: its own interpreter, seeing the
    libraries of the test's environment (the lock's pins) through a path file, but not the
    repository (the path file only adds a folder; it does not run that folder's own path files,
    among them the one `make setup` writes for the clone). Returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    paths = subprocess.run(
        [str(folder / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(paths, "libraries.pth").write_text(site.getsitepackages()[0] + "\n")
    return folder / "bin"


def test_a_batch_job_installs_the_scorer_and_scores_like_the_pipeline_in_an_empty_folder(
    team: dict, prod_version: str, s3_server: S3Server, tmp_path: Path
) -> None:
    """docs/team.md's batch job: the package installed from `origin` at the version's tag, then
    `late-score` in an empty folder, with only the URL and the remote's credentials; its scores
    are byte for byte those of the pipeline's own command in a clone."""
    alice, origin, version = team["alice"], team["origin"], prod_version
    bin_dir = job_environment(tmp_path / "venv")
    job = tmp_path / "job"
    job.mkdir()
    outside = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    installed = subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "pip", "install", "--python",
         str(bin_dir / "python"), "--no-deps", "--no-build-isolation", "--quiet",
         f"flight-delays @ git+file://{origin}@late-model%40{version}"],
        cwd=job, env=outside, capture_output=True, text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import stages; print(stages.__file__)"],
        cwd=job, env=outside, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(tmp_path / "venv")), where

    flights = pd.read_parquet(alice.root / "data/late/interim/test.parquet").head(200)
    flights.to_csv(job / "flights.csv", index=False)
    scored = subprocess.run(
        [str(bin_dir / "late-score"), "--repo", str(origin), "--stage", "prod",
         "--input", "flights.csv", "--output", "scores.csv",
         "--remote-config", f"url=s3://{team['bucket']}/dvc"],
        cwd=job, env={**outside, **s3_server.env()}, capture_output=True, text=True,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert sorted(path.name for path in job.iterdir()) == [
        ".late-score",
        "flights.csv",
        "scores.csv",
    ]
    pipeline = alice.run(
        "python", "-m", "stages.late.predict", "--input", str(job / "flights.csv"),
        "--output", str(tmp_path / "pipeline.csv"),
    )  # fmt: skip
    assert pipeline.returncode == 0, pipeline.stderr
    assert (job / "scores.csv").read_bytes() == (tmp_path / "pipeline.csv").read_bytes()

    # Again: nothing fetched (the version's commit is in the cache), the same scores.
    again = subprocess.run(
        [str(bin_dir / "late-score"), "--repo", str(origin), "--version", version,
         "--input", "flights.csv", "--output", "again.csv"],
        cwd=job, env=outside, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "fetching" not in again.stderr
    assert (job / "again.csv").read_bytes() == (job / "scores.csv").read_bytes()

    unknown = subprocess.run(
        [str(bin_dir / "late-score"), "--repo", str(origin), "--stage", "staging",
         "--input", "flights.csv", "--output", "none.csv"],
        cwd=job, env=outside, capture_output=True, text=True,
    )  # fmt: skip
    assert unknown.returncode == 1
    [line] = unknown.stderr.strip().splitlines()
    assert "no late-model at stage staging" in line
    assert not (job / "none.csv").exists()


def test_a_version_or_stage_that_does_not_exist_stops_with_one_line(
    team: dict, prod_version: str
) -> None:
    alice = team["alice"]
    missing = run_make(alice.root, "promote", "P=late", "VERSION=v9.9.9", "STAGE=prod")
    assert missing.returncode != 0
    assert "registry: Version 'v9.9.9' is not registered" in missing.stderr
    unknown = run_make(alice.root, "promote", "P=late", "VERSION=v1.0.0", "STAGE=staging")
    assert unknown.returncode != 0
    assert "registry: Allowed stages are" in unknown.stderr and "'prod'" in unknown.stderr
    for result in (missing, unknown):
        assert "Traceback" not in result.stderr


def test_no_credential_lands_in_a_tag_a_commit_or_a_tracked_file(
    team: dict, prod_version: str, s3_server: S3Server
) -> None:
    alice, origin = team["alice"], team["origin"]
    secret = s3_server.secret_access_key
    key_id = s3_server.access_key_id
    everything = [
        alice.run("git", "log", "--all", "-p").stdout,
        alice.run("git", "for-each-ref", "--format=%(refname) %(contents)", "refs/tags").stdout,
        subprocess.run(
            ["git", "log", "--all", "-p"], cwd=origin, capture_output=True, text=True
        ).stdout,
        *(
            (alice.root / name).read_text(errors="replace")
            for name in alice.run("git", "ls-files").stdout.splitlines()
            if (alice.root / name).is_file()
        ),
    ]
    for text in everything:
        assert secret not in text and key_id not in text
