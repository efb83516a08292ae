"""The guards around DVC's cache and a failing `make repro`, on real DVC in a reproduced copy: a
run that left dvc.lock naming objects the cache lacks (what a full disk while DVC caches does) and
a partial `*.tmp` object is caught and cleaned; a deleted params section stops `make check` and
`make repro` before DVC deletes anything; a stage failing for another reason gets its
Git-tracked outputs back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import Repo, run_make
from tools.storage.outputs import WorkspaceBusy, check_not_busy, object_path, running_dvc

pytestmark = pytest.mark.pipeline

LATE_METRICS = "metrics/late/metrics.json"


def lock_hash(repo: Repo, stage: str, path: str) -> str:
    """The md5 dvc.lock records for one output of one stage."""
    lock = YAML(typ="safe").load(repo.root / "dvc.lock")
    (out,) = [o for o in lock["stages"][stage]["outs"] if o["path"] == path]
    return out["md5"]


def test_an_output_missing_from_the_cache_and_a_partial_object_are_caught(repo: Repo) -> None:
    # The state a full disk while DVC caches a stage's outputs leaves: dvc.lock names the
    # model, the cache lacks its object, and a partial object sits beside where it should be.
    model = lock_hash(repo, "late-train", "models/late/model.skops")
    cached = repo.root / object_path(model)
    cached.unlink()
    partial = cached.parent / f"{cached.name}.Zq3.tmp"
    partial.write_bytes(b"half an object")
    result = repo.run(
        "python", "-m", "tools.storage.outputs", "cached", check=False
    )  # after make repro
    assert result.returncode == 1
    assert result.stderr == (
        "outputs: removed 1 partial objects a failed run left in the cache\n"
        "outputs: models/late/model.skops (late-train): cache object missing: dvc commit --force "
        "late-train if the workspace copy is intact, else dvc repro -f late-train\n"
    )
    assert not partial.exists()
    pushing = repo.run(
        "python", "-m", "tools.storage.outputs", "verify", check=False
    )  # in make push
    assert (
        "outputs: models/late/model.skops is not in the cache (dvc.lock names it)" in pushing.stderr
    )
    repo.run("dvc", "commit", "--force", "late-train")
    assert cached.is_file()
    assert repo.run("python", "-m", "tools.storage.outputs", "cached", check=False).returncode == 0


def test_an_output_neither_here_nor_cached_is_a_stage_not_run_here(repo: Repo) -> None:
    """A fresh clone after `make repro P=daily`: late's outputs are named by dvc.lock but were
    never made here (nor pulled); that is not a failed write of the cache."""
    model = lock_hash(repo, "late-train", "models/late/model.skops")
    (repo.root / object_path(model)).unlink()
    (repo.root / "models/late/model.skops").unlink()
    result = repo.run("python", "-m", "tools.storage.outputs", "cached", check=False)
    assert (result.returncode, result.stderr) == (0, "")


def delete_section(repo: Repo, dotted: str) -> None:
    """Remove one section of params.yaml, as a user editing it might."""
    yaml = YAML()
    path = repo.root / "params.yaml"
    document = yaml.load(path)
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        node = node[part]
    del node[last]
    yaml.dump(document, path)


@pytest.mark.parametrize("section", ["late.evaluate", "daily"])
def test_a_deleted_params_section_stops_check_and_repro_before_anything_is_deleted(
    repo: Repo, section: str
) -> None:
    delete_section(repo, section)
    check = run_make(repo.root, "check")
    assert check.returncode != 0
    assert f"params '{section}" in check.stderr and "is not in params.yaml" in check.stderr
    result = run_make(repo.root, "repro")
    assert result.returncode != 0
    assert "is not in params.yaml" in result.stderr
    assert "Running stage" not in result.stdout
    # Nothing but params.yaml changed: every tracked metric and plot file is still there.
    assert repo.run("git", "status", "--porcelain").stdout == " M params.yaml\n"


def test_a_failing_stage_gets_its_git_tracked_outputs_back(repo: Repo) -> None:
    repo.set_params({"late.evaluate": {"curve_points": "many"}})
    before = (repo.root / LATE_METRICS).read_bytes()
    result = run_make(repo.root, "repro")
    assert result.returncode != 0
    assert "Running stage 'late-evaluate'" in result.stdout
    assert "outputs: the failed run had deleted" in result.stderr
    assert LATE_METRICS in result.stderr
    assert (repo.root / LATE_METRICS).read_bytes() == before
    assert repo.run("git", "status", "--porcelain").stdout == " M params.yaml\n"


def test_a_live_dvc_path_lock_stops_restore_and_a_dead_one_does_not(tmp_path: Path) -> None:
    rwlock = tmp_path / "rwlock"
    document = {
        "write": {"data/late/processed": {"pid": os.getpid(), "cmd": "dvc repro --glob late-*"}},
        # Above the kernel's largest pid (2**22): no such process.
        "read": {"data/raw": [{"pid": 2**22 + 12345, "cmd": "dvc repro (crashed)"}]},
    }
    rwlock.write_text(json.dumps(document))
    assert running_dvc(rwlock) == [f"dvc repro --glob late-* (pid {os.getpid()})"]
    with pytest.raises(WorkspaceBusy, match=r"another DVC process is running .*dvc repro --glob"):
        check_not_busy(rwlock)
    del document["write"]
    rwlock.write_text(json.dumps(document))
    check_not_busy(rwlock)  # only a crashed run's entry left: nothing holds the workspace
    check_not_busy(tmp_path / "absent")
