"""The paired comparison tool's parts: reading a revision's scored rows from the local DVC cache
(checked against their hash), pairing two revisions, and the tables it prints."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from stages.core.hashing import md5_of_file
from stages.core.intervals import Comparison, Interval, MetricSpec, RowsSpec, scored_rows
from tools.review.compare import CompareError
from tools.review.paired import (
    SplitComparison,
    compare_project,
    compare_split,
    project_table,
    resolve_run,
    split_files,
)

SPEC = RowsSpec(("id",), "date", (MetricSpec("roc_auc", "roc_auc", "y", "p"),), resamples=200)


def rows(n: int = 400, shift: float = 0.0) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "id": range(n),
            "date": [f"2013-11-{1 + i % 20:02d}" for i in range(n)],
            "y": [i % 3 == 0 for i in range(n)],
        }
    )
    frame["p"] = [
        (0.6 if y else 0.4) + ((i * 37) % 100) / 250 + shift for i, y in enumerate(frame["y"])
    ]
    return scored_rows(frame, SPEC)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def cache_object(root: Path, path: Path) -> str:
    """Put `path` into root's DVC cache, as DVC lays it out; its hash."""
    value = md5_of_file(path)
    target = root / ".dvc/cache/files/md5" / value[:2] / value[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(path.read_bytes())
    return value


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A Git repository whose commit's dvc.lock names data/late/evaluation, cached locally."""
    root = tmp_path / "repo"
    folder = root / "data/late/evaluation"
    folder.mkdir(parents=True)
    rows().to_parquet(folder / "test.parquet")
    listing = tmp_path / "listing.json"
    listing.write_text(
        json.dumps(
            [{"md5": cache_object(root, folder / "test.parquet"), "relpath": "test.parquet"}]
        )
    )
    directory = cache_object(root, listing) + ".dir"
    (root / ".dvc/cache/files/md5" / directory[:2] / directory[2:-4]).rename(
        root / ".dvc/cache/files/md5" / directory[:2] / directory[2:]
    )
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  late-evaluate:\n    cmd: x\n    outs:\n"
        f"    - path: data/late/evaluation\n      md5: {directory}\n"
    )
    (root / "dvc.yaml").write_text(
        "stages:\n  late-evaluate:\n    cmd: x\n    outs:\n      - data/late/evaluation\n"
    )
    git(root, "init", "-q")
    git(root, "add", "dvc.lock", "dvc.yaml")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scored")
    monkeypatch.chdir(root)
    return root, git(root, "rev-parse", "HEAD")


def test_a_revisions_rows_are_read_from_the_local_cache(committed: tuple[Path, str]) -> None:
    root, rev = committed
    files, problem = split_files("late", rev)
    assert problem == "" and list(files) == ["test"]
    assert pd.read_parquet(files["test"]).equals(
        pd.read_parquet(root / "data/late/evaluation/test.parquet")
    )
    # The workspace's are its files; a project whose evaluate stage keeps none is told so.
    assert split_files("late", None)[0] == {"test": Path("data/late/evaluation/test.parquet")}
    assert split_files("daily", None)[1].startswith(
        "its evaluate stage keeps no scored rows (data/daily/evaluation is not an output"
    )


def test_rows_missing_or_corrupted_in_the_cache_are_said_in_one_line(committed) -> None:
    root, rev = committed
    (value,) = [
        p
        for p in (root / ".dvc/cache/files/md5").rglob("*")
        if p.is_file() and not p.name.endswith(".dir")
    ]
    value.write_bytes(b"flipped" + value.read_bytes()[7:])
    files, problem = split_files("late", rev)
    assert files == {} and "in the local DVC cache is corrupted: its bytes hash to" in problem
    value.unlink()
    assert split_files("late", rev)[1] == (
        f"data/late/evaluation/test.parquet of {rev[:8]} is not in the local DVC cache: this "
        f"clone never built or pulled them: dvc pull at {rev[:8]} (or dvc exp pull)"
    )
    assert split_files("daily", rev)[1] == (
        f"{rev[:8]} has no scored rows of daily: its dvc.lock records no data/daily/evaluation "
        "(daily-evaluate never ran there, or ran before it kept scored rows)"
    )


