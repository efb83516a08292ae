"""The whole pipeline under real ``dvc repro`` on a sample of the flights."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from stages.model_io import load_model
from stages.schema import FEATURES, PROCESSED_SCHEMA
from tests.pipeline.conftest import Run

STAGES = ["ingest", "split", "featurize", "train", "evaluate"]


def ran_stages(output: str) -> list[str]:
    """Names of the stages ``dvc repro`` says it ran, in order."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def test_repro_runs_every_stage_then_nothing(sample_repo: tuple[Path, Run]) -> None:
    root, run = sample_repo
    first = run("dvc", "repro")
    assert ran_stages(first.stdout) == STAGES

    for name in ("airlines", "airports", "flights", "planes", "weather"):
        assert (root / "data" / "raw" / f"{name}.parquet").is_file()
    processed = pd.read_parquet(root / "data" / "processed" / "test.parquet")
    assert list(processed.columns) == list(PROCESSED_SCHEMA)
    assert processed["month"].min() == 11

    metrics = json.loads((root / "metrics" / "metrics.json").read_text())
    for split in ("valid", "test"):
        assert set(metrics[split]) == {
            "roc_auc", "average_precision", "log_loss", "brier", "n", "positive_rate"
        }  # fmt: skip
        assert 0.6 < metrics[split]["roc_auc"] < 1.0
    data = json.loads((root / "metrics" / "data.json").read_text())
    assert data["excluded_no_arr_delay"] > 0
    assert (
        data["train"]["n"] + data["valid"]["n"] + data["test"]["n"] + data["excluded_no_arr_delay"]
        == data["flights"]
    )

    model = load_model(root / "models" / "model.skops")
    assert model.predict_proba(processed[FEATURES].head(5)).shape == (5, 2)

    shown = json.loads(run("dvc", "metrics", "show", "--json").stdout)
    assert shown  # dvc reads the declared metrics files
    plots = run("dvc", "plots", "show", "--json").stdout
    for plot in ("roc", "precision_recall", "calibration", "confusion_test", "importance"):
        assert plot in plots

    second = run("dvc", "repro")
    assert ran_stages(second.stdout) == []
    assert "Data and pipelines are up to date" in second.stdout
    status = run("dvc", "status", "--json")
    assert json.loads(status.stdout) == {}
