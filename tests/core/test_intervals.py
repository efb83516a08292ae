"""The day-block bootstrap: its weighted metrics equal scikit-learn's, it resamples whole days,
its paired comparison tells noise from a real difference, and its 95% interval covers the truth
about 95% of the time (when the unit is right; resampling rows instead does not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    log_loss,
    mean_absolute_error,
    roc_auc_score,
)

from stages.core import intervals as iv
from stages.core.errors import StageError
from stages.core.intervals import (
    Interval,
    MetricSpec,
    RowsSpec,
    align,
    evaluated,
    intervals,
    paired,
    resample_counts,
    scored_rows,
    spec_from_document,
    spec_of,
    statistic_of,
    unit_codes,
    verdict,
    with_intervals,
    without_intervals,
)

RANKING = ("roc_auc", "average_precision", "log_loss")
SPEC = RowsSpec(
    key=("id",),
    unit="date",
    metrics=tuple(MetricSpec(kind, kind, "y", "p") for kind in RANKING),
    resamples=300,
)


def flights(n: int = 3000, days: int = 30, seed: int = 0, signal: float = 1.0) -> pd.DataFrame:
    """Rows with a day each, a label and a probability that ranks them with some skill; scores
    rounded so that there are ties. A day's shift moves its late rate and its scores together."""
    rng = np.random.default_rng(seed)
    date = rng.integers(0, days, n)
    shift = rng.normal(0, 0.7, days)[date]
    y = rng.random(n) < 1 / (1 + np.exp(-(shift + rng.normal(0, 1, n)) - 1.2))
    logit = signal * y + shift + rng.normal(0, 1, n) - 1.5
    p = np.round(1 / (1 + np.exp(-logit)), 3)
    return pd.DataFrame({"id": np.arange(n), "date": date, "y": y, "p": p})


@pytest.mark.parametrize("weighed_rows", [False, True])
def test_on_unit_weights_each_metric_equals_scikit_learn(
    monkeypatch: pytest.MonkeyPatch, weighed_rows: bool
) -> None:
    """Both ways of computing the ranking metrics (per-unit tables, or weighing every row)."""
    if weighed_rows:
        monkeypatch.setattr(iv, "TABLE_CELLS", 0)
    rows = flights()
    codes, n = unit_codes(rows["date"])
    ones = np.ones((1, n), dtype=int)
    expected = {
        "roc_auc": roc_auc_score(rows["y"], rows["p"]),
        "average_precision": average_precision_score(rows["y"], rows["p"]),
        "log_loss": log_loss(rows["y"], rows["p"]),
    }
    for spec in SPEC.metrics:
        value = statistic_of(spec, rows, codes, n)(ones)[0]
        assert value == pytest.approx(expected[spec.kind], abs=1e-12), spec.kind


def test_the_two_ways_give_the_same_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = flights()
    tables = intervals(rows, SPEC)
    monkeypatch.setattr(iv, "TABLE_CELLS", 0)
    assert intervals(rows, SPEC) == tables


def test_a_resample_keeps_each_days_rows_together() -> None:
    """A resample's weighted metric equals scikit-learn's on the rows of the days drawn, each
    day's rows repeated as often as the day was drawn."""
    rows = flights(n=600, days=12)
    codes, n = unit_codes(rows["date"])
    counts = resample_counts(n, resamples=5, seed=3)
    by_day = [rows[codes == day] for day in range(n)]
    for spec in SPEC.metrics:
        values = statistic_of(spec, rows, codes, n)(counts)
        for draw, value in zip(counts, values, strict=True):
            drawn = pd.concat([by_day[day] for day in range(n) for _ in range(draw[day])])
            truth = {"roc_auc": roc_auc_score, "average_precision": average_precision_score}
            score = truth.get(spec.kind, log_loss)(drawn["y"], drawn["p"])
            assert value == pytest.approx(score, abs=1e-12)


def test_every_resample_draws_as_many_days_as_there_are_and_is_seeded() -> None:
    counts = resample_counts(20, resamples=50, seed=1)
    assert counts.shape == (50, 20) and (counts.sum(axis=1) == 20).all()
    assert (resample_counts(20, resamples=50, seed=1) == counts).all()
    assert not (resample_counts(20, resamples=50, seed=2) == counts).all()


def test_intervals_are_deterministic_and_hold_the_point_value() -> None:
    rows = flights()
    first = intervals(rows, SPEC)
    assert intervals(rows.sample(frac=1, random_state=5), SPEC) == first  # row order is moot
    for found in first.values():
        assert found.low < found.value < found.high


def test_two_identical_models_are_within_noise_with_an_interval_of_zero() -> None:
    rows = flights()
    for comparison in paired(rows, rows.copy(), SPEC):
        assert comparison.difference == Interval(0.0, 0.0, 0.0)
        assert comparison.verdict == "within noise"


