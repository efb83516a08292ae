"""Hyper-parameters that several projects' models share, with their rules: the dataclass a
project's params section for histogram gradient boosting is read into (or extends)."""

from __future__ import annotations

from dataclasses import dataclass

from stages.core.params import require


@dataclass(frozen=True)
class BoostingParams:
    """``HistGradientBoosting*`` hyper-parameters."""

    max_iter: int
    learning_rate: float
    max_leaf_nodes: int
    min_samples_leaf: int
    l2_regularization: float

    def __post_init__(self) -> None:
        require(self.max_iter >= 1, "max_iter", "at least 1", self.max_iter)
        require(self.learning_rate > 0, "learning_rate", "positive", self.learning_rate)
        require(self.max_leaf_nodes >= 2, "max_leaf_nodes", "at least 2", self.max_leaf_nodes)
        require(self.min_samples_leaf >= 1, "min_samples_leaf", "at least 1", self.min_samples_leaf)
        require(
            self.l2_regularization >= 0, "l2_regularization", "non-negative",
            self.l2_regularization,
        )  # fmt: skip
