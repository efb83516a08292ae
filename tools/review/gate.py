"""Model validation: fail when a change makes a project's model worse than gate.yaml allows.

    python -m tools.review.gate [--base REV]   (make gate BASE=<rev>; default: the merge base with
                                               main)

Each guarded metric of the workspace is compared with BASE: it fails when it worsens by more than
its tolerance, or when it crosses its absolute bound (`min`/`max`), or when it is missing, its
file does not parse, or it is not a finite number (NaN passes every comparison, so it is refused
outright). A rule can be noise-aware (docs/review.md): `compare: paired` fails only when the
paired interval of the change (tools.review.paired: both revisions' scored rows, the same day-block
resamples) lies wholly worse than the tolerance; `bounds: beyond-noise` fails only when the whole
interval is past the bound, `bounds: whole-interval` unless the whole interval respects it.
A metric BASE lacks is checked against its bounds only, and says so; a BASE holding none of
the guarded metrics fails the gate (nothing was compared) unless --allow-no-base is given. Prints
one table (Markdown, so it reads in a terminal and in a pull-request comment) and exits 1 when
any metric fails, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from stages.core.intervals import HIGH, LOW, Comparison, Interval, verdict
from tools.checks.dvc_lint import repository_projects
from tools.review.compare import (
    Change,
    CompareError,
    default_base,
    is_number,
    read_metrics,
    resolve,
)
from tools.review.paired import compare_project, metrics_file

GATE_FILE = Path("gate.yaml")
BETTER = ("higher", "lower")
RULE_KEYS = {"better", "tolerance", "min", "max", "compare", "bounds"}
# How a change against BASE is judged: the point values, or the paired interval of the change.
COMPARE = ("point", "paired")
# Where min/max apply: the point value; fail only when the whole interval is past the bound (the
# metric is past it beyond noise); or require the whole interval within the bound.
BOUNDS = ("point", "beyond-noise", "whole-interval")


class GateConfigError(Exception):
    """gate.yaml cannot be used; the message names the entry and what to write."""


@dataclass(frozen=True)
class Rule:
    """How one metric guards a project: the way it improves, how much it may worsen, its bounds."""

    project: str
    metric: str  # "<metrics file>:<key>", as tools.review.compare names metrics
    better: str
    tolerance: float
    min: float | None = None
    max: float | None = None
    compare: str = "point"
    bounds: str = "point"


@dataclass(frozen=True)
class Verdict:
    """A rule applied: the values compared, and why it fails (empty when it passes)."""

    rule: Rule
    old: float | None
    new: float | None
    failure: str
    note: str = ""
    # A noise-aware comparison: new - old with its interval.
    difference: Interval | None = None

    @property
    def passed(self) -> bool:
        return not self.failure

    @property
    def reading(self) -> str:
        """What the difference's interval says: better, worse, within noise ('' without one)."""
        return verdict(self.difference, self.rule.better) if self.difference else ""


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GateConfigError(f"{GATE_FILE}: {where} must be a finite number, not {value!r}")
    return float(value)


def parse_rules(document: object) -> list[Rule]:
    """gate.yaml's document as Rules: project -> metrics file -> key -> rule."""
    if not isinstance(document, dict):
        raise GateConfigError(f"{GATE_FILE}: expected projects at the top level, e.g. 'late:'")
    rules = []
    for project, files in document.items():
        if not isinstance(files, dict):
            raise GateConfigError(f"{GATE_FILE}: {project} must map metrics files to metrics")
        for path, metrics in files.items():
            if not isinstance(metrics, dict):
                raise GateConfigError(f"{GATE_FILE}: {project}.{path} must map keys to rules")
            for key, spec in metrics.items():
                rules.append(parse_rule(project, f"{path}:{key}", spec))
    return rules


