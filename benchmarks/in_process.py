"""The pipeline's floor: every stage's functions called in one Python process, no files between.

    python -m benchmarks.in_process      (from a project directory holding params.yaml)

It computes what ``dvc repro`` computes (the raw tables, splits, features, model, metrics and plot
rows, predictions, drift and the model card's facts) with the same functions and params, but
reads only the source tables and writes nothing: no Parquet between stages, no second Python
start-up, no imports paid twice, no DVC. ``benchmarks.pipeline`` times it beside ``dvc repro -f``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

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


def main() -> None:
    """Run every stage's computation once, in order."""
    params = {
        name: load_params(name)
        for name in ("ingest", "split", "featurize", "train", "evaluate", "drift")
    }
    tables = read_source(params["ingest"].source)
    flights = sample_flights(tables["flights"], params["ingest"].sample_frac, params["ingest"].seed)
    labelled, unlabelled = label_flights(flights, params["split"].late_threshold_min)
    splits = split_flights(labelled, params["split"])
    describe_splits(splits, len(flights), unlabelled)
    side = {name: tables[name] for name in ("weather", "planes", "airports")}
    summary = summarise_schedule(flights)
    processed = {
        name: check_table(
            with_label(build_features(frame, summary, **side, params=params["featurize"]), frame),
            PROCESSED_SCHEMA,
            name,
        )
        for name, frame in splits.items()
    }
    model = fit_model(processed["train"], params["train"])
    saved = model_bytes(model)
    metrics = {}
    for name in EVALUATED_SPLITS:
        metrics[name], _ = evaluate_split(model, processed[name], params["evaluate"])
    feature_importance(model, processed["valid"], params["evaluate"])
    score_flights(
        model, splits["test"], summary, side, params["featurize"], params["evaluate"].threshold
    )
    later = [check_table(processed[name], FEATURE_SCHEMA, name) for name in ("valid", "test")]
    by_month = drift_by_month(processed["train"], pd.concat(later), params["drift"].bins)
    psi_rows(by_month), largest_psi(by_month)
    facts = card_facts(
        {"models/model.skops": hashlib.md5(saved).hexdigest()},
        {name: dataclasses.asdict(value) for name, value in params.items()},
        metrics,
        library_versions(["scikit-learn", "numpy", "pandas"]),
    )
    render_card(facts)
    log.info("test ROC AUC %s", metrics["test"]["roc_auc"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main()
