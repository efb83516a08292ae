"""The report's pure parts: its tables and one project's section."""

from __future__ import annotations

from pathlib import Path

from tools.review.compare import Change
from tools.review.gate import Rule, judge
from tools.review.paired import SplitComparison
from tools.review.report import (
    dvc_plot_errors,
    metrics_table,
    params_table,
    plot_project,
    project_section,
    unreadable_workspace_plots,
)

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
        paired=[SplitComparison("late", "", [], "`abc` has no scored rows")],
        base_label="`abc`",
    )
    assert section.startswith("## late\n\n1 params changed, 1 of 2 metrics moved.")
    assert "### Is the difference real?\n\nNot paired: `abc` has no scored rows." in section
    assert "| `late.train.hgb.max_iter` | 400 | 3 |" in section
    assert "daily.train.seed" not in section
    assert f"| `{AUC}` | 0.76 | 0.7 | -0.06 |" in section
    assert "<details><summary>1 metrics unchanged</summary>" in section
    assert "**FAIL**: worse by 0.06" in section
    assert "![ROC curve](late-roc.png)" in section


def test_a_plot_data_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    declared = {
        "late-roc": {"y": {"m/valid/roc.json": "tpr", "m/test/roc.json": "tpr"}},
        "m/other.json": {"x": "a"},
    }
    (tmp_path / "m" / "valid").mkdir(parents=True)
    (tmp_path / "m" / "valid" / "roc.json").write_text('[{"fpr": 0, "tpr": 0}]')
    (tmp_path / "m" / "other.json").write_text('{"roc": [')
    # m/test/roc.json is absent: a plot not drawn yet is not an unreadable file.
    assert unreadable_workspace_plots(declared, tmp_path) == [
        "m/other.json (workspace): not valid JSON (Expecting value: line 1 column 10 (char 9))"
    ]


def test_dvc_plot_errors_name_file_and_revision_but_not_a_file_a_revision_lacks() -> None:
    output = {
        "errors": [
            {"rev": "abc12345", "source": "m/roc.json", "type": "JSONFileCorruptedError",
             "msg": "unable to read: 'm/roc.json', JSON file structure is corrupted"},
            {"rev": "abc12345", "source": "m/new.json", "type": "FileNotFoundError", "msg": ""},
            {"rev": "abc12345", "source": "late-roc", "type": "DvcException", "msg": "type"},
        ]
    }  # fmt: skip
    assert dvc_plot_errors(output, {"m/roc.json", "m/new.json"}) == [
        "m/roc.json (abc12345): unable to read: 'm/roc.json', JSON file structure is corrupted"
    ]
