"""The headline table make repro ends with: gate.yaml's metrics with their intervals, narrow."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO_ROOT
from tools.review.gate import Rule, read_rules
from tools.review.headline import WIDTH, headline_rows, headline_table, units_note


def test_each_guarded_metric_is_shown_with_its_interval(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "late.json").write_text(
        json.dumps({"test": {"roc_auc": 0.764277, "roc_auc_low": 0.73362, "roc_auc_high": 0.788571,
                             "model": {"mae": 0.0891}}})
    )  # fmt: skip
    rules = [
        Rule("late", "m/late.json:test.roc_auc", "higher", 0.0),
        Rule("late", "m/late.json:test.model.mae", "lower", 0.0),
        Rule("daily", "m/absent.json:test.skill", "higher", 0.0),
    ]
    assert headline_table(headline_rows(rules, tmp_path)).splitlines() == [
        "late   test.roc_auc    0.7643  [0.7336, 0.7886]",
        "late   test.model.mae  0.0891",
        "daily  test.skill           -",
    ]


def test_the_committed_headline_fits_a_terminal() -> None:
    """The committed metrics (the full data) in at most 80 columns; `dvc metrics show` took
    over a thousand."""
    rules = read_rules(REPO_ROOT / "gate.yaml")
    lines = headline_table(headline_rows(rules, REPO_ROOT)).splitlines()
    # One line per metric; with a long project name, one more per project (its name above).
    metric_lines = [line for line in lines if not line.endswith(":")]
    assert len(metric_lines) == len(rules)
    assert max(len(line) for line in lines) <= WIDTH
    assert any("test.roc_auc" in line and "[" in line for line in metric_lines)


def test_a_long_project_name_stands_above_its_metrics_and_no_number_is_cut() -> None:
    long = "a_research_project_with_a_long_name_xxxx"
    rows = [
        ("late", "test.roc_auc", "0.7643", "[0.7336, 0.7886]"),
        (long, "test.model.mae", "3.346", "[2.619, 4.293]"),
        (long, "test.skill", "0.9316", "[0.9119, 0.9466]"),
    ]
    assert headline_table(rows).splitlines() == [
        "late:",
        "  test.roc_auc    0.7643  [0.7336, 0.7886]",
        f"{long}:",
        "  test.model.mae   3.346  [2.619, 4.293]",
        "  test.skill      0.9316  [0.9119, 0.9466]",
    ]


def test_the_note_names_what_each_projects_intervals_resample() -> None:
    assert units_note({"late": "days", "daily": "days"}) == (
        "(95% intervals in brackets, over days; every metric: dvc metrics show)"
    )
    assert units_note({"late": "days", "plants": "rows", "daily": "days"}) == (
        "(95% intervals in brackets, over days: late, daily; over rows: plants; every metric: "
        "dvc metrics show)"
    )
    assert units_note({}) == "(every metric: dvc metrics show)"
