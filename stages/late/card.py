"""Stage ``late-card``: write the model card, ``models/late/model_card.md``, beside the model.

The card says what the model is and how far to trust it: the version of the data it was trained
on (DVC hashes, the same as ``dvc.lock`` records), the params that made it, its features, its
metrics on valid and test, the library versions, and its intended use and limits. Every figure is
read from the pipeline's own files, never typed by hand, so the card cannot go stale: DVC re-runs
this stage whenever any of them changes.
"""

from __future__ import annotations

import calendar
import dataclasses
import json
import logging
from typing import Any

from stages.core.card import (
    CardParams,
    library_versions,
    metrics_table,
    read_metrics,
    version_section,
)
from stages.core.errors import StageError, run_stage
from stages.core.hashing import md5_of_file
from stages.core.io import write_bytes_atomic
from stages.core.params import load_params
from stages.late.contract import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES, model_features
from stages.late.params import EvaluateParams, FeaturizeParams, SplitParams, TrainParams
from stages.late.paths import (
    CARD_FILE,
    METRICS_FILE,
    MODEL_ARTIFACT,
    MODEL_FILE,
    PROJECT,
    RAW_TABLES_READ,
    processed_path,
)
from stages.raw import IngestParams, raw_path

log = logging.getLogger("stages.late.card")

TRAIN_FILE = processed_path("train")
# Libraries whose versions decide what the model file holds and how it scores.
LIBRARIES = ["scikit-learn", "skops", "numpy", "scipy", "pandas", "pyarrow"]
METRIC_NAMES = ["roc_auc", "average_precision", "log_loss", "brier", "n", "positive_rate"]
# The splits the card reports (train is left out: the model has seen it).
CARD_SPLITS = ("valid", "test")

# What the card says of the seasons, by whether the fitted model uses the calendar.
CALENDAR_USED = """The calendar features it uses ({names}) take values in those months that
  training never saw, so scores late in the year extrapolate (see `metrics/late/drift.json`)."""
CALENDAR_LEFT_OUT = """It leaves the calendar (`month`, `day_of_year`) out, since those take
  values in the test months that training never saw; the weather and holiday features still
  shift between seasons (see `metrics/late/drift.json`)."""
# The calendar features that extrapolate past the training months.
CALENDAR_FEATURES = ("month", "day_of_year")

INTENDED_USE = """\
- **Use:** rank flights leaving New York (EWR, JFK, LGA) by their risk of arriving 30 or more
  minutes late, from what is known {cutoff} minutes before departure: the schedule, the
  aircraft, the destination, the weather at the origin, and how late the origin's departures
  of the day that had left by then were. Score new flights with
  `python -m stages.late.predict` (see its README), which builds the features with the same code.
- **Not for:** decisions about a single passenger or crew member, other airports, or years far
  from the training data. It is a research baseline, not an operational forecast.
- **Limits:** trained on 2013 flights only: {split} Cancelled and diverted
  flights have no label and were left out, so it scores the risk of a late arrival given that
  the flight arrives. A category unseen in training (a new carrier, airport or aircraft make)
  and a missing weather observation are scored as missing values. `p_late` is calibrated on
  the training period's late rate; check `metrics/late/plots/*/calibration.json` before reading it
  as a probability for another period.
"""


def card_facts(
    data: dict[str, str],
    params: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    libraries: dict[str, str],
) -> dict[str, Any]:
    """Everything the card states, as one JSON-ready mapping. The features are those the model
    is fitted on, by kind: ``stages.late.contract.model_features`` of ``late.train``'s
    ``drop_features``, as ``stages.late.train`` builds the model (read without loading
    scikit-learn)."""
    categorical, numeric = model_features(tuple(params["train"]["drop_features"]))
    return {
        "model": {"file": MODEL_FILE.as_posix(), "md5": data[MODEL_FILE.as_posix()]},
        "label": f"{LABEL} = arr_delay >= {params['split']['late_threshold_min']} minutes",
        "data": data,
        "params": params,
        "features": {"categorical": categorical, "numeric": numeric},
        "features_left_out": [
            name
            for name in CATEGORICAL_FEATURES + NUMERIC_FEATURES
            if name not in categorical + numeric
        ],
        "metrics": {split: metrics[split] for split in CARD_SPLITS},
        "libraries": libraries,
    }


