"""The model gate's pure parts: reading gate.yaml, judging a metric, the table it prints."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tools.compare import Change
from tools.gate import (
    GateConfigError,
    Rule,
    judge,
    judge_all,
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
    assert AUC in rules


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
            "unknown field 'floor' (the fields are better, max, min, tolerance)",
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
    ],
)
def test_judge(rule: Rule, old: float | None, new: float | None, failure: str) -> None:
    verdict = judge(rule, old, new)
    assert verdict.failure == failure
    assert verdict.passed == (failure == "")


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
