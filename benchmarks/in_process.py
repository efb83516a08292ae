"""The pipeline's floor: every stage's functions called in one Python process, no files between.

    python -m benchmarks.in_process [--timings FILE]   (from a project directory with params.yaml)

It computes what ``dvc repro`` computes (the raw tables, splits, features, model, metrics and plot
rows, predictions, drift and the model card's facts) with the same functions and params, but
reads only the source tables and writes nothing: no Parquet between stages, no second Python
start-up, no imports paid twice, no DVC. ``benchmarks.pipeline`` times it beside ``dvc repro -f``.
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

from stages.card import card_facts, library_versions, render_card
from stages.drift import drift_by_month, largest_psi, psi_rows
from stages.evaluate import EVALUATED_SPLITS, evaluate_split, feature_importance
from stages.featurize import build_features, summarise_schedule, with_label
from stages.ingest import read_source, sample_flights
from stages.model_io import model_bytes
from stages.params import load_params
from stages.predict import score_flights
from stages.schema import FEATURE_SCHEMA, PROCESSED_SCHEMA, check_table
from stages.split import describe_splits, label_flights, split_flights
from stages.train import fit_model

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
    """Every stage's computation once, in order, each timed under its stage's name; the metrics."""
    with timed(SETUP, timings):
        params = {
            name: load_params(name)
            for name in ("ingest", "split", "featurize", "train", "evaluate", "drift")
        }
    with timed("ingest", timings):
        tables = read_source(params["ingest"].source)
        flights = sample_flights(
            tables["flights"], params["ingest"].sample_frac, params["ingest"].seed
        )
    with timed("split", timings):
        labelled, unlabelled = label_flights(flights, params["split"].late_threshold_min)
        splits = split_flights(labelled, params["split"])
        describe_splits(splits, len(flights), unlabelled)
    with timed("featurize", timings):
        side = {name: tables[name] for name in ("weather", "planes", "airports")}
        summary = summarise_schedule(flights)
        processed = {
            name: check_table(
                with_label(
                    build_features(frame, summary, **side, params=params["featurize"]), frame
                ),
                PROCESSED_SCHEMA,
                name,
            )
            for name, frame in splits.items()
        }
    with timed("train", timings):
        model = fit_model(processed["train"], params["train"])
        saved = model_bytes(model)
    with timed("evaluate", timings):
        metrics = {}
        for name in EVALUATED_SPLITS:
            metrics[name], _ = evaluate_split(model, processed[name], params["evaluate"])
        feature_importance(model, processed["valid"], params["evaluate"])
    with timed("predict", timings):
        score_flights(
            model, splits["test"], summary, side, params["featurize"], params["evaluate"].threshold
        )
    with timed("drift", timings):
        later = [check_table(processed[name], FEATURE_SCHEMA, name) for name in ("valid", "test")]
        by_month = drift_by_month(processed["train"], pd.concat(later), params["drift"].bins)
        psi_rows(by_month), largest_psi(by_month)
    with timed("card", timings):
        facts = card_facts(
            {"models/model.skops": hashlib.md5(saved).hexdigest()},
            {name: dataclasses.asdict(value) for name, value in params.items()},
            metrics,
            library_versions(["scikit-learn", "numpy", "pandas"]),
        )
        render_card(facts)
    return metrics


def main(argv: list[str] | None = None) -> None:
    """Run every stage's computation once, in order; write the timings if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", type=Path, help="JSON file for each stage's seconds")
    args = parser.parse_args(argv)
    timings: dict[str, float] = {}
    metrics = run_pipeline(timings)
    log.info("test ROC AUC %s", metrics["test"]["roc_auc"])
    if args.timings is not None:
        args.timings.write_text(json.dumps(timings, indent=2) + "\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main()
