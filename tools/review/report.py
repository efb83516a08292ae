"""What a change did to each project's models, as a pull-request comment reads: reports/report.md.

    python -m tools.review.report [--base REV] [--out DIR]   (make report BASE=<rev>; default:
                                                   merge base with main; DIR: reports)

First the data: which source files changed (MD5, bytes and rows at BASE and now, from the
statistics ingest keeps in Git, as `dvc metrics diff` reads them), each project's headline
metrics (those gate.yaml judges) and the data statistics that moved. Then per project: the params
that differ from BASE, every metric with its change, the gate's verdicts, and the project's
declared plots (dvc.yaml's top-level `plots:`, both revisions drawn) as PNG images rendered
offline by vl-convert beside the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stages.core.dvc_yaml import read_pipeline
from stages.core.io import atomic_path
from stages.raw import INGEST_METRICS_FILE
from tools.checks.dvc_lint import repository_projects
from tools.review.compare import (
    Change,
    CompareError,
    default_base,
    dvc_json,
    project_of_metrics_file,
    read_metrics,
    read_params,
    resolve,
)
from tools.review.gate import (
    GateConfigError,
    Rule,
    Verdict,
    judge_all,
    no_base_message,
    nothing_compared,
    pairing,
    read_rules,
    unguarded,
    verdict_table,
)
from tools.review.paired import SplitComparison, compare_project, project_table

REPORT_DIR = Path("reports")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return f"`{value}`" if isinstance(value, list | dict) else str(value)


def params_table(changes: list[Change]) -> str:
    """The params that differ, as a Markdown table."""
    rows = [f"| `{c.name}` | {_cell(c.old)} | {_cell(c.new)} |" for c in changes]
    return "\n".join(["| param | base | new |", "|---|---:|---:|", *rows])


def metrics_table(changes: list[Change]) -> str:
    """Metrics with their base and new value and the change, as a Markdown table."""
    rows = []
    for c in changes:
        delta = c.delta
        change = "new" if c.old is None else "-" if delta is None else f"{delta:+.6g}"
        rows.append(f"| `{c.name}` | {_cell(c.old)} | {_cell(c.new)} | {change} |")
    return "\n".join(["| metric | base | new | change |", "|---|---:|---:|---:|", *rows])


def plot_project(definition: dict) -> str:
    """The project a declared plot belongs to: the folder of its data files."""
    files = plot_data_files("", definition)
    return project_of_metrics_file(files[0]) if files else "shared"


def declared_plots(root: Path = Path(".")) -> dict[str, dict]:
    """dvc.yaml's top-level `plots:`: id -> definition, in the file's order."""
    document = read_pipeline(root)
    return {name: spec for entry in document.get("plots", []) for name, spec in entry.items()}


def project_section(
    project: str,
    params: list[Change],
    metrics: list[Change],
    verdicts: list[Verdict],
    images: dict[str, str],
    paired: list[SplitComparison],
    base_label: str,
) -> str:
    """One project's part of the report."""
    own_params = [c for c in params if c.project == project]
    own_metrics = [c for c in metrics if c.project == project]
    own_verdicts = [v for v in verdicts if v.rule.project == project]
    moved = [c for c in own_metrics if c.old != c.new]
    parts = [f"## {project}", ""]
    summary = f"{len(own_params)} params changed, {len(moved)} of {len(own_metrics)} metrics moved."
    parts += [summary, ""]
    pairs = {c.name: (c.old, c.new) for c in own_metrics}
    parts += [
        "### Is the difference real?",
        "",
        project_table(project, paired, pairs, "workspace", base_label),
        "",
    ]
    if own_params:
        parts += ["### Params", "", params_table(own_params), ""]
    if moved:
        parts += ["### Metrics that moved", "", metrics_table(moved), ""]
    steady = [c for c in own_metrics if c.old == c.new]
    if steady:
        parts += [
            f"<details><summary>{len(steady)} metrics unchanged</summary>",
            "",
            metrics_table(steady),
            "",
            "</details>",
            "",
        ]
    if own_verdicts:
        parts += ["### Gate", "", verdict_table(own_verdicts), ""]
    if images:
        parts += ["### Plots", ""]
        parts += [f"![{title}]({file})" for file, title in images.items()]
        parts.append("")
    return "\n".join(parts)


