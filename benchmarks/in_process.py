"""The pipeline's floor: every stage's functions called in one Python process, no files between.

    python -m benchmarks.in_process [--timings FILE]   (from a project directory with params.yaml)

It computes what ``dvc repro`` computes (the raw tables, splits, features, model, metrics and plot
rows, predictions, drift and the model card) by calling each stage's own ``run`` function with
the same params, but reads only the source tables and writes nothing: no Parquet between
stages, no second Python start-up, no imports paid twice, no DVC. ``benchmarks.pipeline`` times
it beside ``dvc repro -f``.
The time of each stage's part goes to ``--timings`` as JSON (the imports are paid once, before
any part), so the cost of a stage as its own process can be read stage by stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from stages import ingest
from stages.core.card import CardParams, library_versions
from stages.core.model_io import model_bytes
from stages.core.params import load_params
from stages.core.splits import SPLITS
from stages.daily import card as daily_card
from stages.daily import evaluate as daily_evaluate
from stages.daily import prepare as daily_prepare
from stages.daily import train as daily_train
from stages.daily.params import PrepareParams as DailyPrepareParams
from stages.daily.params import TrainParams as DailyTrainParams
from stages.daily.paths import MODEL_FILE as DAILY_MODEL_FILE
from stages.late import card, drift, evaluate, featurize, split, train
from stages.late.featurize import SIDE_TABLES, summarise_schedule
from stages.late.params import (
    DriftParams,
    EvaluateParams,
    FeaturizeParams,
    SplitParams,
    TrainParams,
)
from stages.late.paths import MODEL_FILE
from stages.late.predict import score_flights
from stages.raw import IngestParams

log = logging.getLogger("benchmarks.in_process")
# Reading params.yaml, before the first stage's part. Python's start-up and the imports are the
# rest of the process's wall time.
SETUP = "setup"


@contextmanager
def timed(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Add the wall time of the block to ``timings[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def run_pipeline(timings: dict[str, float]) -> dict[str, dict]:
    """Every stage's run function once, in order, each timed under its stage's name; each
    project's metrics."""
    with timed(SETUP, timings):
        params = {
            "ingest": load_params("ingest", IngestParams),
            "split": load_params("late.split", SplitParams),
            "featurize": load_params("late.featurize", FeaturizeParams),
            "train": load_params("late.train", TrainParams),
            "evaluate": load_params("late.evaluate", EvaluateParams),
            "drift": load_params("late.drift", DriftParams),
            "daily.prepare": load_params("daily.prepare", DailyPrepareParams),
            "daily.train": load_params("daily.train", DailyTrainParams),
            "daily.card": load_params("daily.card", CardParams),
            "card": load_params("late.card", CardParams),
        }
    with timed("ingest", timings):
        source, _ = ingest.read_source(ingest.source_directory(params["ingest"].source))
        tables = ingest.run(source, params["ingest"])
    with timed("late-split", timings):
        splits, _ = split.run(tables["flights"], params["split"])
    with timed("late-featurize", timings):
        side = {name: tables[name] for name in SIDE_TABLES}
        processed = featurize.run(splits, tables["flights"], side, params["featurize"])
    with timed("late-train", timings):
        model = train.run(processed["train"], params["train"])
        saved = model_bytes(model)
    with timed("late-evaluate", timings):
        frames = {name: processed[name] for name in evaluate.EVALUATED_SPLITS}
        metrics, _, _ = evaluate.run(model, frames, params["evaluate"])
    with timed("late-predict", timings):
        summary = summarise_schedule(tables["flights"])
        score_flights(
            model, splits["test"], summary, side, params["featurize"], params["evaluate"].threshold
        )
    with timed("late-drift", timings):
        later = pd.concat([processed[name] for name in SPLITS[1:]], ignore_index=True)
        drift.run(processed["train"], later, params["drift"])
    with timed("late-card", timings):
        card.run(
            {MODEL_FILE.as_posix(): hashlib.md5(saved).hexdigest()},
            {
                name: dataclasses.asdict(params[name])
                for name in ("ingest", "split", "featurize", "train", "evaluate", "card")
            },
            metrics,
            library_versions(["scikit-learn", "numpy", "pandas"]),
        )
    with timed("daily-prepare", timings):
        days = daily_prepare.run(tables["flights"], tables["weather"], params["daily.prepare"])
    with timed("daily-train", timings):
        daily_model = daily_train.run(days["train"], params["daily.train"])
        daily_saved = model_bytes(daily_model)
    with timed("daily-evaluate", timings):
        daily_metrics, _, _ = daily_evaluate.run(daily_model, days)
    with timed("daily-card", timings):
        daily_card.render_card(
            params["daily.card"].version,
            {DAILY_MODEL_FILE.as_posix(): hashlib.md5(daily_saved).hexdigest()},
            {name: dataclasses.asdict(params[f"daily.{name}"]) for name in ("prepare", "train")},
            daily_metrics,
            library_versions(["scikit-learn", "numpy", "pandas"]),
        )
    return {"late": metrics, "daily": daily_metrics}


def main(argv: list[str] | None = None) -> None:
    """Run every stage's computation once, in order; write the timings if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", type=Path, help="JSON file for each stage's seconds")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    metrics = run_pipeline(timings)
    log.info("late: test ROC AUC %s", metrics["late"]["test"]["roc_auc"])
    log.info("daily: test MAE %s", metrics["daily"]["test"]["model"]["mae"])
    if args.timings is not None:
        args.timings.write_text(json.dumps(timings, indent=2) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main()