def test_a_clearly_better_model_has_an_interval_that_excludes_zero() -> None:
    """The same rows scored by a model with more signal: better on every metric, beyond noise
    (log loss: lower is better, so its difference is below 0)."""
    weak, strong = flights(signal=0.6), flights(signal=1.6)
    by_name = {c.spec.name: c for c in paired(strong, weak, SPEC)}
    assert by_name["roc_auc"].difference.low > 0
    assert by_name["average_precision"].difference.low > 0
    assert by_name["log_loss"].difference.high < 0
    assert {c.verdict for c in by_name.values()} == {"better"}
    assert {c.verdict for c in paired(weak, strong, SPEC)} == {"worse"}


def test_two_equally_good_models_are_within_noise_about_95_percent_of_the_time() -> None:
    """Two models of the same skill, their scores with independent noise: no real difference.
    Over 30 seeded pairs, the verdict on each of the 3 metrics is "within noise" in at least
    85% of the 90 cases (95% expected; the binomial spread of 90 draws is 0.023)."""
    verdicts = []
    for seed in range(30):
        rows = flights(seed=seed)
        rng = np.random.default_rng(1000 + seed)
        logit = np.log(rows["p"].clip(0.001, 0.999) / (1 - rows["p"].clip(0.001, 0.999)))
        other = rows.assign(
            p=np.round(1 / (1 + np.exp(-(logit + rng.normal(0, 0.3, len(rows))))), 3)
        )
        rows = rows.assign(
            p=np.round(1 / (1 + np.exp(-(logit + rng.normal(0, 0.3, len(rows))))), 3)
        )
        verdicts += [c.verdict for c in paired(other, rows, SPEC)]
    assert verdicts.count("within noise") / len(verdicts) >= 0.85


def clustered_errors(days: int, rows_per_day: int, rng: np.random.Generator) -> pd.DataFrame:
    """Absolute errors with a strong day effect; their population mean is exactly 1."""
    day_effect = rng.exponential(1.0, days)  # mean 1
    noise = rng.exponential(1.0, (days, rows_per_day))  # mean 1
    error = 0.5 * day_effect[:, None] + 0.5 * noise  # mean 1
    return pd.DataFrame(
        {
            "id": np.arange(days * rows_per_day),
            "date": np.repeat(np.arange(days), rows_per_day),
            "truth": 0.0,
            "forecast": error.ravel(),
        }
    )


def coverage(unit: str, simulations: int = 200) -> float:
    """The share of seeded simulations whose 95% interval of the MAE covers its true value 1."""
    spec = RowsSpec(("id",), unit, (MetricSpec("mae", "mae", "truth", "forecast"),), resamples=400)
    rng = np.random.default_rng(2013)
    covered = 0
    for _ in range(simulations):
        found = intervals(clustered_errors(40, 25, rng), spec)["mae"]
        covered += found.low <= 1.0 <= found.high
    return covered / simulations


def test_the_95_percent_interval_over_days_covers_the_truth_about_95_percent_of_the_time() -> None:
    """200 seeded simulations of 40 days x 25 rows. The binomial spread of 200 draws at 0.95 is
    0.015; a percentile bootstrap on 40 units runs a little narrow, so 0.88-0.99 is accepted.
    Resampling single rows, as if they were independent, covers far less: the unit matters."""
    assert 0.88 <= coverage("date") <= 0.99
    assert coverage("id") < 0.6


def test_mae_and_skill_recomputed_on_unit_weights() -> None:
    rows = flights()
    rows = rows.assign(truth=rows["p"], model=rows["p"] * 0.9, naive=rows["p"] * 0.5, zero=0.0)
    codes, n = unit_codes(rows["date"])
    ones = np.ones((1, n), dtype=int)
    mae = statistic_of(MetricSpec("m", "mae", "truth", "model"), rows, codes, n)(ones)[0]
    assert mae == pytest.approx(mean_absolute_error(rows["truth"], rows["model"]))
    skill = MetricSpec("s", "skill", "truth", "model", ("naive", "zero"))
    best = min(mean_absolute_error(rows["truth"], rows[c]) for c in ("naive", "zero"))
    assert statistic_of(skill, rows, codes, n)(ones)[0] == pytest.approx(1 - mae / best)


def test_metrics_get_their_bounds_beside_them_and_lose_them_again() -> None:
    metrics = {"n": 5, "roc_auc": 0.7, "model": {"mae": 0.1, "rmse": 0.2}}
    found = {"roc_auc": Interval(0.7, 0.6, 0.8), "model.mae": Interval(0.1, 0.05, 0.15)}
    marked = with_intervals(metrics, found)
    assert marked == {
        "n": 5,
        "roc_auc": 0.7,
        "roc_auc_low": 0.6,
        "roc_auc_high": 0.8,
        "model": {"mae": 0.1, "mae_low": 0.05, "mae_high": 0.15, "rmse": 0.2},
    }
    assert metrics == {"n": 5, "roc_auc": 0.7, "model": {"mae": 0.1, "rmse": 0.2}}  # untouched
    assert without_intervals({**marked, "interval": {"days": 3}}) == metrics


