"""Command: forecast the late share of airport-days with the daily model, in batches; and the
same scoring for the service.

    python -m stages.daily.score --input DAYS --output FORECASTS [--model MODEL]

``DAYS`` is a CSV (``.csv``, ``.csv.gz``) or Parquet file with the columns of
``contract.FEATURE_SCHEMA``: each airport-day's key (``origin``, ``year``, ``month``, ``day``)
and its features, as ``daily-prepare`` computes them at 18:00 the evening before (the tables of
``data/daily/days/`` hold them); other columns, the target among them, are ignored.
``FORECASTS`` (CSV or Parquet, by its suffix) has one row per input row, in input order: the key
and ``forecast``, the share of the day's departures forecast to leave 15+ minutes late, clipped
to [0, 1] (``scoring.predict_share``, what ``daily-evaluate`` scores). A missing column, or a
value that breaks the contract, stops the command in one line naming the file, column and rows,
with no output written (``stages.core.batch``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.batch import score_command
from stages.core.errors import run_stage
from stages.core.scoring import ScoredRows, Scoring
from stages.daily.contract import FEATURE_SCHEMA, KEY
from stages.daily.paths import MODEL_FILE
from stages.daily.scoring import load_daily_model, predict_share

# What scoring reads of a version's commit besides its model: nothing.
SERVED_FILES: list[Path] = []


def run(model: Pipeline, days: pd.DataFrame) -> pd.DataFrame:
    """The output rows of one batch: each airport-day's key and its forecast."""
    return days[KEY].reset_index(drop=True).assign(forecast=predict_share(model, days))


def scoring(root: Path, model_path: Path) -> Scoring:
    """The model at ``model_path``, ready to score requests (``root`` holds nothing it reads)."""
    model = load_daily_model(model_path)
    return Scoring("daily", FEATURE_SCHEMA, lambda days: ScoredRows(run(model, days)))


def main(argv: list[str] | None = None) -> None:
    """Score ``--input`` into ``--output``."""
    score_command(
        sys.argv[1:] if argv is None else argv,
        prog="python -m stages.daily.score",
        description="Forecast the late share of airport-days with the daily model.",
        default_model=MODEL_FILE,
        load_model=load_daily_model,
        scorer=run,
        schema=FEATURE_SCHEMA,
    )


if __name__ == "__main__":
    run_stage(main, takes_arguments=True)
