"""Stage ``late-drift``: how far each later month's features have moved from the training period.

For every feature, the population stability index (PSI, ``stages.core.drift``) between the train
split and each month of the valid and test splits. Numeric features are cut at
``late.drift.bins`` quantiles of the train split; categorical ones use their categories.
Writes ``metrics/late/drift.json`` (a row per month and feature with its PSI) and
``metrics/late/drift_psi.json`` (each feature's largest monthly PSI), both plot data for
``dvc plots``, and warns naming the features whose PSI is above ``late.drift.threshold``.

Under ``late.split.strategy: time`` the later months are October to December. Calendar features
(``day_of_year``, ``month`` within the identifiers) drift there by construction: the training
period never had those days, which is worth knowing about a model that splits on them.
"""

from __future__ import annotations

import logging

import pandas as pd

from stages.core.drift import drift_by_month, drifted_features, largest_psi, psi_rows
from stages.core.errors import run_stage
from stages.core.io import read_table, write_json
from stages.core.params import load_params
from stages.late.contract import CATEGORICAL_FEATURES, FEATURE_SCHEMA, FEATURES
from stages.late.params import DriftParams
from stages.late.paths import DRIFT_FILE, DRIFT_PLOT_FILE, processed_path

log = logging.getLogger("stages.late.drift")

LATER_SPLITS = ("valid", "test")
# Each feature and whether it is categorical, in the contract's order.
FEATURE_KINDS = {name: name in CATEGORICAL_FEATURES for name in FEATURES}


def run(
    reference: pd.DataFrame, later: pd.DataFrame, params: DriftParams
) -> tuple[dict[str, dict[str, float]], list[dict], list[dict]]:
    """PSI of each feature by month of ``later`` against ``reference``, then the same as plot
    rows (a row per month and feature) and each feature's largest monthly PSI."""
    by_month = drift_by_month(reference, later, FEATURE_KINDS, params.bins)
    return by_month, psi_rows(by_month), largest_psi(by_month)


def main() -> None:
    """Compare data/late/processed/{valid,test} month by month with the train split."""
    params = load_params("late.drift", DriftParams)
    reference = read_table(processed_path("train"), FEATURE_SCHEMA)
    later = pd.concat(
        [read_table(processed_path(split), FEATURE_SCHEMA) for split in LATER_SPLITS],
        ignore_index=True,
    )
    by_month, rows, largest = run(reference, later, params)
    for month, names in drifted_features(by_month, params.threshold).items():
        if names:
            shown = ", ".join(f"{name} {by_month[month][name]:.3f}" for name in names)
            log.warning("%s: PSI above %s for %s", month, params.threshold, shown)
        else:
            log.info("%s: no feature has PSI above %s", month, params.threshold)
    write_json(DRIFT_FILE, rows)
    write_json(DRIFT_PLOT_FILE, largest)


if __name__ == "__main__":
    run_stage(main)