def test_evaluated_states_the_level_resamples_and_number_of_days() -> None:
    rows = flights(days=30)
    result = evaluated({"roc_auc": 0.5}, rows, SPEC)
    assert result["interval"] == {"level": 0.95, "resamples": 300, "days": 30}
    assert result["roc_auc"] == 0.5  # the point value is the caller's, unchanged


def test_scored_rows_carry_their_spec_through_parquet(tmp_path) -> None:
    rows = scored_rows(flights().assign(extra=1), SPEC)
    assert list(rows.columns) == ["id", "date", "y", "p"]
    rows.to_parquet(tmp_path / "rows.parquet")
    assert spec_of(pd.read_parquet(tmp_path / "rows.parquet")) == SPEC
    with pytest.raises(ValueError, match="holds no scored-rows spec"):
        spec_of(flights())


def test_a_spec_document_that_is_not_one_is_refused() -> None:
    document = SPEC.to_document()
    assert spec_from_document(document) == SPEC
    with pytest.raises(ValueError, match="not a scored-rows spec"):
        spec_from_document({"metrics": []})
    bad = {**document, "metrics": [{**document["metrics"][0], "kind": "precision"}]}
    with pytest.raises(ValueError, match="unknown metric kind 'precision'"):
        spec_from_document(bad)


def test_rows_pair_by_key_in_any_order_and_not_when_they_differ() -> None:
    rows = flights(n=300)
    shuffled = rows.sample(frac=1, random_state=1)
    head, base = align(shuffled, rows, SPEC)
    assert (head["id"] == base["id"]).all()
    assert align(rows.head(299), rows, SPEC) is None
    assert align(rows.assign(id=rows["id"] + 1), rows, SPEC) is None
    assert align(rows.assign(date=rows["date"] + 1), rows, SPEC) is None


@pytest.mark.parametrize(
    ("difference", "better", "expected"),
    [
        (Interval(0.01, 0.002, 0.02), "higher", "better"),
        (Interval(0.01, 0.002, 0.02), "lower", "worse"),
        (Interval(-0.01, -0.02, -0.002), "lower", "better"),
        (Interval(0.0, -0.001, 0.001), "higher", "within noise"),
        (Interval(0.001, 0.0, 0.002), "higher", "within noise"),  # touching 0 is not beyond it
    ],
)
def test_the_verdict_reads_where_the_interval_lies(
    difference: Interval, better: str, expected: str
) -> None:
    assert verdict(difference, better) == expected


def test_bad_rows_are_one_clear_error() -> None:
    with pytest.raises(StageError, match="1 unit"):
        intervals(flights().assign(date=0), SPEC)
    with pytest.raises(StageError, match="scored rows: no column 'p'"):
        intervals(flights().drop(columns="p"), SPEC)
    with pytest.raises(StageError, match="column 'p' has missing values"):
        intervals(flights().assign(p=np.nan), SPEC)


def test_resamples_come_in_chunks_that_together_are_one_draw() -> None:
    """Memory stays CHUNK x units however many units (a row per unit, say), and chunking does not
    change a single count."""
    chunks = list(iv.resample_chunks(50, 250, seed=3))
    assert [len(chunk) for chunk in chunks] == [iv.CHUNK, iv.CHUNK, 250 - 2 * iv.CHUNK]
    whole = np.random.default_rng(3).multinomial(50, np.full(50, 1 / 50), size=250)
    assert (np.concatenate(chunks) == whole).all()


def test_accuracy_compares_classes_as_text_and_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    n = 600
    rows = pd.DataFrame({
        "id": np.arange(n), "date": rng.integers(0, 20, n),
        "actual": rng.choice(["a", "b", "c"], n), "predicted": rng.choice(["a", "b", "c"], n),
    })  # fmt: skip
    spec = RowsSpec(("id",), "date", (MetricSpec("accuracy", "accuracy", "actual", "predicted"),))
    found = intervals(rows, spec)["accuracy"]
    assert found.value == pytest.approx(accuracy_score(rows["actual"], rows["predicted"]))
    assert found.low < found.value < found.high
    # Whole numbers and their text are the same class: a CSV's 1 and a model's "1".
    numbers = rows.assign(actual=rows["actual"].map({"a": 1, "b": 2, "c": 3}),
                          predicted=rows["predicted"].map({"a": "1", "b": "2", "c": "3"}))  # fmt: skip
    assert intervals(numbers, spec)["accuracy"] == found
