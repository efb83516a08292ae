"""Where the flight-delay project's stages read and write: every path, written once.

``dvc.yaml`` declares the same paths as the stages' deps and outs.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "late"
# The shared raw tables the project's stages read; its card states the hash of each, so a change
# to another table (airlines) re-runs nothing of this project.
RAW_TABLES_READ = ("flights", "weather", "planes", "airports")

INTERIM_DIR = Path("data") / PROJECT / "interim"
PROCESSED_DIR = Path("data") / PROJECT / "processed"
PREDICTIONS_DIR = Path("data") / PROJECT / "predictions"
# Each evaluated flight's id, day, label and probability (late-evaluate; `make report` pairs them).
EVALUATION_DIR = Path("data") / PROJECT / "evaluation"
MODEL_DIR = Path("models") / PROJECT
MODEL_FILE = MODEL_DIR / "model.skops"
# The model's name under `artifacts:` in dvc.yaml (`dvc artifacts get . late-model`).
MODEL_ARTIFACT = f"{PROJECT}-model"
CARD_FILE = MODEL_DIR / "model_card.md"
METRICS_DIR = Path("metrics") / PROJECT
METRICS_FILE = METRICS_DIR / "metrics.json"
DATA_METRICS_FILE = METRICS_DIR / "data.json"
PLOTS_DIR = METRICS_DIR / "plots"
DRIFT_FILE = METRICS_DIR / "drift.json"
DRIFT_PLOT_FILE = METRICS_DIR / "drift_psi.json"


def interim_path(split: str) -> Path:
    """The labelled flights of one split, as ``split`` writes them."""
    return INTERIM_DIR / f"{split}.parquet"


def processed_path(split: str) -> Path:
    """The features and label of one split, as ``featurize`` writes them."""
    return PROCESSED_DIR / f"{split}.parquet"