def split_note(split: dict[str, Any], features: dict[str, list[str]]) -> str:
    """What the card says of the split that was used (``late.split``): the months of each part
    for the time split, with the seasons note; the draw for the random split."""
    if split["strategy"] == "random":
        return (
            f"its test flights are {split['test_frac']:.0%} of the year drawn at random (seed "
            f"{split['seed']}), from the same days as its training flights, so its test scores say "
            "how well it scores days it has seen, not how it forecasts new ones."
        )
    months = list(calendar.month_name)
    return (
        f"{months[1]}-{months[split['valid_month'] - 1]}, validated up to "
        f"{months[split['test_month'] - 1]} and tested on {months[split['test_month']]}-"
        f"{months[12]}, so the months it is tested on come after those it was trained on. "
        f"{seasons_note(features)}"
    )


def seasons_note(features: dict[str, list[str]]) -> str:
    """What the card says of the seasons: whether the model uses calendar features that
    extrapolate past the training months."""
    used = [name for name in CALENDAR_FEATURES if name in features["numeric"]]
    if used:
        return CALENDAR_USED.format(names=", ".join(f"`{name}`" for name in used))
    return CALENDAR_LEFT_OUT


def render_card(facts: dict[str, Any]) -> str:
    """The model card in Markdown, with every fact also in a JSON block for programs to read."""
    params = facts["params"]
    data_lines = "\n".join(f"- `{path}`: `{digest}`" for path, digest in facts["data"].items())
    libraries = ", ".join(f"{name} {version}" for name, version in facts["libraries"].items())
    model, minutes = facts["model"], params["split"]["late_threshold_min"]
    version = params["card"]["version"]
    return f"""# Model card: {MODEL_ARTIFACT} v{version}

Probability that a flight leaving New York arrives {minutes} or more minutes late \
(`{facts["label"]}`), from what is known before departure. A scikit-learn `Pipeline` \
(`late.train.model: {params["train"]["model"]}`) saved with skops: `{model["file"]}`, \
md5 `{model["md5"]}`.

{version_section(MODEL_ARTIFACT, version, PROJECT)}
## Intended use and limits
{
        INTENDED_USE.format(
            split=split_note(params["split"], facts["features"]),
            cutoff=params["featurize"]["realtime_cutoff_min"],
        )
    }
## Data version
DVC hashes, as `dvc.lock` records them; `dvc checkout` at the commit that holds them restores the
exact files.
{data_lines}

Split: `late.split.strategy: {params["split"]["strategy"]}` (see `params` below).

## Metrics
{metrics_table(facts["metrics"], METRIC_NAMES)}

In brackets: the 95% interval from a bootstrap over whole days (the flights of a day share its
weather and congestion, so they are resampled together).

## Features
- Categorical ({len(facts["features"]["categorical"])}): \
{", ".join(facts["features"]["categorical"])}
- Numeric ({len(facts["features"]["numeric"])}): {", ".join(facts["features"]["numeric"])}
- Left out (`late.train.drop_features`): {", ".join(facts["features_left_out"]) or "none"}

## Libraries
{libraries}

## All facts, as JSON
```json
{json.dumps(facts, indent=2, sort_keys=True)}
```
"""


def run(
    data: dict[str, str],
    params: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    libraries: dict[str, str],
) -> str:
    """The model card's Markdown, from the DVC hashes of its files, the params (as dicts, by
    section), the metrics and the library versions."""
    return render_card(card_facts(data, params, metrics, libraries))


def main() -> None:
    """Write models/late/model_card.md from the model, its data, params and metrics."""
    params = {
        "ingest": dataclasses.asdict(load_params("ingest", IngestParams)),
        "split": dataclasses.asdict(load_params("late.split", SplitParams)),
        "featurize": dataclasses.asdict(load_params("late.featurize", FeaturizeParams)),
        "train": dataclasses.asdict(load_params("late.train", TrainParams)),
        "evaluate": dataclasses.asdict(load_params("late.evaluate", EvaluateParams)),
        "card": dataclasses.asdict(load_params("late.card", CardParams)),
    }
    for path in (MODEL_FILE, TRAIN_FILE):
        if not path.is_file():
            raise StageError(f"{path}: file not found (run the stage that writes it first)")
    data = {
        **{raw_path(t).as_posix(): md5_of_file(raw_path(t)) for t in RAW_TABLES_READ},
        TRAIN_FILE.as_posix(): md5_of_file(TRAIN_FILE),
        MODEL_FILE.as_posix(): md5_of_file(MODEL_FILE),
    }
    metrics = read_metrics(METRICS_FILE, CARD_SPLITS, "the evaluate stage")
    card = run(data, params, metrics, library_versions(LIBRARIES))
    write_bytes_atomic(CARD_FILE, card.encode("utf-8"))
    log.info("wrote %s", CARD_FILE)


if __name__ == "__main__":
    run_stage(main)