def parse_rule(project: str, metric: str, spec: object) -> Rule:
    """One metric's rule, every field checked; errors name the entry."""
    where = f"{project}: {metric}"
    if not isinstance(spec, dict):
        raise GateConfigError(f"{GATE_FILE}: {where} must be {{better: ..., tolerance: ...}}")
    unknown = sorted(set(spec) - RULE_KEYS)
    if unknown:
        raise GateConfigError(
            f"{GATE_FILE}: {where} has unknown field {unknown[0]!r} "
            f"(the fields are {', '.join(sorted(RULE_KEYS))})"
        )
    if spec.get("better") not in BETTER:
        raise GateConfigError(f"{GATE_FILE}: {where} needs 'better: higher' or 'better: lower'")
    if "tolerance" not in spec:
        raise GateConfigError(f"{GATE_FILE}: {where} needs a tolerance (0 allows no worsening)")
    tolerance = _number(spec["tolerance"], f"{where} tolerance")
    if tolerance < 0:
        raise GateConfigError(f"{GATE_FILE}: {where} tolerance must be 0 or more")
    bounds = {k: _number(spec[k], f"{where} {k}") for k in ("min", "max") if k in spec}
    for field, choices in (("compare", COMPARE), ("bounds", BOUNDS)):
        if spec.get(field, choices[0]) not in choices:
            raise GateConfigError(
                f"{GATE_FILE}: {where} {field} must be one of {', '.join(choices)}, "
                f"not {spec[field]!r}"
            )
    return Rule(
        project, metric, spec["better"], tolerance, **bounds,
        compare=spec.get("compare", "point"), bounds=spec.get("bounds", "point"),
    )  # fmt: skip


MISSING = "missing: run make repro"
# How a metric scored on other rows than the base can still be checked.
NEW_ROWS_HINT = "ALLOW_NEW_ROWS=1 checks the bounds only"


def _worse_than_tolerance(rule: Rule, old: float, new: float) -> str:
    """The point comparison: why `new` is worse than `old` beyond the tolerance, or ''."""
    worsening = old - new if rule.better == "higher" else new - old
    # A hair of slack: metrics files are rounded to 6 decimals.
    if worsening > rule.tolerance + 1e-9:
        return f"worse by {worsening:.6g} (tolerance {rule.tolerance:g})"
    return ""


def _worse_beyond_noise(rule: Rule, d: Interval) -> str:
    """Why the whole interval `d` of new - old is worse than the tolerance, or ''."""
    best = d.high if rule.better == "higher" else -d.low  # the most favourable end, as a gain
    if best < -rule.tolerance - 1e-9:
        return (
            f"worse beyond noise: {d.value:+.4g}, interval [{d.low:+.4g}, {d.high:+.4g}] "
            f"(tolerance {rule.tolerance:g})"
        )
    return ""


def _bound_failures(rule: Rule, new: float, interval: tuple | None) -> tuple[list[str], str]:
    """Why `new` (and its interval) breaks the rule's bounds, and a note when the interval
    straddles a bound it is not required to clear."""
    if rule.bounds == "point" or interval is None:
        low = high = new
        note = "" if rule.bounds == "point" else "no interval in the metrics file: point checked"
    else:
        low, high = interval
        note = ""
    # beyond-noise: the whole interval must be past a bound to fail; whole-interval: any of it.
    strict = rule.bounds != "beyond-noise"
    failures = []
    if rule.min is not None and (low if strict else high) < rule.min:
        failures.append(f"below the floor {rule.min:g}" + _interval_text(rule, interval))
    elif rule.min is not None and low < rule.min:
        note = f"interval [{low:.4g}, {high:.4g}] reaches below the floor {rule.min:g}"
    if rule.max is not None and (high if strict else low) > rule.max:
        failures.append(f"above the ceiling {rule.max:g}" + _interval_text(rule, interval))
    elif rule.max is not None and high > rule.max:
        note = f"interval [{low:.4g}, {high:.4g}] reaches above the ceiling {rule.max:g}"
    return failures, note


def _interval_text(rule: Rule, interval: tuple | None) -> str:
    if rule.bounds == "point" or interval is None:
        return ""
    return f" (interval [{interval[0]:.4g}, {interval[1]:.4g}])"


