"""The DVC workflow under real ``dvc`` on a sample: repro, incremental runs, determinism,
experiments, diffs between commits, and params typos.

Each test works on its own copy of a repository in which the pipeline has already run once
(see conftest.py), so ``dvc repro`` there starts from an up-to-date pipeline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from stages.late.contract import FEATURES, PROCESSED_SCHEMA
from stages.late.scoring import load_late_model
from tests.conftest import SAMPLE_HGB, STAGES, Repo, ran_stages

# The point metrics, the 95% interval of each headline one beside it, and what the intervals are.
HEADLINE = ("roc_auc", "average_precision", "log_loss")
METRIC_KEYS = {
    *HEADLINE, "brier", "n", "positive_rate", "interval",
    *(f"{name}_{end}" for name in HEADLINE for end in ("low", "high")),
}  # fmt: skip
# docs/experiments.md's `dvc exp show` for an 80-column terminal.
NARROW_EXP_SHOW = (
    "exp", "show", "--no-pager", "--drop", ".*",
    "--keep", r"Experiment|^test\.roc_auc$|^valid\.roc_auc$|late\.train\.model",
)  # fmt: skip
# How long the queue test waits for two queued experiments before it gives up.
QUEUE_TIMEOUT_S = 600


def test_first_repro_runs_every_stage_and_writes_every_output(
    reproduced: tuple[Path, list[str]], repo: Repo
) -> None:
    assert reproduced[1] == STAGES
    root = repo.root
    for name in ("airlines", "airports", "flights", "planes", "weather"):
        assert (root / "data" / "raw" / f"{name}.parquet").is_file()
    processed = pd.read_parquet(root / "data" / "late" / "processed" / "test.parquet")
    assert list(processed.columns) == list(PROCESSED_SCHEMA)
    assert processed["month"].min() == 11
    metrics = json.loads((root / "metrics" / "late" / "metrics.json").read_text())
    for split in ("valid", "test"):
        assert set(metrics[split]) == METRIC_KEYS
        assert 0.6 < metrics[split]["roc_auc"] < 1.0
        assert (
            metrics[split]["roc_auc_low"]
            < metrics[split]["roc_auc"]
            < metrics[split]["roc_auc_high"]
        )
        # The scored rows each split's intervals came from, one per flight, kept by DVC.
        scored = pd.read_parquet(root / "data" / "late" / "evaluation" / f"{split}.parquet")
        assert len(scored) == metrics[split]["n"]
    data = json.loads((root / "metrics" / "late" / "data.json").read_text())
    labelled = sum(data["splits"][split]["flights"] for split in ("train", "valid", "test"))
    assert labelled + data["excluded_no_arr_delay"] == data["flights"]
    model = load_late_model(root / "models" / "late" / "model.skops")
    assert model.predict_proba(processed[FEATURES].head(5)).shape == (5, 2)
    plots = repo.run("dvc", "plots", "show", "--json").stdout
    for plot in ("roc", "precision_recall", "calibration", "confusion_test", "importance", "drift"):
        plot = f"late-{plot}"
        assert plot in plots


def test_second_repro_runs_nothing(repo: Repo) -> None:
    assert repo.repro() == []
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}
    assert repo.is_clean()


def test_train_param_change_reruns_train_and_downstream_only(repo: Repo) -> None:
    repo.set_params({"late.train": {"hgb": {**SAMPLE_HGB, "max_iter": 40}}})
    assert repo.repro() == ["late-train", "late-evaluate", "late-predict", "late-card"]


def test_featurize_param_change_reruns_featurize_and_downstream(repo: Repo) -> None:
    repo.set_params({"late.featurize": {"holiday_horizon_days": 7}})
    assert repo.repro() == [
        "late-featurize", "late-train", "late-evaluate", "late-predict", "late-drift", "late-card"
    ]  # fmt: skip


def test_an_edit_that_changes_no_output_stops_at_that_stage(repo: Repo) -> None:
    """split's outputs come out byte-identical, so nothing downstream of it runs again."""
    with (repo.root / "stages" / "late" / "split.py").open("a") as module:
        module.write("\n# a comment\n")
    assert repo.repro() == ["late-split"]


def test_forced_repro_reproduces_every_output_byte_for_byte(repo: Repo) -> None:
    lock = (repo.root / "dvc.lock").read_bytes()
    assert repo.repro("-f") == STAGES
    assert (repo.root / "dvc.lock").read_bytes() == lock
    assert repo.is_clean()  # metrics/ are identical too


def experiment_metrics(repo: Repo) -> dict[str, dict]:
    """Test metrics of every experiment ``dvc exp show --json`` lists, by experiment name."""
    found = {}
    for baseline in json.loads(repo.run("dvc", "exp", "show", "--json").stdout):
        for experiment in baseline.get("experiments") or []:
            for rev in experiment["revs"]:
                metrics = rev["data"]["metrics"]["metrics/late/metrics.json"]["data"]
                found[rev["name"]] = metrics["test"]
    return found


def test_exp_run_records_an_experiment_with_its_metrics(repo: Repo) -> None:
    result = repo.run("dvc", "exp", "run", "-n", "finer", "-S", "late.evaluate.curve_points=51")
    # predict and card read the evaluate section too (the threshold; the card lists all params)
    assert ran_stages(result.stdout) == ["late-evaluate", "late-predict", "late-card"]
    metrics = experiment_metrics(repo)
    assert set(metrics["finer"]) == METRIC_KEYS
    # The narrow form docs/experiments.md gives fits a terminal of 80 columns, nothing cut.
    shown = repo.run("dvc", *NARROW_EXP_SHOW, env={"COLUMNS": "80"}).stdout
    assert "[finer]" in shown and "…" not in shown, shown
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80, shown


