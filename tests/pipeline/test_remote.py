"""Team storage: ``make push`` / ``make pull`` against a real S3 server that checks signatures.

One clone runs the pipeline and pushes (data, model and run-cache); a fresh clone pulls every
output byte for byte; a clone of the commit before ``dvc.lock`` existed reproduces the pipeline
from the shared run-cache without computing a stage. Broken remotes fail clearly and touch
nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import STAGES, Repo, output_digests, ran_stages, run_make
from tests.pipeline.s3_server import S3Server, free_port
from tools.storage.outputs import object_path

MODEL = "models/late/model.skops"


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


def flip_bytes(path: Path) -> None:
    """Corrupt a file in place as a failing disk would: bytes flipped; size, mode and mtime kept."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)  # DVC's cache objects are read-only
    path.write_bytes(bytes(data))
    path.chmod(stat.st_mode)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def model_object(repo: Repo) -> str:
    """The cache object name of late's model, as dvc.lock records it."""
    lock = YAML(typ="safe").load(repo.root / "dvc.lock")
    (out,) = [o for o in lock["stages"]["late-train"]["outs"] if o["path"] == MODEL]
    return out["md5"]


def test_push_refuses_a_corrupted_cache_object_and_sends_nothing(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path
) -> None:
    origin, _ = pushed
    repo = Repo(tmp_path / "repo")
    shutil.copytree(origin.root, repo.root, symlinks=True)
    bucket = f"fresh-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    point_at(repo, bucket)
    value = model_object(repo)
    # DVC trusts its state database (inode, size, mtime) once it has hashed a file: the state a
    # repository is in after any dvc command.
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}
    flip_bytes(repo.root / object_path(value))
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}  # DVC sees nothing
    result = make(repo, "push", s3_server.env())
    assert result.returncode != 0, result.stdout + result.stderr
    assert (
        f"outputs: {MODEL}: the cache object {object_path(value)} is corrupted: its bytes hash to "
    ) in result.stderr
    assert "nothing pushed; rm it, then dvc commit --force late-train" in result.stderr
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def copy_bucket(s3_server: S3Server, source: str) -> str:
    """A new bucket holding a copy of every object of `source`."""
    client = s3_server.client()
    bucket = f"copy-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    for item in client.list_objects_v2(Bucket=source).get("Contents", []):
        client.copy_object(
            Bucket=bucket, Key=item["Key"], CopySource={"Bucket": source, "Key": item["Key"]}
        )
    return bucket


def test_pull_refuses_a_corrupted_remote_object_and_does_not_check_it_out(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path
) -> None:
    origin, bucket = pushed
    bad = copy_bucket(s3_server, bucket)
    value = model_object(origin)
    key = f"dvc/files/md5/{value[:2]}/{value[2:]}"
    client = s3_server.client()
    data = bytearray(client.get_object(Bucket=bad, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF
    client.put_object(Bucket=bad, Key=key, Body=bytes(data))
    teammate = clone(origin.root, tmp_path / "teammate")
    point_at(teammate, bad)
    result = make(teammate, "pull", s3_server.env())
    assert result.returncode != 0
    assert (
        f"outputs: {MODEL}: the object {value} arrived corrupted: its bytes hash to "
        in result.stderr
    )
    assert "removed from the cache, not checked out" in result.stderr
    assert not (teammate.root / MODEL).exists()
    assert not (teammate.root / object_path(value)).exists()


def test_pull_from_an_empty_bucket_says_the_remote_holds_nothing(
    pushed: tuple[Repo, str], s3_server: S3Server, tmp_path: Path
) -> None:
    origin, _ = pushed
    empty = f"empty-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=empty)
    teammate = clone(origin.root, tmp_path / "teammate")
    point_at(teammate, empty)
    result = make(teammate, "pull", s3_server.env())
    assert result.returncode != 0
    assert "outputs: the remote 'storage' holds none of the " in result.stderr, result.stderr
    assert (
        "nothing was pulled; check its url (dvc remote list: a wrong bucket or prefix?)"
        in result.stderr
    )
    assert teammate.is_clean()
