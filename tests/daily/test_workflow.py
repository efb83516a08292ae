"""The daily project under real ``dvc`` on a sample: its outputs, experiments and params typos.
(The projects side by side: tests/pipeline/test_monorepo.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from stages.core.io import read_table
from stages.daily.contract import DAY_SCHEMA, FEATURES
from stages.daily.scoring import load_daily_model, predict_share
from tests.conftest import Repo, ran_stages

TYPO_MESSAGE = "unknown key 'daily.train.hgb.max_iterz' (did you mean 'max_iter'?)"


def test_the_first_repro_writes_every_output(reproduced: tuple[Path, list[str]]) -> None:
    root = reproduced[0]
    test = read_table(root / "data" / "daily" / "days" / "test.parquet", DAY_SCHEMA)
    assert test["month"].min() == 11
    model = load_daily_model(root / "models" / "daily" / "model.skops")
    assert predict_share(model, test[FEATURES].head(5)).shape == (5,)
    metrics = json.loads((root / "metrics" / "daily" / "metrics.json").read_text())
    for split in ("train", "valid", "test"):
        assert {"model", "persistence", "mean_7d", "skill"} <= set(metrics[split])
    plots = root / "metrics" / "daily" / "plots" / "test"
    assert sorted(p.name for p in plots.iterdir()) == [
        "EWR.json", "JFK.json", "LGA.json", "residuals.json"
    ]  # fmt: skip


def test_exp_run_records_the_projects_metrics(repo: Repo) -> None:
    result = repo.run("dvc", "exp", "run", "-n", "ridge", "-S", "daily.train.model=ridge")
    assert ran_stages(result.stdout) == ["daily-train", "daily-evaluate", "daily-card"]
    shown = json.loads(repo.run("dvc", "exp", "show", "--json").stdout)
    found = {
        rev["name"]: rev["data"]["metrics"]["metrics/daily/metrics.json"]["data"]
        for baseline in shown
        for experiment in baseline.get("experiments") or []
        for rev in experiment["revs"]
    }
    assert "skill" in found["ridge"]["test"]


def test_a_typo_in_its_params_stops_its_stage_and_leaves_the_workspace(repo: Repo) -> None:
    lock = (repo.root / "dvc.lock").read_bytes()
    result = repo.run(
        "dvc", "exp", "run", "--temp", "-S", "+daily.train.hgb.max_iterz=3", check=False
    )
    assert result.returncode != 0
    assert TYPO_MESSAGE in result.stderr + result.stdout
    assert "Running stage 'late-" not in result.stdout
    assert repo.is_clean()
    assert (repo.root / "dvc.lock").read_bytes() == lock