def finished_experiments(repo: Repo, names: tuple[str, ...]) -> int:
    """How many of the experiments ``names`` Git holds a result ref for (``refs/exps/<baseline
    hash, split>/<name>``; the queue's own refs under ``refs/exps/celery`` and ``exec`` do not
    count): a cheap poll, where ``dvc queue status`` costs a DVC start-up each time."""
    refs = repo.run("git", "for-each-ref", "--format=%(refname)", "refs/exps").stdout.split()
    return sum(1 for ref in refs if ref.rsplit("/", 1)[-1] in names and "/celery/" not in ref)


def test_two_queued_experiments_both_finish(repo: Repo) -> None:
    # evaluate params: each experiment re-runs one stage, so the test measures the queue itself
    repo.run("dvc", "exp", "run", "--queue", "-n", "cut-04", "-S", "late.evaluate.threshold=0.4")
    repo.run("dvc", "exp", "run", "--queue", "-n", "cut-06", "-S", "late.evaluate.threshold=0.6")
    repo.run("dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + QUEUE_TIMEOUT_S
    while finished_experiments(repo, ("cut-04", "cut-06")) < 2 and time.monotonic() < deadline:
        status = (
            repo.run("dvc", "queue", "status").stdout if int(time.monotonic()) % 15 == 0 else ""
        )
        if "Failed" in status:
            break
        time.sleep(1)
    # The queue marks a task done just after its result ref lands.
    status = repo.run("dvc", "queue", "status").stdout
    while status.count("Success") < 2 and "Failed" not in status and time.monotonic() < deadline:
        time.sleep(2)
        status = repo.run("dvc", "queue", "status").stdout
    assert status.count("Success") == 2, status + repo.run("dvc", "queue", "logs", "cut-04").stdout
    metrics = experiment_metrics(repo)
    assert set(metrics["cut-04"]) == METRIC_KEYS and set(metrics["cut-06"]) == METRIC_KEYS
    assert repo.is_clean()  # queued experiments run in temporary copies
    repo.run("dvc", "queue", "stop", check=False)  # a worker that lingers (it happens) stops


def test_metrics_and_params_diff_between_commits(repo: Repo) -> None:
    repo.set_params({"late.train": {"hgb": {**SAMPLE_HGB, "max_iter": 20}}})
    repo.repro()
    repo.commit("fewer boosting rounds")
    params = json.loads(repo.run("dvc", "params", "diff", "HEAD~1", "--json").stdout)
    assert params["params.yaml"]["late.train.hgb.max_iter"] == {"old": 60, "new": 20, "diff": -40}
    metrics = json.loads(repo.run("dvc", "metrics", "diff", "HEAD~1", "--json").stdout)
    changed = metrics["metrics/late/metrics.json"]
    assert changed["test.roc_auc"]["old"] != changed["test.roc_auc"]["new"]
    assert "metrics/late/data.json" not in metrics  # the data did not change


TYPO_MESSAGE = "unknown key 'late.train.n_estimatorz' (did you mean"


def test_typo_in_params_by_hand_fails_the_first_stage_reading_it(repo: Repo) -> None:
    text = (repo.root / "params.yaml").read_text()
    (repo.root / "params.yaml").write_text(
        text.replace("  train:\n", "  train:\n    n_estimatorz: 10\n")
    )
    result = repo.run("dvc", "repro", check=False)
    assert result.returncode != 0
    assert ran_stages(result.stdout) == ["late-train"]
    assert TYPO_MESSAGE in result.stderr + result.stdout


def test_typo_appended_by_exp_run_fails_and_leaves_the_workspace(repo: Repo) -> None:
    """``--temp`` runs in a temporary copy: the workspace is exactly as it was after a failure."""
    lock = (repo.root / "dvc.lock").read_bytes()
    result = repo.run(
        "dvc", "exp", "run", "--temp", "-S", "+late.train.n_estimatorz=10", check=False
    )
    assert result.returncode != 0
    assert TYPO_MESSAGE in result.stderr + result.stdout
    assert repo.is_clean()
    assert (repo.root / "dvc.lock").read_bytes() == lock
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}


def test_typo_in_a_workspace_exp_run_is_undone_by_git_and_dvc_checkout(repo: Repo) -> None:
    """A workspace run leaves DVC's edit of params.yaml for debugging and has removed the
    failing stage's output; ``git checkout -- . && dvc checkout`` restores everything."""
    result = repo.run("dvc", "exp", "run", "-S", "+late.train.n_estimatorz=10", check=False)
    assert result.returncode != 0
    assert TYPO_MESSAGE in result.stderr + result.stdout
    assert not (repo.root / "models" / "late" / "model.skops").exists()
    repo.run("git", "checkout", "--", ".")
    repo.run("dvc", "checkout")
    assert repo.is_clean()
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}


def test_a_successful_workspace_run_is_undone_by_the_documented_recipe(repo: Repo) -> None:
    """Restoring params.yaml alone leaves the run's dvc.lock behind (docs/experiments.md shows
    it); ``git checkout -- . && dvc checkout`` undoes the whole run."""
    repo.run("dvc", "exp", "run", "-S", "late.evaluate.curve_points=51")
    repo.run("git", "checkout", "params.yaml")
    repo.run("dvc", "checkout")
    assert not repo.is_clean()
    assert "dvc.lock" in repo.run("git", "status", "--short").stdout
    repo.run("git", "checkout", "--", ".")
    repo.run("dvc", "checkout")
    assert repo.is_clean()
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}
