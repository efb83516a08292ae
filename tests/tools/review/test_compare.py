"""Assigning DVC's params and metrics diffs to projects, and naming the base revision."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.review.compare import (
    Change,
    CompareError,
    default_base,
    metric_changes,
    param_changes,
    project_of_metrics_file,
    project_of_param,
    resolve,
)


def test_projects_of_params_and_metrics() -> None:
    assert project_of_param("late.train.hgb.max_iter") == "late"
    assert project_of_param("ingest.sample_frac") == "ingest"
    assert project_of_metrics_file("metrics/daily/metrics.json") == "daily"
    assert project_of_metrics_file("metrics/late/plots/test/roc.json") == "late"
    assert project_of_metrics_file("summary.json") == "shared"


def test_metric_changes_are_named_by_file_and_key_and_sorted() -> None:
    diff = {
        "metrics/late/metrics.json": {"valid.roc_auc": {"old": 0.75, "new": 0.7, "diff": -0.05}},
        "metrics/daily/metrics.json": {"test.skill": {"old": None, "new": 0.1}},
    }
    assert metric_changes(diff) == [
        Change("daily", "metrics/daily/metrics.json:test.skill", None, 0.1),
        Change("late", "metrics/late/metrics.json:valid.roc_auc", 0.75, 0.7),
    ]


def test_param_changes_keep_lists_and_strings() -> None:
    diff = {
        "params.yaml": {
            "late.train.model": {"old": "hgb", "new": "logreg"},
            "daily.train.drop_features": {"old": [], "new": ["wind"]},
        }
    }
    changes = param_changes(diff)
    assert [c.name for c in changes] == ["daily.train.drop_features", "late.train.model"]
    assert changes[1].delta is None
    assert Change("late", "x", 1, 3.5).delta == 2.5


def git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_the_base_is_the_merge_base_with_main_and_a_bad_revision_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "two")
    monkeypatch.chdir(tmp_path)
    main = subprocess.run(
        ["git", "rev-parse", "main"], capture_output=True, text=True
    ).stdout.strip()
    assert default_base() == main
    assert resolve("main") == main
    with pytest.raises(CompareError, match="BASE=nope is not a commit here"):
        resolve("nope")
    git(tmp_path, "branch", "-q", "-m", "main", "trunk")
    with pytest.raises(
        CompareError, match=r"no branch main or origin/main to compare with: pass BASE=<rev>"
    ):
        default_base()