def unpaired_difference(
    old: float, new: float, old_interval: tuple | None, new_interval: tuple | None
) -> Interval | None:
    """new - old with an interval from the two revisions' own intervals, taken as independent
    (half-widths added in quadrature): wider than the paired one, which is why it is only the
    fallback. None when either interval is missing."""
    if old_interval is None or new_interval is None:
        return None
    half = math.hypot(
        (old_interval[1] - old_interval[0]) / 2, (new_interval[1] - new_interval[0]) / 2
    )
    difference = new - old
    return Interval(round(difference, 6), round(difference - half, 6), round(difference + half, 6))


def judge(
    rule: Rule,
    old: object,
    new: object,
    absent: str = MISSING,
    paired: Comparison | str | None = None,
    interval: tuple | None = None,
    base_interval: tuple | None = None,
    other_rows: str = "",
    allow_new_rows: bool = False,
) -> Verdict:
    """Apply `rule` to the metric's value at the base (`old`) and now (`new`); `absent` is what
    a missing new value means (its file's problem). For a `compare: paired` rule, `paired` is the
    paired comparison, or why there is none: then the two revisions' own intervals are compared
    as independent (`interval` now, `base_interval` at the base), or without them the point
    values, and the note says which. `interval` also serves `bounds` other than point.
    `other_rows` says why the metric's split scored other rows than the base (new data, another
    split): it is not compared with the base at all, and fails unless `allow_new_rows`, when its
    bounds alone decide."""
    notes = []
    old_value = float(old) if is_number(old) else None
    if old_value is not None and not math.isfinite(old_value):
        notes.append(f"base value {old_value} is not a finite number: bounds only")
        old_value = None
    elif old_value is None:
        notes.append("no base value: bounds only")
    if not is_number(new):
        return Verdict(rule, old_value, None, absent)
    new_value = float(new)
    if not math.isfinite(new_value):
        return Verdict(rule, old_value, new_value, f"{new_value} is not a finite number")
    failures = []
    difference = paired.difference if isinstance(paired, Comparison) else None
    if other_rows:
        # A protocol or data change, not a better or worse model: nothing to compare with.
        difference = None
        if allow_new_rows:
            notes = [f"{other_rows}: bounds only"]
        else:
            notes = []
            failures.append(f"not comparable with the base: {other_rows} ({NEW_ROWS_HINT})")
    elif old_value is not None and rule.compare == "paired" and difference is not None:
        failures.append(_worse_beyond_noise(rule, difference))
    elif old_value is not None and rule.compare == "paired":
        difference = unpaired_difference(old_value, new_value, base_interval, interval)
        why = paired or "no scored rows"
        if difference is not None:
            notes.append(f"not paired ({why}): the two intervals compared, as independent")
            failures.append(_worse_beyond_noise(rule, difference))
        else:
            notes.append(f"not paired ({why}): point values compared")
            failures.append(_worse_than_tolerance(rule, old_value, new_value))
    elif old_value is not None:
        failures.append(_worse_than_tolerance(rule, old_value, new_value))
    bound_failures, bound_note = _bound_failures(rule, new_value, interval)
    failures += bound_failures
    if not other_rows:
        notes.append(bound_note)
    return Verdict(
        rule, old_value, new_value, "; ".join(f for f in failures if f),
        "; ".join(n for n in notes if n), difference,
    )  # fmt: skip


