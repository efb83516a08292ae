"""Load ``params.yaml`` into frozen, typed dataclasses.

Nothing is defaulted: a missing key, an unknown key (a typo typed by hand or appended with
``dvc exp run -S +section.key=...``) or a value of the wrong type stops the stage at once with the
full key path and, for a typo, the nearest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from stages.errors import StageError

PARAMS_FILE = Path("params.yaml")


class ParamsError(StageError):
    """params.yaml is malformed or does not match the typed sections below."""


def _require(condition: bool, key: str, rule: str, value: Any) -> None:
    """Raise ParamsError for ``key`` unless ``condition`` holds."""
    if not condition:
        raise ParamsError(f"'{key}' must be {rule}, got {value!r}")


@dataclass(frozen=True)
class IngestParams:
    """Where the raw tables come from and how much of the flights table to keep."""

    source: str
    sample_frac: float
    seed: int

    def __post_init__(self) -> None:
        _require(0 < self.sample_frac <= 1, "ingest.sample_frac", "in (0, 1]", self.sample_frac)


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
        _require(
            1 <= self.valid_month <= 12, "split.valid_month", "a month, 1-12", self.valid_month
        )
        _require(
            self.valid_month < self.test_month <= 12,
            "split.test_month",
            f"after split.valid_month ({self.valid_month}) and at most 12",
            self.test_month,
        )
        _require(0 < self.test_frac < 1, "split.test_frac", "in (0, 1)", self.test_frac)
        _require(0 < self.valid_frac < 1, "split.valid_frac", "in (0, 1)", self.valid_frac)


@dataclass(frozen=True)
class FeaturizeParams:
    """Knobs of the feature builders."""

    holiday_horizon_days: int
    weather_window_hours: int

    def __post_init__(self) -> None:
        _require(
            self.holiday_horizon_days >= 1,
            "featurize.holiday_horizon_days",
            "at least 1",
            self.holiday_horizon_days,
        )
        _require(
            1 <= self.weather_window_hours <= 24,
            "featurize.weather_window_hours",
            "from 1 to 24",
            self.weather_window_hours,
        )


@dataclass(frozen=True)
class HgbParams:
    """HistGradientBoostingClassifier hyper-parameters."""

    max_iter: int
    learning_rate: float
    max_leaf_nodes: int
    min_samples_leaf: int
    l2_regularization: float

    def __post_init__(self) -> None:
        _require(self.max_iter >= 1, "train.hgb.max_iter", "at least 1", self.max_iter)
        _require(self.learning_rate > 0, "train.hgb.learning_rate", "positive", self.learning_rate)
        _require(
            self.max_leaf_nodes >= 2, "train.hgb.max_leaf_nodes", "at least 2", self.max_leaf_nodes
        )
        _require(
            self.min_samples_leaf >= 1,
            "train.hgb.min_samples_leaf",
            "at least 1",
            self.min_samples_leaf,
        )
        _require(
            self.l2_regularization >= 0,
            "train.hgb.l2_regularization",
            "non-negative",
            self.l2_regularization,
        )


@dataclass(frozen=True)
class LogregParams:
    """LogisticRegression hyper-parameters."""

    C: float
    max_iter: int

    def __post_init__(self) -> None:
        _require(self.C > 0, "train.logreg.C", "positive", self.C)
        _require(self.max_iter >= 1, "train.logreg.max_iter", "at least 1", self.max_iter)


@dataclass(frozen=True)
class TrainParams:
    """Which model to fit, with the hyper-parameters of each."""

    model: Literal["hgb", "logreg"]
    seed: int
    # Features left out of the model (checked against stages.schema.FEATURES by train).
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
        _require(0 < self.threshold < 1, "evaluate.threshold", "in (0, 1)", self.threshold)
        _require(self.curve_points >= 2, "evaluate.curve_points", "at least 2", self.curve_points)
        _require(
            self.calibration_bins >= 2,
            "evaluate.calibration_bins",
            "at least 2",
            self.calibration_bins,
        )
        _require(
            self.importance_rows >= 1,
            "evaluate.importance_rows",
            "at least 1",
            self.importance_rows,
        )
        _require(
            self.importance_repeats >= 1,
            "evaluate.importance_repeats",
            "at least 1",
            self.importance_repeats,
        )


@dataclass(frozen=True)
class DriftParams:
    """How the feature distributions of later months are compared with the training period."""

    bins: int
    threshold: float

    def __post_init__(self) -> None:
        _require(self.bins >= 2, "drift.bins", "at least 2", self.bins)
        _require(self.threshold > 0, "drift.threshold", "above 0", self.threshold)


SECTIONS: dict[str, type] = {
    "ingest": IngestParams,
    "split": SplitParams,
    "featurize": FeaturizeParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "drift": DriftParams,
}

Section = TypeVar("Section")


def did_you_mean(key: str, valid: list[str]) -> str:
    """A ' (did you mean ...?)' hint naming the valid key closest to ``key``."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.0)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(data: Mapping[str, Any], valid: list[str], where: str) -> None:
    """Raise on the first unknown key, then on the first missing one, naming its full path."""
    prefix = f"{where}." if where else ""
    for key in data:
        if key not in valid:
            hint = did_you_mean(str(key), valid)
            raise ParamsError(f"unknown key '{prefix}{key}'{hint}; valid keys: {', '.join(valid)}")
    for key in valid:
        if key not in data:
            raise ParamsError(f"missing key '{prefix}{key}'")


