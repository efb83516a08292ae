"""The flight-delay project's params: one frozen dataclass per section of ``late`` in
``params.yaml``. Stages load them with ``stages.core.params.load_params("late.<section>", ...)``;
each dataclass checks its values' rules naming its fields, and the loader adds the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stages.core.hyperparams import BoostingParams
from stages.core.params import require


@dataclass(frozen=True)
class SplitParams:
    """How flights are labelled and divided into train, valid and test."""

    strategy: Literal["time", "random"]
    valid_month: int
    test_month: int
    test_frac: float
    valid_frac: float
    seed: int
    late_threshold_min: int

    def __post_init__(self) -> None:
        require(1 <= self.valid_month <= 12, "valid_month", "a month, 1-12", self.valid_month)
        require(
            self.valid_month < self.test_month <= 12,
            "test_month",
            f"after valid_month ({self.valid_month}) and at most 12",
            self.test_month,
        )
        require(0 < self.test_frac < 1, "test_frac", "in (0, 1)", self.test_frac)
        require(0 < self.valid_frac < 1, "valid_frac", "in (0, 1)", self.valid_frac)


@dataclass(frozen=True)
class FeaturizeParams:
    """Knobs of the feature builders."""

    holiday_horizon_days: int
    weather_window_hours: int
    realtime_cutoff_min: int

    def __post_init__(self) -> None:
        require(
            self.holiday_horizon_days >= 1,
            "holiday_horizon_days",
            "at least 1",
            self.holiday_horizon_days,
        )
        require(
            self.realtime_cutoff_min >= 0,
            "realtime_cutoff_min",
            "at least 0 (minutes before the scheduled departure)",
            self.realtime_cutoff_min,
        )
        require(
            1 <= self.weather_window_hours <= 24,
            "weather_window_hours",
            "from 1 to 24",
            self.weather_window_hours,
        )


@dataclass(frozen=True)
class HgbParams(BoostingParams):
    """HistGradientBoostingClassifier hyper-parameters (the core's rules, no others)."""


@dataclass(frozen=True)
class LogregParams:
    """LogisticRegression hyper-parameters."""

    C: float
    max_iter: int

    def __post_init__(self) -> None:
        require(self.C > 0, "C", "positive", self.C)
        require(self.max_iter >= 1, "max_iter", "at least 1", self.max_iter)


@dataclass(frozen=True)
class TrainParams:
    """Which model to fit, with the hyper-parameters of each."""

    model: Literal["hgb", "logreg"]
    seed: int
    # Features left out of the model (checked against the contract's FEATURES by train).
    drop_features: tuple[str, ...]
    hgb: HgbParams
    logreg: LogregParams


@dataclass(frozen=True)
class EvaluateParams:
    """What the evaluation reports and how finely."""

    threshold: float
    curve_points: int
    calibration_bins: int
    importance_rows: int
    importance_repeats: int
    seed: int

    def __post_init__(self) -> None:
        require(0 < self.threshold < 1, "threshold", "in (0, 1)", self.threshold)
        require(self.curve_points >= 2, "curve_points", "at least 2", self.curve_points)
        require(
            self.calibration_bins >= 2,
            "calibration_bins",
            "at least 2",
            self.calibration_bins,
        )
        require(
            self.importance_rows >= 1,
            "importance_rows",
            "at least 1",
            self.importance_rows,
        )
        require(
            self.importance_repeats >= 1,
            "importance_repeats",
            "at least 1",
            self.importance_repeats,
        )


@dataclass(frozen=True)
class DriftParams:
    """How the feature distributions of later months are compared with the training period."""

    bins: int
    threshold: float

    def __post_init__(self) -> None:
        require(self.bins >= 2, "bins", "at least 2", self.bins)
        require(self.threshold > 0, "threshold", "above 0", self.threshold)
