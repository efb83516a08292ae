"""How sure a metric is: a percentile bootstrap over the independent unit, and the paired version
that compares two models scored on the same rows.

Rows of one unit (the flights of a day, the airports of a day) share its weather and congestion,
so they are resampled together: each resample draws as many units as there are, with
replacement, and weighs every row by how often its unit was drawn. A metric is recomputed on each
resample; the interval is the middle ``LEVEL`` of those values. A paired comparison applies the
same resamples to both models' predictions at once, so what the two share (a bad day is bad for
both) cancels out of their difference.

Each metric's weighted form equals the scikit-learn value on unit weights (tests/core/
test_intervals.py): ROC AUC and average precision from the positives and negatives at each
distinct score, means (accuracy, log loss, absolute error) from per-unit sums.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from stages.core.errors import StageError
from stages.core.io import round_value
from stages.core.tables import DATE_COLUMNS

# The share of resampled values an interval spans, and how many resamples it is read from.
LEVEL = 0.95
RESAMPLES = 1000
# Fixed, so that the same predictions give the same interval, byte for byte.
SEED = 20130101
# Resamples weighed at once in the ranking metrics: bounds memory to CHUNK x rows (or x
# distinct scores) floats.
CHUNK = 100
# Which way each kind of metric improves.
BETTER = {
    "accuracy": "higher",
    "roc_auc": "higher",
    "average_precision": "higher",
    "log_loss": "lower",
    "mae": "lower",
    "skill": "higher",
}
# The suffixes of an interval's bounds, beside the metric's own key in a metrics file.
LOW, HIGH = "_low", "_high"
# A verdict's words.
BETTER_WORD, WORSE_WORD, NOISE_WORD = "better", "worse", "within noise"


@dataclass(frozen=True)
class MetricSpec:
    """One headline metric as it is recomputed from rows: its key in a split's metrics
    (dotted, e.g. ``roc_auc`` or ``model.mae``), its kind (a key of ``BETTER``), the columns of
    the truth and of the prediction, and for ``skill`` the naive forecasts it is measured against
    (``1 - MAE(prediction) / min MAE(baseline)``)."""

    name: str
    kind: str
    target: str
    prediction: str
    baselines: tuple[str, ...] = ()

    @property
    def better(self) -> str:
        return BETTER[self.kind]

    @property
    def needed_columns(self) -> list[str]:
        return [self.target, self.prediction, *self.baselines]


@dataclass(frozen=True)
class RowsSpec:
    """What a project's scored rows hold, written beside them so that any revision's rows can
    be compared without its code: the columns that name a row, the column of its resampling
    unit, and the headline metrics."""

    key: tuple[str, ...]
    unit: str
    metrics: tuple[MetricSpec, ...]
    unit_name: str = "day"
    level: float = LEVEL
    resamples: int = RESAMPLES
    seed: int = SEED

    def to_document(self) -> dict:
        """The spec as JSON-ready data (``from_document`` reads it back)."""
        document = asdict(self)
        document["key"] = list(self.key)
        document["metrics"] = [{**asdict(m), "baselines": list(m.baselines)} for m in self.metrics]
        return document

    @property
    def needed_columns(self) -> list[str]:
        """Every column the rows must hold, each once, in a stable order."""
        names = [*self.key, self.unit, *(c for m in self.metrics for c in m.needed_columns)]
        return list(dict.fromkeys(names))


def spec_from_document(document: Mapping) -> RowsSpec:
    """A RowsSpec from what ``to_document`` wrote; ValueError when it is not one."""
    try:
        metrics = tuple(
            MetricSpec(
                m["name"], m["kind"], m["target"], m["prediction"], tuple(m.get("baselines", ()))
            )
            for m in document["metrics"]
        )
        spec = RowsSpec(
            tuple(document["key"]),
            document["unit"],
            metrics,
            document.get("unit_name", "day"),
            float(document.get("level", LEVEL)),
            int(document.get("resamples", RESAMPLES)),
            int(document.get("seed", SEED)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a scored-rows spec ({error})") from None
    unknown = sorted({m.kind for m in spec.metrics} - set(BETTER))
    if unknown:
        raise ValueError(f"unknown metric kind {unknown[0]!r} (known: {', '.join(BETTER)})")
    return spec


@dataclass(frozen=True)
class Interval:
    """A metric's value and the bounds of its interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Head against base on one metric: head - base with its paired interval."""

    spec: MetricSpec
    difference: Interval

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``within noise``, read from where the interval lies."""
        return verdict(self.difference, self.spec.better)


def dates_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's date, ``YYYY-MM-DD``, from its year, month and day columns: the unit both
    projects resample (a day's rows share its weather)."""
    return pd.to_datetime(frame[list(DATE_COLUMNS)]).dt.strftime("%Y-%m-%d")


