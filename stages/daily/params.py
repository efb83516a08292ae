"""The daily project's params: one frozen dataclass per section of ``daily`` in ``params.yaml``.
Stages load them with ``stages.core.params.load_params("daily.<section>", ...)``; each dataclass
checks its values' rules naming its fields, and the loader adds the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stages.core.hyperparams import BoostingParams
from stages.core.params import require


@dataclass(frozen=True)
class PrepareParams:
    """What a late departure is, when the forecast is made, and the time split."""

    late_threshold_min: int
    cutoff_hour: int
    holiday_horizon_days: int
    valid_month: int
    test_month: int

    def __post_init__(self) -> None:
        require(
            self.late_threshold_min >= 1, "late_threshold_min", "at least 1",
            self.late_threshold_min,
        )  # fmt: skip
        require(0 < self.cutoff_hour <= 24, "cutoff_hour", "from 1 to 24", self.cutoff_hour)
        require(
            self.holiday_horizon_days >= 1, "holiday_horizon_days", "at least 1",
            self.holiday_horizon_days,
        )  # fmt: skip
        require(1 <= self.valid_month <= 12, "valid_month", "a month, 1-12", self.valid_month)
        require(
            self.valid_month < self.test_month <= 12,
            "test_month",
            f"after valid_month ({self.valid_month}) and at most 12",
            self.test_month,
        )


@dataclass(frozen=True)
class HgbParams(BoostingParams):
    """HistGradientBoostingRegressor hyper-parameters: the core's, and the loss."""

    loss: Literal["absolute_error", "squared_error"]


@dataclass(frozen=True)
class RidgeParams:
    """Ridge regression hyper-parameters."""

    alpha: float

    def __post_init__(self) -> None:
        require(self.alpha > 0, "alpha", "positive", self.alpha)


@dataclass(frozen=True)
class TrainParams:
    """Which regressor to fit, with the hyper-parameters of each."""

    model: Literal["hgb", "ridge"]
    seed: int
    # Features left out of the model (checked against the contract's FEATURES by train).
    drop_features: tuple[str, ...]
    hgb: HgbParams
    ridge: RidgeParams
