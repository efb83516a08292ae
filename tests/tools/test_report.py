"""The report's pure parts: its tables and one project's section."""

from __future__ import annotations

from tools.compare import Change
from tools.gate import Rule, judge
from tools.report import metrics_table, params_table, plot_project, project_section

AUC = "metrics/late/metrics.json:test.roc_auc"


def test_params_table_shows_base_and_new() -> None:
    table = params_table([Change("late", "late.train.hgb.max_iter", 400, 3)])
    assert table.splitlines()[2] == "| `late.train.hgb.max_iter` | 400 | 3 |"


def test_metrics_table_shows_the_change() -> None:
    rows = metrics_table(
        [Change("late", AUC, 0.764277, 0.70), Change("late", "m:new", None, 1.0)]
    ).splitlines()
    assert rows[2] == f"| `{AUC}` | 0.764277 | 0.7 | -0.064277 |"
    assert rows[3] == "| `m:new` | - | 1 | new |"


def test_a_plot_belongs_to_the_project_of_its_data() -> None:
    assert plot_project({"y": {"metrics/daily/plots/test/EWR.json": ["actual"]}}) == "daily"
    assert plot_project({"y": "tpr"}) == "shared"


def test_a_section_lists_changed_params_moved_metrics_the_gate_and_plots() -> None:
    rule = Rule("late", AUC, "higher", 0.005, min=0.72)
    section = project_section(
        "late",
        params=[
            Change("late", "late.train.hgb.max_iter", 400, 3),
            Change("daily", "daily.train.seed", 1, 2),
        ],
        metrics=[
            Change("late", AUC, 0.76, 0.70),
            Change("late", "m:n", 5, 5),
            Change("daily", "d:x", 1, 2),
        ],
        verdicts=[judge(rule, 0.76, 0.70)],
        images={"late-roc.png": "ROC curve"},
    )
    assert section.startswith("## late\n\n1 params changed, 1 of 2 metrics moved.")
    assert "| `late.train.hgb.max_iter` | 400 | 3 |" in section
    assert "daily.train.seed" not in section
    assert f"| `{AUC}` | 0.76 | 0.7 | -0.06 |" in section
    assert "<details><summary>1 metrics unchanged</summary>" in section
    assert "**FAIL**: worse by 0.06" in section
    assert "![ROC curve](late-roc.png)" in section