def plot_data_files(name: str, definition: dict) -> list[str]:
    """The data files a declared plot draws: its `y` files, else the plot's own id as a path."""
    y = definition.get("y")
    if isinstance(y, dict):
        return [str(file) for file in y]
    return [name] if name.endswith((".json", ".csv", ".tsv", ".yaml")) else []


def unreadable_workspace_plots(declared: dict[str, dict], root: Path = Path(".")) -> list[str]:
    """Each declared plot's JSON data file in the workspace that does not parse, with why (DVC
    draws the plot without that curve and says nothing in `--json` output but a log line)."""
    problems = []
    for name, definition in declared.items():
        for file in plot_data_files(name, definition):
            path = root / file
            if not file.endswith(".json") or not path.is_file():
                continue
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                problems.append(f"{file} (workspace): not valid JSON ({error})")
    return problems


def dvc_plot_errors(output: dict, files: set[str]) -> list[str]:
    """The data `files` that `dvc plots diff --json` could not read, by revision. A file a
    revision does not have (a new plot), or a revision with no such plot at all, is not an
    error of the data."""
    return [
        f"{error.get('source')} ({error.get('rev')}): {error.get('msg') or error.get('type')}"
        for error in output.get("errors") or []
        if error.get("source") in files and error.get("type") != "FileNotFoundError"
    ]


