"""The headline metrics of each project, narrow enough for a terminal: what `make repro` ends with.

    python -m tools.review.headline [PROJECT]

The headline metrics are those gate.yaml guards, read from the workspace's metrics files, each
with its 95% interval when the file holds one beside it. `dvc metrics show` prints every metric,
one column each (hundreds of characters wide).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stages.core.intervals import HIGH, LOW
from tools.checks.dvc_lint import repository_projects
from tools.review.compare import is_number
from tools.review.gate import GateConfigError, Rule, read_rules

# A terminal's width: no line of the table is longer.
WIDTH = 80


def lookup(document: object, key: str) -> object:
    """The value at a dotted ``key`` of a metrics document, or None."""
    node = document
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _number(value: object) -> str:
    return f"{value:.4g}" if is_number(value) else "-"


def headline_rows(rules: list[Rule], root: Path = Path(".")) -> list[tuple[str, str, str, str]]:
    """(project, metric key, value, interval) for each rule's metric, read from its file; a
    metric its file lacks (not reproduced yet) shows "-"."""
    documents: dict[str, object] = {}
    rows = []
    for rule in rules:
        path, _, key = rule.metric.partition(":")
        if path not in documents:
            try:
                documents[path] = json.loads((root / path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                documents[path] = None
        document = documents[path]
        low, high = lookup(document, key + LOW), lookup(document, key + HIGH)
        interval = f"[{_number(low)}, {_number(high)}]" if low is not None else ""
        rows.append((rule.project, key, _number(lookup(document, key)), interval))
    return rows


def headline_table(rows: list[tuple[str, str, str, str]]) -> str:
    """The rows aligned in columns, each line at most WIDTH characters: when a project's name
    makes a line longer, each project's name stands on a line of its own above its metrics (a
    number is never cut)."""
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    lines = [
        f"{project:<{widths[0]}}  {key:<{widths[1]}}  {value:>{widths[2]}}  {interval}".rstrip()
        for project, key, value, interval in rows
    ]
    if all(len(line) <= WIDTH for line in lines):
        return "\n".join(lines)
    stacked = []
    for name in dict.fromkeys(row[0] for row in rows):
        stacked.append(f"{name}:")
        stacked += [
            f"  {key:<{widths[1]}}  {value:>{widths[2]}}  {interval}".rstrip()
            for project, key, value, interval in rows
            if project == name
        ]
    return "\n".join(stacked)


def interval_units(rules: list[Rule], root: Path = Path(".")) -> dict[str, str]:
    """What each project's intervals resample (``days``, ``rows``, ...), as its metrics files'
    ``interval`` notes name it."""
    units: dict[str, str] = {}
    for rule in rules:
        path, _, key = rule.metric.partition(":")
        try:
            document = json.loads((root / path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        note = lookup(document, f"{key.split('.')[0]}.interval")
        if isinstance(note, dict):
            found = [name for name in note if name not in ("level", "resamples")]
            if found:
                units.setdefault(rule.project, found[0])
    return units


def units_note(units: dict[str, str]) -> str:
    """The line under the table: what the brackets are, over which units."""
    kinds = sorted(set(units.values()))
    if len(kinds) == 1:
        over = f"over {kinds[0]}"
    else:
        over = "; ".join(
            f"over {kind}: {', '.join(p for p, unit in units.items() if unit == kind)}"
            for kind in kinds
        )
    return (
        f"(95% intervals in brackets, {over}; every metric: dvc metrics show)"
        if units
        else ("(every metric: dvc metrics show)")
    )


def main(argv: list[str] | None = None) -> int:
    """Print the table (of one project when named); exit 2 with one line when gate.yaml is bad."""
    args = sys.argv[1:] if argv is None else argv
    try:
        rules = read_rules()
    except GateConfigError as error:
        print(f"headline: {error}", file=sys.stderr)
        return 2
    wanted = [p for p in repository_projects() if not args or p in args]
    rules = [r for r in rules if r.project in wanted]
    if rules:
        print(headline_table(headline_rows(rules)))
        print(units_note(interval_units(rules)))
    for project in wanted:
        if not any(r.project == project for r in rules):
            print(
                f"{project}: no headline metric in gate.yaml; dvc metrics show metrics/{project}/"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
