"""What a fitted model says about flights: its probability of late, and the categories it knows;
and how the project's model files are loaded.

Shared by ``evaluate`` (which scores the labelled splits) and ``predict`` (which scores new
flights), so that both read the model the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from stages.core.model_io import PIPELINE_TRUSTED_TYPES, load_pipeline
from stages.late.contract import FEATURES

# Types the project's models (both pipelines of ``stages.late.train``) are made of that skops
# does not trust by default: those of the core's pipelines. Loading refuses any other.
TRUSTED_TYPES = PIPELINE_TRUSTED_TYPES


def load_late_model(path: Path) -> Pipeline:
    """Load one of the project's models, trusting only the types above; StageError naming the
    file when it holds anything else."""
    return load_pipeline(path, TRUSTED_TYPES, "late")


def predict_late(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """The model's probability that each flight of ``frame`` is late."""
    return model.predict_proba(frame[FEATURES])[:, 1]


def used_features(model: Pipeline) -> dict[str, list[str]]:
    """The features the fitted model uses, ``categorical`` and ``numeric``, read from its
    ``encode`` step: what it was fitted on, whatever the feature tables hold besides."""
    encode = model.named_steps["encode"]
    return {
        name: list(columns)
        for name, _, columns in encode.transformers_
        if name in ("categorical", "numeric")
    }


def known_categories(model: Pipeline) -> dict[str, set[str]]:
    """The values of each categorical feature the model uses, as seen in training, read from
    the fitted encoder.

    Both pipelines of ``stages.late.train`` encode the categories in the ``encode`` step's
    ``categorical`` transformer, an encoder or a pipeline ending in one.
    """
    encode = model.named_steps["encode"]
    columns = next(cols for name, _, cols in encode.transformers_ if name == "categorical")
    encoder = encode.named_transformers_["categorical"]
    if isinstance(encoder, Pipeline):
        encoder = encoder.steps[-1][1]
    return {
        name: {str(value) for value in values if isinstance(value, str)}
        for name, values in zip(columns, encoder.categories_, strict=True)
    }
