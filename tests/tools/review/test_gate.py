"""The model gate's pure parts: reading gate.yaml, judging a metric, the table it prints."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stages.core.intervals import Comparison, Interval, MetricSpec
from tests.conftest import REPO_ROOT
from tools.review.compare import Change
from tools.review.gate import (
    GateConfigError,
    Rule,
    failure_summary,
    file_problem,
    judge,
    judge_all,
    nothing_compared,
    parse_rules,
    read_rules,
    unguarded,
    verdict_table,
)

AUC = Rule("late", "metrics/late/metrics.json:test.roc_auc", "higher", 0.005, min=0.72)
MAE = Rule("daily", "metrics/daily/metrics.json:test.model.mae", "lower", 0.002, max=0.2)


def test_the_committed_gate_file_guards_both_projects_with_a_floor_on_late() -> None:
    rules = read_rules(REPO_ROOT / "gate.yaml")
    assert unguarded(["daily", "late"], rules) == []
    # late's test ROC AUC: worse beyond noise fails; the floor on the point value.
    assert Rule("late", AUC.metric, "higher", 0.0, min=0.72, compare="paired") in rules


def test_parse_rules_reads_project_file_key_and_rule() -> None:
    document = {
        "late": {
            "metrics/late/metrics.json": {
                "test.roc_auc": {"better": "higher", "tolerance": 0.005, "min": 0.72}
            }
        }
    }
    assert parse_rules(document) == [AUC]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"tolerance": 0.1},
            "late: metrics/late/m.json:auc needs 'better: higher' or 'better: lower'",
        ),
        ({"better": "up", "tolerance": 0.1}, "needs 'better: higher' or 'better: lower'"),
        (
            {"better": "higher"},
            "late: metrics/late/m.json:auc needs a tolerance (0 allows no worsening)",
        ),
        ({"better": "higher", "tolerance": -1}, "tolerance must be 0 or more"),
        (
            {"better": "higher", "tolerance": "small"},
            "tolerance must be a finite number, not 'small'",
        ),
        (
            {"better": "higher", "tolerance": 0.1, "min": float("nan")},
            "min must be a finite number",
        ),
        (
            {"better": "higher", "tolerance": 0.1, "floor": 0.7},
            "unknown field 'floor' (the fields are better, bounds, compare, max, min, tolerance)",
        ),
        (0.1, "late: metrics/late/m.json:auc must be {better: ..., tolerance: ...}"),
    ],
)
def test_a_bad_rule_names_its_entry_and_what_to_write(spec: object, message: str) -> None:
    with pytest.raises(GateConfigError, match=r"^gate\.yaml: ") as error:
        parse_rules({"late": {"metrics/late/m.json": {"auc": spec}}})
    assert message in str(error.value)


def test_a_bad_layout_is_named() -> None:
    with pytest.raises(GateConfigError, match="expected projects at the top level"):
        parse_rules(["late"])
    with pytest.raises(GateConfigError, match="late must map metrics files to metrics"):
        parse_rules({"late": 0.7})


def test_a_missing_or_malformed_gate_file_is_one_line(tmp_path) -> None:
    with pytest.raises(GateConfigError, match="not found: run from the repository root"):
        read_rules(tmp_path / "gate.yaml")
    (tmp_path / "gate.yaml").write_text("late: [\n")
    with pytest.raises(GateConfigError, match=r"not valid YAML \(line 2\)"):
        read_rules(tmp_path / "gate.yaml")


@pytest.mark.parametrize(
    ("rule", "old", "new", "failure"),
    [
        (AUC, 0.764, 0.764, ""),
        (AUC, 0.764, 0.760, ""),  # worse by 0.004, within 0.005
        (AUC, 0.764, 0.80, ""),  # better
        (AUC, 0.764, 0.758, "worse by 0.006 (tolerance 0.005)"),
        (AUC, None, 0.73, ""),  # no base value: only the floor applies
        (AUC, None, 0.71, "below the floor 0.72"),
        (AUC, 0.73, 0.715, "worse by 0.015 (tolerance 0.005); below the floor 0.72"),
        (AUC, 0.764, None, "missing: run make repro"),
        (MAE, 0.089, 0.090, ""),
        (MAE, 0.089, 0.095, "worse by 0.006 (tolerance 0.002)"),
        (MAE, 0.089, 0.080, ""),
        (MAE, None, 0.25, "above the ceiling 0.2"),
        # NaN passes every comparison and Infinity beats every bound: refused outright.
        (AUC, 0.764, float("nan"), "nan is not a finite number"),
        (AUC, None, float("inf"), "inf is not a finite number"),
        (MAE, 0.089, float("-inf"), "-inf is not a finite number"),
        (AUC, float("nan"), 0.73, ""),  # a broken base: bounds only, and said so
        (AUC, float("nan"), 0.71, "below the floor 0.72"),
    ],
)
def test_judge(rule: Rule, old: float | None, new: float | None, failure: str) -> None:
    verdict = judge(rule, old, new)
    assert verdict.failure == failure
    assert verdict.passed == (failure == "")


def test_a_missing_or_unusable_base_value_is_said_in_the_table() -> None:
    assert judge(AUC, None, 0.73).note == "no base value: bounds only"
    assert (
        judge(AUC, float("nan"), 0.73).note == "base value nan is not a finite number: bounds only"
    )
    assert verdict_table([judge(AUC, None, 0.73)]).endswith("| pass (no base value: bounds only) |")
    assert judge(AUC, 0.76, 0.77).note == ""


def test_nothing_compared_when_no_rule_had_a_base_value() -> None:
    assert nothing_compared([judge(AUC, None, 0.73), judge(MAE, None, 0.1)])
    assert not nothing_compared([judge(AUC, None, 0.73), judge(MAE, 0.09, 0.1)])
    assert not nothing_compared([])


def test_a_metrics_file_that_does_not_parse_is_named_with_its_error(tmp_path) -> None:
    assert file_problem(tmp_path / "absent.json") == "missing: run make repro"
    (tmp_path / "m.json").write_text('{"test": {"roc_auc": 0.7,\n')
    assert file_problem(tmp_path / "m.json") == (
        f"{tmp_path / 'm.json'} is not valid JSON (line 2 column 1: Expecting property name "
        "enclosed in double quotes): re-create it with dvc repro -f"
    )
    (tmp_path / "m.json").write_text('{"test": {}}')
    assert file_problem(tmp_path / "m.json") == "missing: run make repro"  # the key is absent


def test_failure_summary_says_each_reason_once() -> None:
    broken = [
        judge(AUC, 0.7, None, "f.json is not valid JSON"),
        judge(MAE, 0.1, None, "f.json is not valid JSON"),
    ]
    assert failure_summary(broken) == (
        f"late {AUC.metric}, daily {MAE.metric} (f.json is not valid JSON)"
    )


def test_a_metric_dvc_does_not_report_fails_its_rule() -> None:
    metrics = [Change("late", AUC.metric, 0.76, 0.77)]
    verdicts = judge_all([AUC, MAE], metrics)
    assert [v.passed for v in verdicts] == [True, False]
    assert verdicts[1].failure == "missing: run make repro"


def test_the_table_names_metric_base_new_tolerance_and_why() -> None:
    table = verdict_table([judge(AUC, 0.764277, 0.70), judge(MAE, 0.089, 0.089)])
    lines = table.splitlines()
    assert lines[0] == "| project | metric | base | new | change | tolerance | bound | result |"
    assert lines[2] == (
        "| late | `metrics/late/metrics.json:test.roc_auc` | 0.764277 | 0.7 | -0.064277 | "
        "0.005 (higher is better) | min 0.72 | **FAIL**: worse by 0.064277 (tolerance 0.005); "
        "below the floor 0.72 |"
    )
    assert lines[3].endswith("| max 0.2 | pass |")


def test_unguarded_projects_are_listed() -> None:
    assert unguarded(["daily", "late", "weekly"], [AUC, MAE]) == ["weekly"]


# Noise-aware rules: paired comparisons, and bounds read on the interval.
PAIRED_AUC = Rule("late", "metrics/late/metrics.json:test.roc_auc", "higher", 0.0, compare="paired")
SKILL = Rule(
    "daily", "metrics/daily/metrics.json:test.skill", "higher", 0.02, min=0.0,
    bounds="beyond-noise",
)  # fmt: skip


def paired_with(value: float, low: float, high: float) -> Comparison:
    spec = MetricSpec("roc_auc", "roc_auc", "late", "p_late")
    difference = Interval(value, low, high)
    return Comparison(spec, difference)


@pytest.mark.parametrize(
    ("rule", "difference", "failure"),
    [
        (PAIRED_AUC, (-0.001, -0.004, 0.002), ""),  # within noise: passes
        (PAIRED_AUC, (-0.01, -0.015, -0.004), "worse beyond noise: -0.01, interval "),
        (PAIRED_AUC, (0.01, 0.004, 0.015), ""),  # better beyond noise
        # A tolerance: worse beyond noise, but not by more than it.
        (replace(PAIRED_AUC, tolerance=0.005), (-0.006, -0.009, -0.003), ""),
        (replace(PAIRED_AUC, tolerance=0.005), (-0.01, -0.013, -0.006), "worse beyond noise"),
    ],
)
def test_a_paired_rule_fails_only_when_worse_beyond_noise(
    rule: Rule, difference: tuple, failure: str
) -> None:
    # The point change (-0.02) would fail a fixed tolerance; the paired interval decides.
    result = judge(rule, 0.76, 0.74, paired=paired_with(*difference))
    assert result.failure.startswith(failure) and bool(result.failure) == bool(failure)
    assert result.difference == Interval(*difference)


def test_a_paired_rule_that_cannot_pair_compares_the_intervals_then_the_points() -> None:
    why = "the rows differ (53,991 against 81,681)"
    # Both revisions' intervals: compared as independent (half-widths in quadrature).
    wide = judge(
        PAIRED_AUC, 0.76, 0.75, paired=why, interval=(0.72, 0.78), base_interval=(0.73, 0.79)
    )
    assert wide.passed and wide.reading == "within noise"
    assert wide.note == f"not paired ({why}): the two intervals compared, as independent"
    assert wide.difference == Interval(-0.01, -0.052426, 0.032426)
    narrow = judge(
        PAIRED_AUC, 0.76, 0.70, paired=why, interval=(0.69, 0.71), base_interval=(0.75, 0.77)
    )
    assert narrow.failure.startswith("worse beyond noise: -0.06")
    # No intervals (a base from before they were kept): the point values and the tolerance.
    point = judge(PAIRED_AUC, 0.76, 0.759, paired=why)
    assert point.failure == "worse by 0.001 (tolerance 0)"
    assert point.note == f"not paired ({why}): point values compared"


def test_a_floor_beyond_noise_fails_only_when_the_whole_interval_is_below_it() -> None:
    straddling = judge(SKILL, 0.10, 0.099, interval=(-0.065, 0.236))
    assert straddling.passed
    assert straddling.note == "interval [-0.065, 0.236] reaches below the floor 0"
    below = judge(SKILL, 0.10, -0.2, interval=(-0.3, -0.1))
    assert below.failure.startswith("worse by 0.3 (tolerance 0.02); below the floor 0 (interval")
    # The point below the floor, the interval not wholly: not beyond noise, so it passes.
    assert judge(replace(SKILL, tolerance=1.0), 0.1, -0.01, interval=(-0.1, 0.08)).passed
    strict = replace(SKILL, bounds="whole-interval")
    assert judge(strict, 0.10, 0.099, interval=(-0.065, 0.236)).failure.startswith(
        "below the floor 0 (interval [-0.065, 0.236])"
    )
    assert judge(strict, 0.10, 0.099, interval=(0.01, 0.2)).passed
    # No interval in the metrics file: the point is checked, and the row says so.
    alone = judge(SKILL, 0.10, 0.099)
    assert alone.passed and alone.note == "no interval in the metrics file: point checked"


def test_judge_all_reads_both_intervals_beside_the_metric_and_the_paired_comparison() -> None:
    name = PAIRED_AUC.metric
    metrics = [
        Change("late", name, 0.76, 0.75),
        Change("late", f"{name}_low", 0.73, 0.72),
        Change("late", f"{name}_high", 0.79, 0.78),
    ]
    (unpaired,) = judge_all([PAIRED_AUC], metrics, paired={name: "no scored rows"})
    assert unpaired.note.endswith("the two intervals compared, as independent")
    (found,) = judge_all([PAIRED_AUC], metrics, paired={name: paired_with(-0.01, -0.02, 0.001)})
    assert found.passed and found.reading == "within noise" and found.note == ""
    table = verdict_table([found])
    assert "| -0.01 [-0.02, +0.001] within noise |" in table


@pytest.mark.parametrize(("field", "value"), [("compare", "bootstrap"), ("bounds", "low")])
def test_an_unknown_compare_or_bounds_is_named(field: str, value: str) -> None:
    spec = {"better": "higher", "tolerance": 0.0, field: value}
    with pytest.raises(GateConfigError, match=f"{field} must be one of .*, not '{value}'"):
        parse_rules({"late": {"m.json": {"auc": spec}}})


def test_a_metric_scored_on_other_rows_than_the_base_is_not_compared_as_if_the_same() -> None:
    """Time split -> random split: test n 53,991 -> 81,681, ROC AUC up; not a better model."""
    why = "the rows differ (81,681 against 53,991): the data or the split changed"
    metrics = [Change("late", AUC.metric, 0.764, 0.815)]
    (refused,) = judge_all([AUC], metrics, differ={AUC.metric: why})
    assert refused.failure == (
        f"not comparable with the base: {why} (ALLOW_NEW_ROWS=1 checks the bounds only)"
    )
    (allowed,) = judge_all([AUC], metrics, differ={AUC.metric: why}, allow_new_rows=True)
    assert allowed.passed and allowed.note == f"{why}: bounds only"
    (floor,) = judge_all(
        [AUC], [Change("late", AUC.metric, 0.764, 0.70)], differ={AUC.metric: why},
        allow_new_rows=True,
    )  # fmt: skip
    assert floor.failure == "below the floor 0.72"
