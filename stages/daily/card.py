"""Stage ``daily-card``: write the model card, ``models/daily/model_card.md``, beside the model.

What the forecaster is, its version (``daily.card.version``, the one it is registered under),
the data it was trained on (DVC hashes, as ``dvc.lock`` records them), the params that made it,
its errors against the naive forecasts on every split, the library versions, and its intended use
and limits. Every figure is read from the pipeline's own files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from stages.core.card import (
    CardParams,
    library_versions,
    metric_cell,
    read_metrics,
    version_section,
)
from stages.core.errors import StageError, run_stage
from stages.core.hashing import dvc_dir_hash, md5_of_file
from stages.core.io import write_bytes_atomic
from stages.core.params import load_params
from stages.daily.params import PrepareParams, TrainParams
from stages.daily.paths import (
    CARD_FILE,
    DAYS_DIR,
    METRICS_FILE,
    MODEL_ARTIFACT,
    MODEL_FILE,
    PROJECT,
    RAW_TABLES_READ,
)
from stages.raw import raw_path

log = logging.getLogger("stages.daily.card")

LIBRARIES = ["scikit-learn", "skops", "numpy", "scipy", "pandas", "pyarrow"]
# The forecasts compared in the card's table: the model and the naive baselines.
FORECASTS = ["model", "mean_7d", "persistence"]
# The splits the card reports, in its table's order.
CARD_SPLITS = ("train", "valid", "test")


def errors_table(metrics: dict[str, dict[str, Any]]) -> str:
    """MAE of the model and of each naive forecast per split, and the skill over the best."""
    header = "| split | airport-days | " + " | ".join(f"MAE {f}" for f in FORECASTS) + " | skill |"
    lines = [header, "|---" * (len(FORECASTS) + 3) + "|"]
    for split in CARD_SPLITS:
        values = metrics[split]
        maes = " | ".join(metric_cell(values[f], "mae") for f in FORECASTS)
        skill = metric_cell(values, "skill")
        lines.append(f"| {split} | {values['airport_days']} | {maes} | {skill} |")
    return "\n".join(lines)


def render_card(
    version: str,
    data: dict[str, str],
    params: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    libraries: dict[str, str],
) -> str:
    """The model card in Markdown, with every fact also in a JSON block for programs to read."""
    facts = {
        "version": version,
        "model": {"file": MODEL_FILE.as_posix(), "md5": data[MODEL_FILE.as_posix()]},
        "data": data,
        "params": params,
        "metrics": metrics,
        "libraries": libraries,
    }
    prepare, train = params["prepare"], params["train"]
    data_lines = "\n".join(f"- `{path}`: `{digest}`" for path, digest in data.items())
    return f"""# Model card: {MODEL_ARTIFACT} v{version}

The share of tomorrow's departures from each New York airport (EWR, JFK, LGA) that will leave \
{prepare["late_threshold_min"]} or more minutes late (a cancelled one counts as late), forecast \
at {prepare["cutoff_hour"]}:00 the evening before. A scikit-learn `Pipeline` \
(`daily.train.model: {train["model"]}`) saved with skops: `{MODEL_FILE.as_posix()}`, md5 \
`{data[MODEL_FILE.as_posix()]}`.

{version_section(MODEL_ARTIFACT, version, PROJECT)}
## Intended use and limits
- **Use:** a research baseline for planning the next day at an airport: which days are likely to
  be bad. Score with `stages.daily.scoring`, which the evaluation uses.
- **Not for:** single flights (see project `late`), other airports, or years far from 2013.
- **Limits:** trained on January to September 2013; judged on November and December. Compare it
  with the naive forecasts below before trusting it: its skill is reported even when negative.

## Data version
DVC hashes, as `dvc.lock` records them.
{data_lines}

## Errors against the naive forecasts
{errors_table(metrics)}

The train split's figures are in-sample. In brackets: the 95% interval from a bootstrap over whole
days (the three airports of a day together); an interval of the skill that reaches below 0 means
the test days cannot show the model beats the best naive forecast.

## Libraries
{", ".join(f"{name} {number}" for name, number in libraries.items())}

## All facts, as JSON
```json
{json.dumps(facts, indent=2, sort_keys=True)}
```
"""


def main() -> None:
    """Write models/daily/model_card.md from the model, its data, params and metrics."""
    card = load_params("daily.card", CardParams)
    params = {
        "prepare": dataclasses.asdict(load_params("daily.prepare", PrepareParams)),
        "train": dataclasses.asdict(load_params("daily.train", TrainParams)),
    }
    if not MODEL_FILE.is_file():
        raise StageError(f"{MODEL_FILE}: file not found (run daily-train first)")
    data = {
        **{raw_path(t).as_posix(): md5_of_file(raw_path(t)) for t in RAW_TABLES_READ},
        DAYS_DIR.as_posix(): dvc_dir_hash(DAYS_DIR),
        MODEL_FILE.as_posix(): md5_of_file(MODEL_FILE),
    }
    metrics = read_metrics(METRICS_FILE, CARD_SPLITS, "daily-evaluate")
    text = render_card(card.version, data, params, metrics, library_versions(LIBRARIES))
    write_bytes_atomic(CARD_FILE, text.encode("utf-8"))
    log.info("wrote %s", CARD_FILE)


if __name__ == "__main__":
    run_stage(main)