def test_the_workspace_against_a_revision_is_paired_on_the_same_rows(committed) -> None:
    root, rev = committed
    (result,) = compare_project("late", None, rev)
    assert result.split == "test" and result.identical
    rows(shift=0.01).to_parquet(root / "data/late/evaluation/test.parquet")  # a monotone shift
    (shifted,) = compare_project("late", None, rev)
    assert shifted.comparisons[0].difference == Interval(0.0, 0.0, 0.0)  # AUC: same ranking


def test_different_rows_are_not_paired() -> None:
    result = compare_split("late", "test", rows(400), rows(300))
    assert result.comparisons == [] and result.rows_differ
    assert result.problem.startswith("the rows differ (400 against 300): the data or the split")
    shifted = compare_split("late", "test", rows(400), rows(400).assign(id=lambda f: f["id"] + 1))
    assert shifted.problem.startswith("the rows differ (as many, but other id)")


def test_names_resolve_to_commits_and_a_bad_one_is_one_line(committed) -> None:
    root, rev = committed
    assert resolve_run("workspace") is None
    assert resolve_run("HEAD") == rev
    git(root, "update-ref", "refs/exps/ab/cdef/nudged", rev)
    assert resolve_run("nudged") == rev
    with pytest.raises(CompareError, match="no-such is neither an experiment nor a revision"):
        resolve_run("no-such")
    tree = git(root, "rev-parse", "HEAD^{tree}")
    other = git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit-tree", tree, "-m", "o")
    git(root, "update-ref", "refs/exps/12/3456/nudged", other)
    with pytest.raises(CompareError, match="2 experiments are called nudged, on different"):
        resolve_run("nudged")


def test_a_workspace_file_that_does_not_parse_is_one_line(committed) -> None:
    root, rev = committed
    (root / "data/late/evaluation/test.parquet").write_bytes(b"not parquet")
    (result,) = compare_project("late", None, rev)
    assert result.comparisons == []
    assert result.problem.startswith("data/late/evaluation/test.parquet cannot be read (")
    assert result.problem.endswith("): re-create it with make repro")


def test_the_table_pairs_says_no_change_or_falls_back_to_the_unpaired_intervals() -> None:
    spec = SPEC.metrics[0]
    better = Comparison(spec, Interval(0.01, 0.004, 0.02))
    paired = [SplitComparison("late", "test", [better])]
    assert project_table("late", paired, {}, "A", "B").splitlines() == [
        "| split | metric | A - B | 95% interval | verdict |",
        "|---|---|---:|---|---|",
        "| test | `roc_auc` | +0.01 | [+0.004, +0.02] | **better** |",
    ]
    same = [SplitComparison("late", "test", [Comparison(spec, Interval(0, 0, 0))])]
    assert project_table("late", same, {}, "A", "B") == (
        "No change: A and B score the same rows identically."
    )
    differ = [SplitComparison("late", "test", [], "the rows differ")]
    metrics = {
        "metrics/late/metrics.json:test.roc_auc": (0.76, 0.75),
        "metrics/late/metrics.json:test.roc_auc_low": (0.73, 0.72),
        "metrics/late/metrics.json:test.roc_auc_high": (0.79, 0.78),
    }
    assert project_table("late", differ, metrics, "A", "B").splitlines() == [
        "Not paired: test: the rows differ.",
        "",
        "| split | metric | B [95% interval] | A [95% interval] |",
        "|---|---|---:|---:|",
        "| test | `roc_auc` | 0.76 [0.73, 0.79] | 0.75 [0.72, 0.78] |",
    ]


def test_an_experiment_that_never_ran_the_project_is_told_apart(committed) -> None:
    """An experiment of another project carries its commit's rows of this one: when this clone
    never built them, the message says the experiment did not run the project."""
    root, rev = committed
    git(
        root,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    child = git(root, "rev-parse", "HEAD")
    for path in (root / ".dvc/cache").rglob("*"):
        if path.is_file():
            path.unlink()
    assert split_files("late", child)[1] == (
        f"data/late/evaluation of {child[:8]} is not in the local DVC cache: {child[:8]} did "
        f"not run late (its rows are those of its commit {rev[:8]}), and this clone never built "
        f"or pulled them: make repro P=late at {rev[:8]}, or dvc pull there"
    )
