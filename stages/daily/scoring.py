"""What the daily model forecasts, and how the project's model files are loaded. Shared by
``evaluate``, the notebooks and the tests, so that all read the model the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.model_io import PIPELINE_TRUSTED_TYPES, load_pipeline
from stages.daily.contract import FEATURES

# Types the project's models (both pipelines of ``stages.daily.train``) are made of that skops
# does not trust by default: those of the core's pipelines. Loading refuses any other.
TRUSTED_TYPES = PIPELINE_TRUSTED_TYPES


def load_daily_model(path: Path) -> Pipeline:
    """Load one of the project's models, trusting only the types above; StageError naming the
    file when it holds anything else."""
    return load_pipeline(path, TRUSTED_TYPES, "daily")


def predict_share(model: Pipeline, days: pd.DataFrame) -> np.ndarray:
    """The forecast late share of each airport-day, clipped to [0, 1]: a share outside it is
    never right, and a linear model can reach there."""
    return np.clip(model.predict(days[FEATURES]), 0.0, 1.0)
