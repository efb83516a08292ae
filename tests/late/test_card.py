"""late-card: the facts the card states, and the stage's failure on missing inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from ruamel.yaml import YAML

from stages.core.card import library_versions, read_metrics
from stages.core.errors import StageError
from stages.core.params import read_params_file
from stages.late.card import CARD_SPLITS, card_facts, render_card, run, split_note
from stages.late.contract import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES
from stages.late.paths import MODEL_ARTIFACT, MODEL_FILE
from stages.late.scoring import used_features
from stages.late.train import run as fit
from tests.conftest import REPO_ROOT, run_module, write_params
from tests.late.test_train import PARAMS as TRAIN

METRICS = {
    split: {"roc_auc": 0.7, "average_precision": 0.3, "log_loss": 0.4, "brier": 0.1, "n": 10,
            "positive_rate": 0.2}
    for split in ("valid", "test")
}  # fmt: skip


# The features a model fitted without the calendar uses, by kind.
WITHOUT_CALENDAR = {
    "categorical": CATEGORICAL_FEATURES,
    "numeric": [name for name in NUMERIC_FEATURES if name not in ("month", "day_of_year")],
}


def test_card_states_every_fact() -> None:
    document = read_params_file(REPO_ROOT / "params.yaml")
    params = {"ingest": document["ingest"], **document["late"]}
    data = {"data/raw": "abc.dir", "models/late/model.skops": "def"}
    facts = card_facts(data, params, METRICS, library_versions(["numpy"]))
    assert facts["features"] == WITHOUT_CALENDAR  # params.yaml leaves the calendar out
    text = render_card(facts)
    assert "md5 `def`" in text and "`data/raw`: `abc.dir`" in text
    assert "| valid | 0.7 | 0.3 | 0.4 | 0.1 | 10 | 0.2 |" in text
    version = document["late"]["card"]["version"]
    assert text.startswith(f"# Model card: late-model v{version}\n")
    assert (
        f"registers the model of the\ncommit that holds this card as `late-model@v{version}`"
        in text
    )
    assert "## Intended use and limits" in text and "**Limits:**" in text
    assert "numpy " in text and "python " in text
    embedded = json.loads(text.split("```json\n")[1].split("```")[0])
    assert embedded["params"] == json.loads(json.dumps(params))
    assert embedded["label"] == "late = arr_delay >= 30 minutes"
    assert run(data, params, METRICS, library_versions(["numpy"])) == text


def test_card_describes_the_model_as_fitted(processed: pd.DataFrame) -> None:
    """The features, their count and the note on the seasons are those of the fitted Pipeline
    (what ``late.train.drop_features`` leaves), not the contract's: a model without the calendar
    is not said to extrapolate on it."""
    params = {
        "ingest": {},
        "split": {
            "late_threshold_min": 30,
            "strategy": "time",
            "valid_month": 10,
            "test_month": 11,
            "test_frac": 0.25,
            "seed": 222,
        },
        "featurize": {"realtime_cutoff_min": 60},
        "train": {"model": "hgb", "drop_features": []},
        "card": {"version": "1.0.0"},
    }
    data = {"models/late/model.skops": "def"}
    for drop, uses_calendar in ((("month", "day_of_year"), False), ((), True)):
        model = fit(processed, dataclasses.replace(TRAIN, drop_features=drop))
        params["train"]["drop_features"] = list(drop)
        text = run(data, params, METRICS, {})
        facts = json.loads(text.split("```json\n")[1].split("```")[0])
        assert facts["features"] == used_features(model)
        assert facts["features"]["categorical"] + facts["features"]["numeric"] == [
            name for name in FEATURES if name not in drop
        ]
        assert facts["features_left_out"] == list(drop)
        assert f"- Numeric ({len(NUMERIC_FEATURES) - len(drop)})" in text
        assert ("take values in those months" in text) == uses_calendar
        assert ("leaves the calendar" in text) == (not uses_calendar)
        assert "known 60 minutes before departure" in text


def test_the_card_describes_the_split_that_was_used() -> None:
    """The time split: months in order; the random split: a draw from the same days (the card
    said the test months come after the training months for both)."""
    time_split = {
        "strategy": "time",
        "valid_month": 10,
        "test_month": 11,
        "test_frac": 0.25,
        "seed": 222,
    }
    text = split_note(time_split, WITHOUT_CALENDAR)
    assert text.startswith(
        "January-September, validated up to October and tested on November-December, so the "
        "months it is tested on come after those it was trained on."
    )
    random_split = {**time_split, "strategy": "random"}
    text = split_note(random_split, WITHOUT_CALENDAR)
    assert text == (
        "its test flights are 25% of the year drawn at random (seed 222), from the same days as "
        "its training flights, so its test scores say how well it scores days it has seen, not "
        "how it forecasts new ones."
    )
    assert "come after" not in text and "calendar" not in text


def test_read_metrics_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=r"metrics\.json: file not found"):
        read_metrics(tmp_path / "metrics.json", CARD_SPLITS, "the evaluate stage")
    (tmp_path / "metrics.json").write_text('{"valid": {}}')
    with pytest.raises(StageError, match=r"no metrics for \['test'\]"):
        read_metrics(tmp_path / "metrics.json", CARD_SPLITS, "the evaluate stage")


def test_stage_without_a_model_names_it_and_writes_nothing(tmp_path: Path) -> None:
    write_params(tmp_path)
    result = run_module("late.card", tmp_path)
    assert result.returncode == 1
    assert "models/late/model.skops: file not found" in result.stderr
    assert not (tmp_path / "models").exists()


def test_the_card_names_the_artifact_dvc_yaml_declares() -> None:
    artifacts = YAML(typ="safe", pure=True).load((REPO_ROOT / "dvc.yaml").read_text())["artifacts"]
    assert artifacts[MODEL_ARTIFACT]["path"] == MODEL_FILE.as_posix()