def _convert(value: Any, expected: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``expected`` and return it in that type."""
    if dataclasses.is_dataclass(expected):
        return build_section(value, expected, where)
    if get_origin(expected) is Literal:
        choices = get_args(expected)
        if value not in choices:
            hint = did_you_mean(str(value), [str(c) for c in choices])
            raise ParamsError(
                f"'{where}' must be one of {', '.join(map(repr, choices))}, got {value!r}{hint}"
            )
        return value
    # bool is a subclass of int in Python, but `true` for a count is a mistake.
    if expected is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if expected in (int, str, bool) and type(value) is expected:
        return value
    if get_origin(expected) is tuple:  # tuple[X, ...]: a YAML list of X
        if not isinstance(value, list):
            got = "null" if value is None else type(value).__name__
            raise ParamsError(f"'{where}' must be a list, got {got} {value!r}")
        item = get_args(expected)[0]
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    got = "null" if value is None else type(value).__name__
    raise ParamsError(f"'{where}' must be {expected.__name__}, got {got} {value!r}")


def build_section(data: Any, cls: type[Section], where: str) -> Section:
    """Build the frozen dataclass ``cls`` from the mapping ``data`` found at key path ``where``."""
    if not isinstance(data, Mapping):
        got = "null" if data is None else type(data).__name__
        raise ParamsError(f"'{where}' must be a mapping of keys, got {got}")
    hints = get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    _check_keys(data, names, where)
    values = {name: _convert(data[name], hints[name], f"{where}.{name}") for name in names}
    return cls(**values)


def parse_params(document: Any, section: str) -> Any:
    """Validate the top-level sections of a parsed params document and build ``section``."""
    if not isinstance(document, Mapping):
        raise ParamsError("the params file must be a mapping of sections")
    for key in document:
        if key not in SECTIONS:
            hint = did_you_mean(str(key), list(SECTIONS))
            raise ParamsError(f"unknown section '{key}'{hint}; valid: {', '.join(SECTIONS)}")
    if section not in document:
        raise ParamsError(f"missing section '{section}'")
    return build_section(document[section], SECTIONS[section], section)


def _yaml_location(error: YAMLError) -> str:
    """' at line L, column C: problem' for a YAML error that carries a position, else its text."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def read_params_file(path: Path = PARAMS_FILE) -> Any:
    """Parse the YAML file at ``path``; a syntax error or duplicate key names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ParamsError(f"{path}: file not found") from error
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        raise ParamsError(f"{path}: invalid YAML{_yaml_location(error)}") from error


def load_params(section: str, path: Path = PARAMS_FILE) -> Any:
    """Load and validate one section of the params file; errors are prefixed with its path."""
    try:
        return parse_params(read_params_file(path), section)
    except ParamsError as error:
        message = str(error)
        raise ParamsError(
            message if message.startswith(f"{path}:") else f"{path}: {message}"
        ) from None
