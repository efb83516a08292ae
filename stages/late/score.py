"""The late project's scoring for the service: the model with what ``late-predict`` reads
besides the flights, loaded once, and the batch command's own scoring of each request's rows.

The batch command is ``python -m stages.late.predict`` (the ``late-predict`` stage). A request's
flights are scored as that command scores a file of the same flights with its defaults: the
same features (``stages.late.featurize``), the schedule congestion counted day by day on the
published schedule or the flights themselves (``predict.schedule_by_day``), no departures (the
delay state missing), the same threshold, the same warnings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stages.core.params import PARAMS_FILE
from stages.core.scoring import ScoredRows, Scoring
from stages.late.contract import SCHEDULED_FLIGHT_SCHEMA
from stages.late.featurize import SIDE_TABLES
from stages.late.predict import (
    DEFAULT_CHUNK_ROWS,
    load_context,
    read_schedule,
    score_rows,
    scoring_params,
)
from stages.raw import raw_path

# What scoring reads of a version's commit besides its model (fetched with it).
SERVED_FILES = [PARAMS_FILE, *(raw_path(table) for table in (*SIDE_TABLES, "flights"))]


def scoring(root: Path, model_path: Path) -> Scoring:
    """The model at ``model_path`` with the params, side tables and published schedule of the
    repository (or fetched version) at ``root``, ready to score requests."""
    context = load_context(
        model_path, {table: root / raw_path(table) for table in SIDE_TABLES}, scoring_params(root)
    )
    published_path = root / raw_path("flights")
    published, _ = read_schedule(published_path, DEFAULT_CHUNK_ROWS)

    def score(flights: pd.DataFrame) -> ScoredRows:
        predictions, warnings = score_rows(
            context, published, str(published_path), flights, "the request"
        )
        return ScoredRows(predictions, warnings)

    return Scoring("late", SCHEDULED_FLIGHT_SCHEMA, score)