def file_problem(path: Path) -> str:
    """Why the metrics of `path` cannot be read now: missing, or the parse error (DVC itself
    only reports the values as absent)."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return MISSING
    except (OSError, UnicodeDecodeError) as error:
        return f"{path} cannot be read ({error}): re-create it with dvc repro -f"
    except json.JSONDecodeError as error:
        return (
            f"{path} is not valid JSON (line {error.lineno} column {error.colno}: {error.msg}): "
            "re-create it with dvc repro -f"
        )
    return MISSING


def judge_all(
    rules: list[Rule],
    metrics: list[Change],
    root: Path = Path("."),
    paired: dict[str, Comparison | str] | None = None,
    differ: dict[str, str] | None = None,
    allow_new_rows: bool = False,
) -> list[Verdict]:
    """Every rule applied to the metrics read from DVC (a missing metric fails its rule, naming
    its file's problem when the file does not parse); `paired`: metric name -> its paired
    comparison, or why there is none; `differ`: the metrics whose rows differ from the base's,
    which fail (not comparable) unless `allow_new_rows`, then are checked against their bounds."""
    by_name = {change.name: change for change in metrics}
    verdicts = []
    for rule in rules:
        change = by_name.get(rule.metric)
        old, new = (change.old, change.new) if change else (None, None)
        absent = MISSING if is_number(new) else file_problem(root / rule.metric.split(":")[0])
        bounds = [by_name.get(rule.metric + suffix) for suffix in (LOW, HIGH)]
        verdicts.append(
            judge(
                rule, old, new, absent, (paired or {}).get(rule.metric),
                interval=_interval_of(bounds, "new"), base_interval=_interval_of(bounds, "old"),
                other_rows=(differ or {}).get(rule.metric, ""), allow_new_rows=allow_new_rows,
            )
        )  # fmt: skip
    return verdicts


def _interval_of(bounds: list[Change | None], side: str) -> tuple | None:
    """(low, high) of one side (``old`` or ``new``) of a metric's two bound changes, or None
    when either is absent or not a number."""
    values = [getattr(b, side) if b is not None else None for b in bounds]
    return tuple(values) if all(is_number(v) for v in values) else None


@dataclass(frozen=True)
class Pairing:
    """What the scored rows say of each guarded metric against the base: its paired comparison
    or why there is none (`paired`, for `compare: paired` rules), and the metrics whose split
    scored other rows at the base (`differ`: metric -> why), which no rule may compare as if
    they were the same."""

    paired: dict[str, Comparison | str]
    differ: dict[str, str]


def pairing(rules: list[Rule], base: str, done: dict[str, list] | None = None) -> Pairing:
    """The Pairing of `rules`, workspace against `base`; a metric is named
    `<metrics file>:<split>.<metric>`. `done`: the projects' comparisons already made
    (tools.review.paired.compare_project), by project."""
    paired: dict[str, Comparison | str] = {}
    differ: dict[str, str] = {}
    for project in sorted({r.project for r in rules}):
        results = (done or {}).get(project) or compare_project(project, None, base)
        comparisons = {
            f"{metrics_file(project)}:{r.split}.{c.spec.name}": c
            for r in results
            for c in r.comparisons
        }
        problems = {r.split: r.problem for r in results if r.problem}
        differing = {r.split: r.problem for r in results if r.rows_differ}
        for rule in (r for r in rules if r.project == project):
            path, _, key = rule.metric.partition(":")
            split = key.partition(".")[0]
            if path == metrics_file(project) and split in differing:
                differ[rule.metric] = differing[split]
            if rule.compare == "paired":
                paired[rule.metric] = (
                    comparisons.get(rule.metric)
                    or problems.get(split)
                    or problems.get("")
                    or "not a headline metric of the scored rows"
                )
    return Pairing(paired, differ)


def nothing_compared(verdicts: list[Verdict]) -> bool:
    """True when the base held none of the guarded metrics: the gate compared nothing."""
    return bool(verdicts) and all(v.old is None for v in verdicts)


def no_base_message(base_label: str, count: int) -> str:
    """What the gate says when the base has none of its metrics."""
    return (
        f"{base_label} holds none of the {count} guarded metrics: nothing to compare with; "
        "pass a BASE that has them, or ALLOW_NO_BASE=1 to check the bounds only"
    )


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def verdict_table(verdicts: list[Verdict]) -> str:
    """The verdicts as a Markdown table: project, metric, base, new, change, allowed, result."""
    lines = [
        "| project | metric | base | new | change | tolerance | bound | result |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for v in verdicts:
        change = "-" if v.old is None or v.new is None else f"{v.new - v.old:+.6g}"
        if v.difference is not None:
            d = v.difference
            change += f" [{d.low:+.4g}, {d.high:+.4g}] {v.reading}"
        bound = ", ".join(
            f"{name} {value:g}" for name, value in (("min", v.rule.min), ("max", v.rule.max))
            if value is not None
        )  # fmt: skip
        result = "pass" if v.passed else f"**FAIL**: {v.failure}"
        if v.note:
            result += f" ({v.note})"
        lines.append(
            f"| {v.rule.project} | `{v.rule.metric}` | {_value(v.old)} | {_value(v.new)} | "
            f"{change} | {v.rule.tolerance:g} ({v.rule.better} is better) | {bound or '-'} | "
            f"{result} |"
        )
    return "\n".join(lines)


def failure_summary(failed: list[Verdict]) -> str:
    """The failed metrics on one line, grouped by why they failed (a broken file fails every
    metric it holds for one reason: said once)."""
    by_reason: dict[str, list[str]] = {}
    for v in failed:
        by_reason.setdefault(v.failure, []).append(f"{v.rule.project} {v.rule.metric}")
    return "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())


def unguarded(projects: list[str], rules: list[Rule]) -> list[str]:
    """The projects no rule guards."""
    guarded = {rule.project for rule in rules}
    return [project for project in projects if project not in guarded]


def read_rules(path: Path = GATE_FILE) -> list[Rule]:
    """gate.yaml's rules; a missing or malformed file raises GateConfigError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise GateConfigError(f"{path} not found: run from the repository root")
    try:
        document = YAML(typ="safe").load(path)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark else ""
        raise GateConfigError(f"{path}: not valid YAML{line}") from None
    return parse_rules(document)


def evaluate(base: str, allow_new_rows: bool = False) -> tuple[list[Verdict], list[str]]:
    """The verdicts of gate.yaml's rules against `base`, and the projects left unguarded."""
    rules = read_rules()
    found = pairing(rules, base)
    verdicts = judge_all(
        rules, read_metrics(base), paired=found.paired, differ=found.differ,
        allow_new_rows=allow_new_rows,
    )  # fmt: skip
    return verdicts, unguarded(repository_projects(), rules)


def main(argv: list[str] | None = None) -> int:
    """Print the gate's table; exit 1 when a guarded metric fails, 2 when it cannot run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="revision to compare with (default: merge base with main)")
    parser.add_argument(
        "--allow-no-base",
        action="store_true",
        help="pass on the bounds alone when the base holds none of the guarded metrics",
    )
    parser.add_argument(
        "--allow-new-rows",
        action="store_true",
        help="check only the bounds of metrics whose rows differ from the base's (new data, "
        "another split) instead of failing them",
    )
    args = parser.parse_args(argv)
    try:
        base = resolve(args.base) if args.base else default_base()
        verdicts, left_out = evaluate(base, args.allow_new_rows)
    except (CompareError, GateConfigError) as error:
        print(f"gate: {error}", file=sys.stderr)
        return 2
    label = args.base or "the merge base with main"
    print(f"Model gate against {label} ({base[:8]}):\n")
    print(verdict_table(verdicts))
    for project in left_out:
        print(f"\n{project}: no metric guards it (add one to {GATE_FILE})")
    if nothing_compared(verdicts) and not args.allow_no_base:
        named = f"BASE={args.base}" if args.base else label
        message = no_base_message(f"{named} ({base[:8]})", len(verdicts))
        print(f"\ngate: FAILED: {message}", file=sys.stderr)
        return 1
    failed = [v for v in verdicts if not v.passed]
    if failed:
        print(f"\ngate: FAILED: {failure_summary(failed)}", file=sys.stderr)
        return 1
    print(f"\ngate: passed ({len(verdicts)} metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