def render_plots(
    base: str, out_dir: Path, projects: set[str]
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The declared plots of `projects`, base and workspace drawn together (`dvc plots diff`),
    written as PNG to `out_dir`: project -> {file name: title}; and every plot data file that
    could not be read (of any project, in the workspace; of `projects`, at the base too)."""
    import vl_convert

    declared = declared_plots()
    unreadable = unreadable_workspace_plots(declared)
    wanted = {name: d for name, d in declared.items() if plot_project(d) in projects}
    if not wanted:
        return {}, unreadable
    # The short hash names the base in the plots' legends.
    output = dvc_json("plots", "diff", base[:8], "--targets", *wanted)
    rendered = output.get("data", {})
    # The workspace's are named above with the parse error; DVC adds the base's.
    files = {file for name, d in wanted.items() for file in plot_data_files(name, d)}
    unreadable += [e for e in dvc_plot_errors(output, files) if "(workspace)" not in e]
    images: dict[str, dict[str, str]] = {}
    for name, definition in wanted.items():
        for entry in rendered.get(name, []):
            if entry.get("type") != "vega":
                continue
            png = vl_convert.vegalite_to_png(entry["content"], scale=1.5)
            file = f"{name}.png"
            with atomic_path(out_dir / file) as tmp:
                tmp.write_bytes(png)
            images.setdefault(plot_project(definition), {})[file] = definition.get("title", name)
    return images, unreadable


def source_files(metrics: list[Change]) -> tuple[dict[str, dict], dict[str, dict]]:
    """The facts of each source file ingest read (MD5, bytes, rows), at the base and now, from the
    data statistics among ``metrics`` (``<INGEST_METRICS_FILE>:files.<file name>.<fact>``)."""
    prefix = f"{INGEST_METRICS_FILE.as_posix()}:files."
    old: dict[str, dict] = {}
    new: dict[str, dict] = {}
    for change in metrics:
        if change.name.startswith(prefix):
            name, fact = change.name.removeprefix(prefix).rsplit(".", 1)
            for facts, value in ((old, change.old), (new, change.new)):
                if value is not None:
                    facts.setdefault(name, {})[fact] = value
    return old, new


def files_table(old: dict[str, dict], new: dict[str, dict]) -> str:
    """The source files that differ, as a Markdown table."""
    rows = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, {}), new.get(name, {})
        if before.get("md5") == after.get("md5"):
            continue
        rows.append(
            f"| `{name}` | {_cell(before.get('md5'))} | {_cell(after.get('md5'))} | "
            f"{_cell(before.get('bytes'))} | {_cell(after.get('bytes'))} | "
            f"{_cell(before.get('rows'))} | {_cell(after.get('rows'))} |"
        )
    header = [
        "| source file | base MD5 | new MD5 | base bytes | new bytes | base rows | new rows |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    return "\n".join([*header, *rows]) if rows else ""


def data_section(metrics: list[Change], rules: list[Rule]) -> str:
    """What moved in the data between ``base`` and the workspace, and the headline metrics."""
    old, new = source_files(metrics)
    table = files_table(old, new)
    parts = ["## Data", ""]
    if not old:
        parts += [f"The base has no data statistics ({INGEST_METRICS_FILE}).", ""]
    elif table:
        parts += ["### Source files that changed", "", table, ""]
    else:
        parts += ["No source file changed.", ""]
    headline = {rule.metric for rule in rules}
    by_name = {c.name: c for c in metrics}
    heads = [by_name[name] for name in sorted(headline) if name in by_name]
    if heads:
        parts += ["### Headline metrics", "", metrics_table(heads), ""]
    prefix = f"{INGEST_METRICS_FILE.as_posix()}:tables."
    moved = [c for c in metrics if c.name.startswith(prefix) and c.old != c.new]
    if moved:
        parts += [
            f"<details><summary>{len(moved)} data statistics moved</summary>",
            "",
            metrics_table(moved),
            "",
            "</details>",
            "",
        ]
    return "\n".join(parts)


def build_report(base: str, base_label: str, out_dir: Path) -> tuple[str, list[str]]:
    """The report's Markdown (and its PNG images, written to `out_dir`), and the plot data
    files that could not be read."""
    params, metrics = read_params(base), read_metrics(base)
    compared = {p: compare_project(p, None, base) for p in repository_projects()}
    try:
        rules = read_rules()
        found = pairing(rules, base, compared)
        verdicts = judge_all(rules, metrics, paired=found.paired, differ=found.differ)
        failed = [f"`{v.rule.metric}`" for v in verdicts if not v.passed]
        if nothing_compared(verdicts):
            gate_line = f"**fails**: {no_base_message(f'`{base[:8]}`', len(verdicts))}"
        elif failed:
            gate_line = "**fails**: " + ", ".join(failed)
        else:
            gate_line = "passes"
        loose = unguarded(repository_projects(), rules)
        if loose:
            # A pass says nothing of these: a new project's accuracy may fall unseen.
            names = ", ".join(f"`{name}`" for name in loose)
            gate_line += f"; not guarded (no rule in gate.yaml, nothing checked): {names}"
    except GateConfigError as error:
        rules, verdicts, gate_line = [], [], f"cannot run: {error}"
    projects = [p for p in repository_projects() if any(c.project == p for c in params + metrics)]
    changed = {p for p in projects if any(c.project == p for c in params)} | {
        c.project for c in metrics if c.old != c.new
    }
    images, unreadable = render_plots(base, out_dir, changed)
    head = [
        f"# Models: workspace against {base_label} (`{base[:8]}`)",
        "",
        f"Gate (`make gate`): {gate_line}.",
        "",
    ]
    if unreadable:
        head += ["**Plot data that could not be read** (its curves are missing below):", ""]
        head += [f"- `{problem}`" for problem in unreadable] + [""]
    head += [data_section(metrics, rules)]
    shared = [c for c in params if c.project not in projects]
    if shared:
        head += ["### Shared data params", "", params_table(shared), ""]
    # Projects a change touched come first: they are what the reader is looking for.
    ordered = sorted(projects, key=lambda p: (p not in changed, p))
    label = f"`{base[:8]}`"
    sections = [
        project_section(p, params, metrics, verdicts, images.get(p, {}), compared.get(p, []), label)
        for p in ordered
    ]
    return "\n".join(head + sections), unreadable


def main(argv: list[str] | None = None) -> int:
    """Write the report; exit 2 with one line when it cannot be built, 1 when it was built but
    some plot data could not be read (named)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="revision to compare with (default: merge base with main)")
    parser.add_argument("--out", type=Path, default=REPORT_DIR, help="folder of the report")
    args = parser.parse_args(argv)
    try:
        base = resolve(args.base) if args.base else default_base()
        args.out.mkdir(parents=True, exist_ok=True)
        text, unreadable = build_report(base, args.base or "the merge base with main", args.out)
    except CompareError as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    with atomic_path(args.out / "report.md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote {args.out / 'report.md'}", file=sys.stderr)
    if unreadable:
        # The report is written (it says the same at its top), but a plot lacks a curve.
        print(f"report: plot data could not be read: {'; '.join(unreadable)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
