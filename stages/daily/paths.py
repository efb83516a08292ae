"""Where the daily project's stages read and write: every path, written once.

``dvc.yaml`` declares the same paths as the stages' deps and outs.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = "daily"
# The shared raw tables the project's stages read; its card states the hash of each, so a change
# to another table (airlines) re-runs nothing of this project.
RAW_TABLES_READ = ("flights", "weather")

DAYS_DIR = Path("data") / PROJECT / "days"
MODEL_DIR = Path("models") / PROJECT
MODEL_FILE = MODEL_DIR / "model.skops"
CARD_FILE = MODEL_DIR / "model_card.md"
# The model's name in dvc.yaml's `artifacts:` and in the registry (GTO tags).
MODEL_ARTIFACT = f"{PROJECT}-model"
METRICS_DIR = Path("metrics") / PROJECT
METRICS_FILE = METRICS_DIR / "metrics.json"
PLOTS_DIR = METRICS_DIR / "plots"
# Each evaluated airport-day's key, date, truth, forecast and naive forecasts (daily-evaluate;
# `make report` pairs them).
EVALUATION_DIR = Path("data") / PROJECT / "evaluation"


def days_path(split: str) -> Path:
    """The airport-days of one split, as ``prepare`` writes them."""
    return DAYS_DIR / f"{split}.parquet"
