"""Team storage: ``make push`` / ``make pull`` against a real S3 server that checks signatures.

One clone runs the pipeline and pushes (data, model and run-cache); a fresh clone pulls every
output byte for byte; a clone of the commit before ``dvc.lock`` existed reproduces the pipeline
from the shared run-cache without computing a stage. Broken remotes fail clearly and touch
nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import STAGES, Repo, output_digests, ran_stages, run_make
from tests.pipeline.s3_server import S3Server, free_port


def make(repo: Repo, target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``make <target>`` in ``repo`` with the environment running these tests."""
    return run_make(repo.root, target, env=env)


def point_at(repo: Repo, bucket: str) -> None:
    """Set the remote's bucket in .dvc/config.local, as a user does once per clone."""
    repo.run("dvc", "remote", "modify", "--local", "storage", "url", f"s3://{bucket}/dvc")


def clone(origin: Path, target: Path) -> Repo:
    """A fresh ``git clone`` of ``origin``: code, params and lock, no data."""
    subprocess.run(["git", "clone", "-q", str(origin), str(target)], check=True)
    return Repo(target)


@pytest.fixture(scope="module")
def pushed(
    reproduced: tuple[Path, list[str]],
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Repo, str]:
    """A clone that ran the pipeline and pushed it with ``make push``, and its bucket."""
    bucket = f"team-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    origin = Repo(tmp_path_factory.mktemp("origin") / "repo")
    shutil.copytree(reproduced[0], origin.root, symlinks=True)
    point_at(origin, bucket)
    result = make(origin, "push", s3_server.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"remote 'storage' (s3://{bucket}/dvc at {s3_server.endpoint}): reachable" in result.stdout
    )
    return origin, bucket


def test_push_stores_objects_in_the_bucket(pushed: tuple[Repo, str], s3_server: S3Server) -> None:
    _, bucket = pushed
    listing = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="dvc/")
    keys = [item["Key"] for item in listing.get("Contents", [])]
    assert any(key.startswith("dvc/files/md5/") for key in keys)
    assert any(key.startswith("dvc/runs/") for key in keys)  # the run-cache


def test_fresh_clone_pulls_every_output_byte_for_byte(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path
) -> None:
    origin, bucket = pushed
    teammate = clone(origin.root, tmp_path / "teammate")
    point_at(teammate, bucket)
    result = make(teammate, "pull", s3_server.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert output_digests(teammate.root) == output_digests(origin.root)
    assert json.loads(teammate.run("dvc", "status", "--json").stdout) == {}
    assert teammate.is_clean()


def test_run_cache_reproduces_the_pipeline_without_computing(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path
) -> None:
    origin, bucket = pushed
    teammate = clone(origin.root, tmp_path / "teammate")
    teammate.run("git", "checkout", "-q", "HEAD~1")  # the commit before dvc.lock existed
    assert not (teammate.root / "dvc.lock").exists()
    point_at(teammate, bucket)
    pulled = make(teammate, "pull", s3_server.env())
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    result = teammate.run("dvc", "repro")
    assert ran_stages(result.stdout) == []
    for stage in STAGES:
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in result.stdout
    assert output_digests(teammate.root) == output_digests(origin.root)
    assert (teammate.root / "dvc.lock").read_bytes() == (origin.root / "dvc.lock").read_bytes()


@pytest.mark.parametrize("target", ["push", "pull"])
@pytest.mark.parametrize("fault", ["wrong secret", "missing bucket", "server not running"])
def test_broken_remote_fails_clearly_and_touches_nothing(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path, fault: str, target: str
) -> None:
    origin, _ = pushed
    repo = Repo(tmp_path / "repo")
    shutil.copytree(origin.root, repo.root, symlinks=True)
    env = s3_server.env()
    if fault == "wrong secret":
        env = s3_server.env(secret="not-the-secret")
        expected = "the credentials were refused"
    elif fault == "missing bucket":
        point_at(repo, "no-such-bucket")
        expected = "bucket 'no-such-bucket' does not exist"
    else:
        env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
        expected = "cannot connect to the endpoint"
    before = output_digests(repo.root)
    result = make(repo, target, env)
    assert result.returncode != 0
    assert "ERROR: remote 'storage' (s3://" in result.stderr
    assert expected in result.stderr, result.stderr
    assert output_digests(repo.root) == before
    assert repo.is_clean()
