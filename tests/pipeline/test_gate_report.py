"""`make gate` and `make report` on real DVC: an experiment that makes the flight-delay model
clearly worse (three boosting rounds) fails the gate naming the metric; the committed state
passes; after `dvc exp apply` the report lists the changed param and the metrics that moved."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import Repo, run_make, yaml_dump

# One worker runs the module: its tests share one module fixture and run in order.
pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("gate_report")]

FEW_ROUNDS = "late.train.hgb.max_iter=3"
AUC = "metrics/late/metrics.json:test.roc_auc"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gated(reproduced: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A copy of the reproduced repository whose gate floor suits the sample (the 5% sample's
    test ROC AUC is about 0.70, under the full data's floor of 0.72; tolerances are kept)."""
    repo = Repo(tmp_path_factory.mktemp("gate") / "repo")
    shutil.copytree(reproduced[0], repo.root, symlinks=True)
    gate = YAML(typ="safe").load(repo.root / "gate.yaml")
    gate["late"]["metrics/late/metrics.json"]["test.roc_auc"]["min"] = 0.6
    (repo.root / "gate.yaml").write_text(yaml_dump(gate))
    repo.commit("gate floor for the sample")
    return repo


def gate(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """`make gate` in ``repo``; ARGS such as ``BASE=<rev>``."""
    return run_make(repo.root, "gate", *args)


def test_the_gate_passes_on_the_committed_state(gated: Repo) -> None:
    result = gate(gated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: passed (5 metrics)" in result.stdout


def test_a_clearly_worse_model_fails_the_gate_and_the_report_lists_the_change(gated: Repo) -> None:
    gated.run("dvc", "exp", "run", "-n", "few-rounds", "-S", FEW_ROUNDS)
    failed = gate(gated)
    assert failed.returncode != 0
    rows = [line for line in failed.stdout.splitlines() if "**FAIL**: worse by" in line]
    assert rows and all(row.startswith("| late | `metrics/late/metrics.json:") for row in rows)
    named = [row.split("`")[1] for row in rows]
    (summary,) = [line for line in failed.stderr.splitlines() if line.startswith("gate: ")]
    assert summary.startswith("gate: FAILED: ")
    assert [m.split(" (worse by")[0] for m in summary[14:].split("; ")] == [
        f"late {m}" for m in named
    ]
    daily_rows = [line for line in failed.stdout.splitlines() if line.startswith("| daily")]
    assert daily_rows and all(line.endswith("| pass |") for line in daily_rows)

    # Back to the committed state, then the experiment applied as a teammate would.
    gated.run("git", "checkout", "--", ".")
    gated.run("dvc", "checkout", "--force")
    assert gate(gated).returncode == 0
    gated.run("dvc", "exp", "apply", "few-rounds")
    report_run = run_make(gated.root, "report", "BASE=HEAD")
    assert report_run.returncode == 0, report_run.stderr
    report = (gated.root / "reports" / "report.md").read_text()
    assert "| `late.train.hgb.max_iter` | 60 | 3 |" in report
    assert f"Gate (`make gate`): **fails**: {', '.join(f'`{m}`' for m in named)}." in report
    late = report.split("## late")[1]
    moved = late.split("### Metrics that moved")[1].split("###")[0]
    assert f"| `{AUC}` |" in moved
    assert "## daily\n\n0 params changed, 0 of" in report
    images = sorted(p.name for p in (gated.root / "reports").glob("*.png"))
    assert images == [f"late-{name}.png" for name in (
        "calibration", "confusion_test", "drift", "importance", "precision_recall", "roc"
    )]  # fmt: skip
    for image in images:
        assert f"]({image})" in late
        assert (gated.root / "reports" / image).read_bytes().startswith(PNG_SIGNATURE)


def test_the_tool_exits_1_for_a_failing_model_and_2_when_it_cannot_run(gated: Repo) -> None:
    """make exits 2 for any failed recipe; the tool itself tells the two apart."""
    _metric_set_to(gated, "NaN")
    try:
        failing = gated.run("python", "-m", "tools.gate", "--base", "HEAD", check=False)
    finally:
        gated.run("git", "checkout", "--", "metrics")
    assert failing.returncode == 1
    cannot = gated.run("python", "-m", "tools.gate", "--base", "no-such-rev", check=False)
    assert cannot.returncode == 2


def test_a_bad_base_is_one_line(gated: Repo) -> None:
    result = gate(gated, "BASE=no-such-rev")
    assert result.returncode != 0
    assert (
        "gate: BASE=no-such-rev is not a commit here: pass a commit, tag or branch "
        "(git fetch first if it is on the remote)\n"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def _gate_line(result: subprocess.CompletedProcess[str]) -> str:
    """The gate's own line on stderr (make adds its own after it)."""
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("gate: ")]
    return line


def _committed(repo: Repo) -> None:
    """The committed state back (an earlier test applied an experiment)."""
    repo.run("git", "checkout", "--", ".")
    repo.run("dvc", "checkout", "--force")


def _metric_set_to(repo: Repo, value: str) -> None:
    """Write `value` (JSON text, NaN and Infinity included) as late's test ROC AUC."""
    _committed(repo)
    path = repo.root / "metrics" / "late" / "metrics.json"
    path.write_text(re.sub(r'"roc_auc": [^,}]+', f'"roc_auc": {value}', path.read_text(), count=1))


def test_a_metric_that_is_not_a_finite_number_fails_the_gate_and_the_report(gated: Repo) -> None:
    named = "late metrics/late/metrics.json:test.roc_auc ({} is not a finite number)"
    for value, shown in (("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf")):
        _metric_set_to(gated, value)
        try:
            result = gate(gated, "BASE=HEAD")
        finally:
            gated.run("git", "checkout", "--", "metrics")
        assert result.returncode != 0
        assert _gate_line(result) == f"gate: FAILED: {named.format(shown)}"
    # The report carries the same verdict (it said "Gate: passes" for NaN).
    _metric_set_to(gated, "NaN")
    try:
        report_run = run_make(gated.root, "report", "BASE=HEAD")
        report = (gated.root / "reports" / "report.md").read_text()
    finally:
        gated.run("git", "checkout", "--", "metrics")
    assert report_run.returncode == 0, report_run.stderr
    assert "Gate (`make gate`): **fails**: `metrics/late/metrics.json:test.roc_auc`." in report


def test_a_metrics_file_that_does_not_parse_is_named_with_its_error(gated: Repo) -> None:
    _committed(gated)
    path = gated.root / "metrics" / "late" / "metrics.json"
    path.write_text('{"test": {"roc_auc": 0.7,\n')
    try:
        result = gate(gated, "BASE=HEAD")
    finally:
        gated.run("git", "checkout", "--", "metrics")
    assert result.returncode != 0
    last = _gate_line(result)
    assert last.startswith("gate: FAILED: late metrics/late/metrics.json:test.log_loss, ")
    assert last.endswith(
        "(metrics/late/metrics.json is not valid JSON (line 2 column 1: Expecting property name "
        "enclosed in double quotes): re-create it with dvc repro -f)"
    )
    assert "run make repro" not in result.stdout


def test_a_base_holding_none_of_the_metrics_fails_unless_allowed(gated: Repo) -> None:
    _committed(gated)
    empty_tree = gated.run("git", "hash-object", "-t", "tree", "/dev/null").stdout.strip()
    bare = gated.run("git", "commit-tree", empty_tree, "-m", "nothing yet").stdout.strip()
    result = gate(gated, f"BASE={bare}")
    assert result.returncode != 0
    assert _gate_line(result) == (
        f"gate: FAILED: BASE={bare} ({bare[:8]}) holds none of the 5 guarded metrics: nothing "
        "to compare with; pass a BASE that has them, or ALLOW_NO_BASE=1 to check the bounds only"
    )
    assert "| pass (no base value: bounds only) |" in result.stdout
    allowed = gate(gated, f"BASE={bare}", "ALLOW_NO_BASE=1")
    assert allowed.returncode == 0, allowed.stderr
    assert "gate: passed (5 metrics)" in allowed.stdout


def test_a_plot_data_file_that_does_not_parse_is_named_by_the_report(gated: Repo) -> None:
    _committed(gated)
    plot = gated.root / "metrics" / "late" / "plots" / "test" / "roc.json"
    plot.write_text('{"roc": [')
    gated.set_params({"late.train": {"seed": 7}})  # a change, so late's plots are drawn
    try:
        result = run_make(gated.root, "report", "BASE=HEAD")
        report = (gated.root / "reports" / "report.md").read_text()
    finally:
        gated.run("git", "checkout", "--", ".")
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("report: ")]
    assert line.startswith(
        "report: plot data could not be read: metrics/late/plots/test/roc.json (workspace): not "
        "valid JSON (Expecting value: line 1 column 10"
    )
    assert "**Plot data that could not be read** (its curves are missing below):" in report
    assert "- `metrics/late/plots/test/roc.json (workspace): not valid JSON" in report
