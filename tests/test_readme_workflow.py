"""The README's "Daily workflow", run line by line as written, on a reproduced sample: each
experiment gets exactly the params its `-S` names and the metrics those params give, the kept
one lands on its own branch, and the report and gate compare that branch with main."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT, Repo, yaml_dump

pytestmark = pytest.mark.pipeline

# What each experiment of the README changes, by name: project and params.
EXPERIMENTS = {
    "logreg": ("late", {"late.train.model": "logreg"}),
    "ridge": ("daily", {"daily.train.model": "ridge"}),
    "slow-lr": ("late", {"late.train.hgb.learning_rate": 0.02, "late.train.hgb.max_iter": 800}),
    "random-split": ("late", {"late.split.strategy": "random"}),
}
METRICS = {"late": "metrics/late/metrics.json", "daily": "metrics/daily/metrics.json"}
# `make lab` starts a server that does not return; the notebooks have their own tests.
NOT_RUN = ("make lab",)


def workflow_lines(readme: Path = REPO_ROOT / "README.md") -> list[str]:
    """The command lines of the README's "Daily workflow" block, as written."""
    text = readme.read_text(encoding="utf-8")
    block = text.split("## Daily workflow", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def flat(document: object, prefix: str = "") -> dict[str, object]:
    """A nested mapping as dotted keys."""
    if not isinstance(document, dict):
        return {prefix: document}
    found: dict[str, object] = {}
    for key, value in document.items():
        found.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def params_of(data: dict) -> dict[str, object]:
    return flat(data["params"]["params.yaml"]["data"])


def metrics_of(data: dict, project: str) -> dict[str, object]:
    return flat(data["metrics"][METRICS[project]]["data"])


def test_the_readme_workflow_as_written_gives_each_experiment_its_own_params(
    repo: Repo,
) -> None:
    # The sample's ROC AUC (about 0.70) is under the full data's floor; tolerances are kept.
    gate = YAML(typ="safe").load(repo.root / "gate.yaml")
    gate["late"]["metrics/late/metrics.json"]["test.roc_auc"]["min"] = 0.6
    (repo.root / "gate.yaml").write_text(yaml_dump(gate))
    repo.commit("gate floor for the sample")
    main_head = repo.run("git", "rev-parse", "main").stdout.strip()
    venv = Path(sys.executable).parent.parent
    (repo.root / ".venv").symlink_to(venv)
    # make's own variables, as a command line would set them: the running environment, never
    # re-synced (its .pth would then point at this copy).
    env = {**os.environ, "MAKEFLAGS": f"VENV={venv} INSTALLED=", "COLUMNS": "80"}
    env.pop("PYTHONPATH", None)
    outputs = {}
    for line in workflow_lines():
        if line.startswith(NOT_RUN) or line.startswith("source "):
            continue
        result = subprocess.run(
            ["bash", "-c", f"source .venv/bin/activate && {line}"], cwd=repo.root, env=env,
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        shown = f"{line}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        if line.startswith("make gate"):
            # The gate's verdict on the sample may go either way (make exits 2 on a failing
            # recipe): it must have compared the branch with main, metric by metric.
            said = result.stdout + result.stderr
            verdict = re.search(r"^gate: (passed|FAILED: (late|daily) )", said, re.M)
            assert verdict, shown
        else:
            assert result.returncode == 0, shown
        outputs[line.split("#")[0].strip()] = result.stdout

    baseline, named = _experiments_after(repo)
    base_params = params_of(baseline)
    for name, (project, changed) in EXPERIMENTS.items():
        assert name in named, f"{name} not recorded: {sorted(named)}"
        params = params_of(named[name])
        differing = {
            key: params.get(key) for key in params if params.get(key) != base_params.get(key)
        }
        assert differing == changed, name
        other = "daily" if project == "late" else "late"
        assert metrics_of(named[name], other) == metrics_of(baseline, other), name
        assert metrics_of(named[name], project) != metrics_of(baseline, project), name
    # No experiment trained another's model: each late one has metrics of its own.
    late = [
        json.dumps(metrics_of(named[n], "late"), sort_keys=True)
        for n in EXPERIMENTS
        if n != "ridge"
    ]
    assert len(set(late)) == len(late)
    shown = outputs[next(key for key in outputs if key.startswith("dvc exp show"))]
    assert all(f"[{name}]" in shown for name in EXPERIMENTS), shown
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80, shown

    # The kept experiment is on its own branch; main is where it was.
    assert repo.run("git", "branch", "--show-current").stdout.strip() == "try-slow-lr"
    assert repo.run("git", "rev-parse", "main").stdout.strip() == main_head
    committed = flat(YAML(typ="safe").load(repo.root / "params.yaml"))
    assert committed["late.train.hgb.learning_rate"] == 0.02
    assert committed["late.train.hgb.max_iter"] == 800
    report = (repo.root / "reports/report.md").read_text()
    assert "late.train.hgb.learning_rate" in report
    assert "late.train.hgb.max_iter" in report


def _experiments_after(repo: Repo) -> tuple[dict, dict[str, dict]]:
    """The experiments of main's commit (the README moved HEAD to a branch at it)."""
    main = repo.run("git", "rev-parse", "main").stdout.strip()
    shown = json.loads(repo.run("dvc", "exp", "show", "--json", "--rev", main).stdout)
    (baseline,) = [entry for entry in shown if entry.get("rev") == main]
    named = {
        rev["name"]: rev["data"]
        for experiment in baseline.get("experiments") or []
        for rev in experiment["revs"]
    }
    return baseline["data"], named