def unit_codes(units: pd.Series) -> tuple[np.ndarray, int]:
    """Each row's unit as 0..D-1 (in sorted order of the units), and D."""
    uniques, codes = np.unique(units.astype(str).to_numpy(), return_inverse=True)
    return codes.astype(np.intp), len(uniques)


def resample_chunks(
    n_units: int, resamples: int = RESAMPLES, seed: int = SEED
) -> Iterator[np.ndarray]:
    """How often each unit is drawn in each resample, CHUNK resamples at a time (so memory stays
    CHUNK x units however many units there are): rows of counts, each summing to ``n_units``.
    The chunks are the rows one draw of all ``resamples`` would give, in order."""
    if n_units < 2:
        raise StageError(f"cannot bootstrap: {n_units} unit(s); an interval needs at least two")
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        yield rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=size)


def resample_counts(n_units: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Every resample's counts at once: ``resamples`` x ``n_units``."""
    return np.concatenate(list(resample_chunks(n_units, resamples, seed)))


# A metric as a function of the resample counts (resamples x units) -> one value per resample.
Statistic = Callable[[np.ndarray], np.ndarray]


def resampled(
    statistics: Mapping[str, Statistic], n_units: int, spec: RowsSpec
) -> dict[str, np.ndarray]:
    """Each statistic's value on every resample of the spec, the resamples drawn once for all."""
    values: dict[str, list[np.ndarray]] = {name: [] for name in statistics}
    for chunk in resample_chunks(n_units, spec.resamples, spec.seed):
        for name, statistic in statistics.items():
            values[name].append(statistic(chunk))
    return {name: np.concatenate(parts) for name, parts in values.items()}


def _chunks(counts: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(counts), CHUNK):
        yield counts[start : start + CHUNK]


def mean_statistic(per_row: np.ndarray, codes: np.ndarray, n_units: int) -> Statistic:
    """The weighted mean of ``per_row``: per-unit sums, then each resample's weighted sum (no
    BLAS: numpy's own pairwise sums are the same on every machine)."""
    sums = np.bincount(codes, weights=per_row, minlength=n_units)
    sizes = np.bincount(codes, minlength=n_units).astype(float)
    return lambda counts: (counts * sums).sum(axis=1) / (counts * sizes).sum(axis=1)


def _score_buckets(
    y_true: np.ndarray, scores: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows in ascending order of score: their label, unit, and where each distinct score
    starts."""
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return y_true[order].astype(float), codes[order], starts


def _bucket_weights(
    counts: np.ndarray, labels: np.ndarray, units: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The weight of positives and of negatives at each distinct score, per resample."""
    weights = counts[:, units].astype(float)
    positive = weights * labels
    return (
        np.add.reduceat(positive, starts, axis=1),
        np.add.reduceat(weights - positive, starts, axis=1),
    )


def _auc_from_buckets(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """ROC AUC from the weights at each distinct score, in ascending order of score."""
    below = np.cumsum(negative, axis=1) - negative
    pairs = positive.sum(axis=1) * negative.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (positive * (below + 0.5 * negative)).sum(axis=1) / pairs


def _ap_from_buckets(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Average precision from the weights at each distinct score, in ascending order of score."""
    positive, negative = positive[:, ::-1], negative[:, ::-1]
    true_pos = np.cumsum(positive, axis=1)
    flagged = true_pos + np.cumsum(negative, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, true_pos / flagged, 0.0)
        return (positive * precision).sum(axis=1) / positive.sum(axis=1)


def _row_weighted(
    metric: Callable[[np.ndarray, np.ndarray], np.ndarray],
    y_true: np.ndarray,
    scores: np.ndarray,
    codes: np.ndarray,
) -> Statistic:
    """A ranking metric by weighing every row by its unit's count, CHUNK resamples at a time:
    the definition, used when there are too many units for the tables of ``_UnitTables``."""
    labels, units, starts = _score_buckets(y_true, scores, codes)

    def statistic(counts: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [metric(*_bucket_weights(chunk, labels, units, starts)) for chunk in _chunks(counts)]
        )

    return statistic


# Above this many cells a unit-by-score table is not built; rows are weighed instead.
TABLE_CELLS = 5_000_000


@dataclass(frozen=True)
class _UnitTables:
    """Counts per unit at each distinct score a positive has (highest first): positives at it
    (``at``), positives and negatives at or above it (``positives``, ``negatives``); and for ROC
    AUC, ``pairs[d, e]``: twice the number of (positive of unit d, negative of unit e) pairs the
    positive outscores, ties counting half. A resample's metric then needs only products with its
    counts; all are whole numbers, so floating-point sums are exact in any order."""

    at: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    pairs: np.ndarray
    positive_per_unit: np.ndarray
    negative_per_unit: np.ndarray

    @classmethod
    def build(cls, y_true: np.ndarray, scores: np.ndarray, codes: np.ndarray, n_units: int):
        thresholds = np.unique(scores[y_true])[::-1]
        shape = (len(thresholds), n_units)
        at, positives, negatives, below_twice = (np.zeros(shape) for _ in range(4))
        # Rows by unit, then label, then score: each unit's positives and negatives are slices.
        order = np.lexsort((scores, ~y_true, codes))
        ordered, ends = scores[order], np.cumsum(np.bincount(codes, minlength=n_units))
        split = np.cumsum(np.bincount(codes[y_true], minlength=n_units))  # positives come first
        for unit in range(n_units):
            start = ends[unit - 1] if unit else 0
            pos = ordered[start : start + split[unit] - (split[unit - 1] if unit else 0)]
            neg = ordered[start + len(pos) : ends[unit]]
            pos_left = np.searchsorted(pos, thresholds, "left")
            at[:, unit] = np.searchsorted(pos, thresholds, "right") - pos_left
            positives[:, unit] = len(pos) - pos_left
            neg_left = np.searchsorted(neg, thresholds, "left")
            negatives[:, unit] = len(neg) - neg_left
            below_twice[:, unit] = neg_left + np.searchsorted(neg, thresholds, "right")
        return cls(
            at, positives, negatives, at.T @ below_twice,
            np.bincount(codes[y_true], minlength=n_units).astype(float),
            np.bincount(codes[~y_true], minlength=n_units).astype(float),
        )  # fmt: skip

    def roc_auc(self, counts: np.ndarray) -> np.ndarray:
        weights = counts.astype(float)
        pairs = (weights @ self.pairs * weights).sum(axis=1) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            return pairs / ((weights @ self.positive_per_unit) * (weights @ self.negative_per_unit))

    def average_precision(self, counts: np.ndarray) -> np.ndarray:
        values = []
        for chunk in _chunks(counts):
            weights = chunk.astype(float)
            true_pos, flagged = weights @ self.positives.T, weights @ self.negatives.T
            flagged += true_pos
            with np.errstate(invalid="ignore", divide="ignore"):
                precision = np.where(flagged > 0, true_pos / flagged, 0.0)
                added = weights @ self.at.T
                values.append((added * precision).sum(axis=1) / added.sum(axis=1))
        return np.concatenate(values)


def log_loss_per_row(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each row's log loss, probabilities clipped as scikit-learn clips them."""
    p = np.clip(scores.astype(float), np.finfo(float).eps, 1 - np.finfo(float).eps)
    return -np.where(y_true.astype(bool), np.log(p), np.log1p(-p))


def statistic_of(
    spec: MetricSpec, rows: pd.DataFrame, codes: np.ndarray, n: int, shared: dict | None = None
) -> Statistic:
    """The metric ``spec`` names, as a function of the resample counts. ``shared`` keeps the
    tables ROC AUC and average precision of the same columns can share."""
    if spec.kind == "accuracy":
        # The share of rows whose predicted class is the actual one (classes compared as text).
        hits = rows[spec.target].astype(str).to_numpy() == rows[spec.prediction].astype(str)
        return mean_statistic(hits.astype(float), codes, n)
    truth = rows[spec.target].to_numpy()
    predicted = rows[spec.prediction].to_numpy(dtype=float)
    if spec.kind in ("roc_auc", "average_precision"):
        # ROC AUC (the chance a positive outscores a negative, ties counting half) or average
        # precision (scikit-learn's: the precision at each distinct score, from the highest down,
        # weighed by the recall it adds): from per-unit tables when they are small enough, shared
        # by both metrics of the same columns; else by weighing every row.
        truth = truth.astype(bool)
        shared = {} if shared is None else shared
        key = (spec.target, spec.prediction)
        if key not in shared and max(n, len(np.unique(predicted[truth]))) * n <= TABLE_CELLS:
            shared[key] = _UnitTables.build(truth, predicted, codes, n)
        tables = shared.get(key)
        if tables is not None:
            return tables.roc_auc if spec.kind == "roc_auc" else tables.average_precision
        metric = _auc_from_buckets if spec.kind == "roc_auc" else _ap_from_buckets
        return _row_weighted(metric, truth, predicted, codes)
    if spec.kind == "log_loss":
        return mean_statistic(log_loss_per_row(truth, predicted), codes, n)
    truth = truth.astype(float)
    model = mean_statistic(np.abs(predicted - truth), codes, n)
    if spec.kind == "mae":
        return model
    baselines = [
        mean_statistic(np.abs(rows[column].to_numpy(dtype=float) - truth), codes, n)
        for column in spec.baselines
    ]
    return lambda counts: 1 - model(counts) / np.min([b(counts) for b in baselines], axis=0)


def percentile_bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    """The middle ``level`` of ``values`` (resamples where the metric is undefined, e.g. no
    positive drawn, left out)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        raise StageError("cannot bootstrap: the metric is undefined on every resample")
    tail = (1 - level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return round_value(low), round_value(high)


def check_rows(rows: pd.DataFrame, spec: RowsSpec, what: str) -> None:
    """StageError naming ``what`` and the column when the rows lack one the spec needs or hold
    a missing value in a metric's column."""
    missing = [c for c in spec.needed_columns if c not in rows.columns]
    if missing:
        needed = ", ".join(spec.needed_columns)
        raise StageError(f"{what}: no column {missing[0]!r} (the scored rows need {needed})")
    for column in dict.fromkeys(c for m in spec.metrics for c in m.needed_columns):
        if rows[column].isna().any():
            raise StageError(f"{what}: column {column!r} has missing values; cannot bootstrap")


def bootstrap(
    statistics: Mapping[str, Statistic], n_units: int, spec: RowsSpec
) -> dict[str, Interval]:
    """Each statistic with every unit once, and the middle ``spec.level`` of its resamples."""
    values = resampled(statistics, n_units, spec)
    ones = np.ones((1, n_units), dtype=int)
    found = {}
    for name, statistic in statistics.items():
        low, high = percentile_bounds(values[name], spec.level)
        found[name] = Interval(round_value(statistic(ones)[0]), low, high)
    return found


def intervals(rows: pd.DataFrame, spec: RowsSpec) -> dict[str, Interval]:
    """Each headline metric of ``rows``, recomputed with every unit once, and its interval."""
    check_rows(rows, spec, "scored rows")
    codes, n_units = unit_codes(rows[spec.unit])
    shared: dict = {}
    statistics = {m.name: statistic_of(m, rows, codes, n_units, shared) for m in spec.metrics}
    return bootstrap(statistics, n_units, spec)


def with_intervals(metrics: dict, found: Mapping[str, Interval]) -> dict:
    """A copy of a split's ``metrics`` with each interval's bounds beside its metric's key
    (``roc_auc`` -> ``roc_auc_low``, ``roc_auc_high``; ``model.mae`` -> ``model.mae_low``...);
    the point values are left as they are."""
    result = copy.deepcopy(metrics)
    for name, interval in found.items():
        *parents, leaf = name.split(".")
        node = result
        for parent in parents:
            node = node[parent]
        node[leaf + LOW], node[leaf + HIGH] = interval.low, interval.high
    return result


def align(head: pd.DataFrame, base: pd.DataFrame, spec: RowsSpec) -> tuple | None:
    """The two revisions' rows in one order, paired by their key; None when they are not the same
    rows (different keys, or a row's unit differs)."""
    key = list(spec.key)
    if len(head) != len(base):
        return None
    head_sorted = head.sort_values(key, kind="stable").reset_index(drop=True)
    base_sorted = base.sort_values(key, kind="stable").reset_index(drop=True)
    names = [*key, spec.unit]
    same = head_sorted[names].astype(str).equals(base_sorted[names].astype(str))
    return (head_sorted, base_sorted) if same else None


def verdict(difference: Interval, better: str) -> str:
    """``better`` or ``worse`` when the interval of head - base excludes 0 on that side, else
    ``within noise``."""
    if difference.low > 0 or difference.high < 0:
        improved = difference.low > 0 if better == "higher" else difference.high < 0
        return BETTER_WORD if improved else WORSE_WORD
    return NOISE_WORD


def paired(head: pd.DataFrame, base: pd.DataFrame, spec: RowsSpec) -> list[Comparison]:
    """Each headline metric, head - base, with its paired interval: both revisions' rows weighed
    by the same resamples. ``head`` and ``base`` must be aligned (``align``)."""
    check_rows(head, spec, "scored rows (head)")
    check_rows(base, spec, "scored rows (base)")
    codes, n_units = unit_codes(head[spec.unit])
    shared_new: dict = {}
    shared_old: dict = {}
    differences = {
        m.name: _difference(
            statistic_of(m, head, codes, n_units, shared_new),
            statistic_of(m, base, codes, n_units, shared_old),
        )
        for m in spec.metrics
    }
    found = bootstrap(differences, n_units, spec)
    return [Comparison(metric, found[metric.name]) for metric in spec.metrics]


def _difference(new: Statistic, old: Statistic) -> Statistic:
    """new - old on the same resamples."""
    return lambda counts: new(counts) - old(counts)


# The metadata key under which scored rows carry their RowsSpec (Parquet keeps it).
SPEC_ATTRIBUTE = "scored_rows"


def scored_rows(frame: pd.DataFrame, spec: RowsSpec) -> pd.DataFrame:
    """The columns of ``frame`` the spec needs, carrying the spec (Parquet keeps it)."""
    rows = frame[spec.needed_columns].reset_index(drop=True)
    rows.attrs = {SPEC_ATTRIBUTE: spec.to_document()}
    return rows


def spec_of(rows: pd.DataFrame) -> RowsSpec:
    """The spec scored rows carry; ValueError when they carry none."""
    document = rows.attrs.get(SPEC_ATTRIBUTE)
    if not isinstance(document, Mapping):
        raise ValueError("holds no scored-rows spec (written before evaluate kept one)")
    return spec_from_document(document)


def evaluated(metrics: dict, rows: pd.DataFrame, spec: RowsSpec) -> dict:
    """A split's ``metrics`` with the interval of each headline metric beside it, and what the
    intervals are under ``interval`` (level, resamples, and how many units: ``days: 61``)."""
    found = intervals(rows, spec)
    result = with_intervals(metrics, found)
    result["interval"] = {
        "level": spec.level,
        "resamples": spec.resamples,
        f"{spec.unit_name}s": unit_codes(rows[spec.unit])[1],
    }
    return result


def without_intervals(metrics: dict) -> dict:
    """A split's metrics as they were before ``evaluated`` added the intervals: their bounds and
    the ``interval`` note left out (to compare with point metrics recomputed elsewhere)."""
    return {
        key: without_intervals(value) if isinstance(value, dict) else value
        for key, value in metrics.items()
        if key != "interval" and not key.endswith((LOW, HIGH))
    }
