"""The projects side by side under real ``dvc``: they share ``ingest`` and the core, and neither
disturbs the other. Each test works on its own copy of the reproduced repository."""

from __future__ import annotations

import json
import re
import subprocess

from ruamel.yaml import YAML

from tests.conftest import STAGES, Repo
from tools.checks.dvc_lint import module_closure, read_sources, repository_projects, stage_entry

LATE = [name for name in STAGES if name.startswith("late-")]
DAILY = [name for name in STAGES if name.startswith("daily-")]


def importers_of(repo: Repo, module: str) -> list[str]:
    """The stages whose command imports ``module``, directly or not, in dvc.yaml's order."""
    sources = read_sources(repo.root)
    pipeline = YAML(typ="safe", pure=True).load((repo.root / "dvc.yaml").read_text())
    return [
        name
        for name, stage in pipeline["stages"].items()
        if module in module_closure(stage_entry(stage), sources)
    ]


def append_comment(repo: Repo, module: str) -> None:
    """Change a module's file (and so its hash) without changing what it does."""
    path = repo.root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + "\n# an edit that changes the file's hash\n")


def test_ingest_feeds_both_projects(repo: Repo) -> None:
    dot = repo.run("dvc", "dag", "--dot").stdout
    edges = set(re.findall(r'"([\w-]+)" -> "([\w-]+)"', dot))
    assert ("ingest", "late-split") in edges and ("ingest", "daily-prepare") in edges
    assert not any(a.startswith("late-") and b.startswith("daily-") for a, b in edges)
    assert not any(a.startswith("daily-") and b.startswith("late-") for a, b in edges)


def test_editing_a_core_module_reruns_exactly_its_importers_in_both_projects(repo: Repo) -> None:
    importers = importers_of(repo, "stages.core.model_io")
    flights = [name for name in importers if name.startswith(("late-", "daily-"))]
    assert flights == [
        "late-train", "late-evaluate", "late-predict", "daily-train", "daily-evaluate",
    ]  # fmt: skip
    append_comment(repo, "stages.core.model_io")
    assert repo.repro() == importers


def test_editing_one_projects_module_reruns_nothing_of_the_other(repo: Repo) -> None:
    importers = [name for name in DAILY if name != "daily-card"]  # the card reads no table
    assert importers_of(repo, "stages.daily.contract") == importers
    append_comment(repo, "stages.daily.contract")
    assert repo.repro() == importers  # none of late's: they import nothing of daily


def test_a_params_change_of_one_project_reruns_none_of_the_others_stages(repo: Repo) -> None:
    repo.set_params({"daily.train": {"seed": 7}})
    assert repo.repro() == ["daily-train", "daily-evaluate", "daily-card"]
    repo.set_params({"late.evaluate": {"curve_points": 51}})
    assert repo.repro() == ["late-evaluate", "late-predict", "late-card"]


def test_metrics_of_both_projects_are_shown_and_diffed_under_their_own_paths(repo: Repo) -> None:
    shown = json.loads(repo.run("dvc", "metrics", "show", "--json").stdout)
    files = {name for revision in shown.values() for name in revision["data"]}
    assert {"metrics/late/metrics.json", "metrics/daily/metrics.json"} <= files
    repo.set_params({"daily.train.hgb": {"loss": "squared_error"}})
    repo.repro()
    diff = json.loads(repo.run("dvc", "metrics", "diff", "--json").stdout)
    assert list(diff) == ["metrics/daily/metrics.json"]
    assert "test.model.mae" in diff["metrics/daily/metrics.json"]
    params = json.loads(repo.run("dvc", "params", "diff", "--json").stdout)
    assert list(params["params.yaml"]) == ["daily.train.hgb.loss"]


def test_make_repro_for_one_project_runs_only_its_stages(repo: Repo) -> None:
    """``make repro P=daily`` runs ``dvc repro --glob 'daily-*'``: with both projects out of
    date, only the daily stages run, and the late ones stay out of date."""
    dry = subprocess.run(
        ["make", "-n", "repro", "P=daily"], cwd=repo.root, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr
    (command,) = [line for line in dry.stdout.splitlines() if line.startswith("dvc repro")]
    assert command.startswith("dvc repro --glob 'daily-*' || ")
    repo.set_params({"daily.train": {"seed": 7}, "late.train": {"seed": 7}})
    assert repo.repro("--glob", "daily-*") == ["daily-train", "daily-evaluate", "daily-card"]
    status = json.loads(repo.run("dvc", "status", "--json").stdout)
    assert "late-train" in status and not any(name.startswith("daily-") for name in status)


def test_make_refuses_a_project_that_does_not_exist(repo: Repo) -> None:
    result = subprocess.run(
        ["make", "-n", "repro", "P=dialy"], cwd=repo.root, capture_output=True, text=True
    )
    assert result.returncode != 0
    projects = " ".join(repository_projects(repo.root))  # a team's own projects too
    assert f"P=dialy is not a project; the projects are: {projects}" in result.stderr
