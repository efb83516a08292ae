"""The predict, drift and card stages in a reproduced repository, checked against what DVC and
the evaluate stage recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from stages.core.io import read_table
from stages.late.contract import FEATURES, ID_COLUMNS, PROCESSED_SCHEMA
from stages.late.scoring import load_late_model, predict_late
from stages.raw import RAW_TABLES
from tests.conftest import Repo


def lock_hashes(root: Path) -> dict[str, str]:
    """The md5 of every output ``dvc.lock`` records, by path."""
    lock = YAML(typ="safe", pure=True).load((root / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage["outs"]}


def test_predict_stage_scores_equal_evaluate_to_the_last_bit(
    reproduced: tuple[Path, list[str]],
) -> None:
    root = reproduced[0]
    predictions = pd.read_parquet(root / "data" / "late" / "predictions" / "test.parquet")
    processed = read_table(root / "data" / "late" / "processed" / "test.parquet", PROCESSED_SCHEMA)
    scores = predict_late(load_late_model(root / "models" / "late" / "model.skops"), processed)
    assert np.array_equal(predictions["p_late"].to_numpy(), scores)  # exact, not approximate
    assert predictions[ID_COLUMNS].astype(str).equals(processed[ID_COLUMNS].astype(str))
    threshold = YAML(typ="safe", pure=True).load((root / "params.yaml").read_text())
    assert predictions["late"].equals(
        predictions["p_late"] >= threshold["late"]["evaluate"]["threshold"]
    )


def test_predict_command_scores_a_new_csv_in_the_repository(repo: Repo) -> None:
    """A user's own file: December flights as CSV, without outcome columns or weather times."""
    flights = read_table(repo.root / "data" / "raw" / "flights.parquet", RAW_TABLES["flights"])
    december = flights[flights["month"] == 12].drop(
        columns=["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time", "time_hour"]
    )
    december.to_csv(repo.root / "december.csv", index=False)
    result = repo.run(
        "python", "-m", "stages.late.predict", "--input", "december.csv", "--output", "scores.csv"
    )
    assert f"scored {len(december)} of {len(december)} flights (100%)" in result.stderr
    scores = pd.read_csv(repo.root / "scores.csv")
    assert len(scores) == len(december)
    assert scores["p_late"].between(0, 1).all()


def test_model_card_states_the_hashes_dvc_recorded(reproduced: tuple[Path, list[str]]) -> None:
    root = reproduced[0]
    card = (root / "models" / "late" / "model_card.md").read_text()
    facts = json.loads(card.split("```json\n")[1].split("```")[0])
    recorded = lock_hashes(root)
    lock = YAML(typ="safe", pure=True).load((root / "dvc.lock").read_text())
    read = {dep["path"]: dep["md5"] for dep in lock["stages"]["late-card"]["deps"]}
    tables = [f"data/raw/{name}.parquet" for name in ("flights", "weather", "planes", "airports")]
    assert {path: facts["data"][path] for path in tables} == {path: read[path] for path in tables}
    assert "data/raw/airlines.parquet" not in facts["data"]  # no stage of the project reads it
    assert facts["model"]["md5"] == recorded["models/late/model.skops"]
    metrics = json.loads((root / "metrics" / "late" / "metrics.json").read_text())
    assert facts["metrics"] == {split: metrics[split] for split in ("valid", "test")}
    # The features of the fitted model: all but those the params leave out.
    dropped = YAML(typ="safe", pure=True).load((root / "params.yaml").read_text())["late"]["train"][
        "drop_features"
    ]
    assert facts["features"]["categorical"] + facts["features"]["numeric"] == [
        name for name in FEATURES if name not in dropped
    ]
    assert sorted(facts["features_left_out"]) == sorted(dropped)
    assert facts["params"]["ingest"]["sample_frac"] == 0.05


def test_drift_report_covers_every_later_month_and_feature(
    reproduced: tuple[Path, list[str]],
) -> None:
    rows = json.loads((reproduced[0] / "metrics" / "late" / "drift.json").read_text())
    assert {row["month"] for row in rows} == {"2013-10", "2013-11", "2013-12"}
    assert {row["feature"] for row in rows} == set(FEATURES)
    assert all(row["psi"] >= 0 for row in rows)
