"""The model gate's pure parts: reading gate.yaml, judging a metric, the table it prints."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tools.compare import Change
from tools.gate import (
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
