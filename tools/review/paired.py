"""Is the difference real? Two revisions' headline metrics, compared on the same rows.

    python -m tools.review.paired A [B]   (make compare A=<experiment or rev> B=...; B: workspace)

Each project's evaluate stage keeps its scored rows (data/<project>/evaluation/<split>.parquet, a
DVC output) and the spec of its headline metrics inside them. For each project and split, the
rows of both revisions are paired by their key, and every headline metric's difference A - B gets
a 95% interval from the same day-block bootstrap applied to both at once: `better`, `worse` or
`within noise`. When the rows differ (the data or the split changed), it says so and shows the
two unpaired intervals from the metrics files instead. A revision's rows are read from the local
DVC cache through that revision's dvc.lock (`dvc exp run` and `dvc repro` put them there; on
another machine, `dvc pull` at that revision first).

`make report` and `make gate` use the same comparison (gate.yaml's `compare: paired`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from stages.core.dvc_yaml import read_pipeline, stage_outputs
from stages.core.intervals import HIGH, LOW, NOISE_WORD, Comparison, align, paired, spec_of
from tools.checks.dvc_lint import repository_projects
from tools.review.compare import CompareError, git, is_number, read_metrics, resolve
from tools.storage.outputs import object_path, object_problem

# What names the workspace (its files, not a commit).
WORKSPACE = "workspace"
# Where a project's evaluate stage keeps its scored rows: data/<project>/evaluation/.
EVALUATION_FOLDER = "evaluation"


def metrics_file(project: str) -> str:
    """The metrics file of a project's evaluate stage: where its headline metrics are."""
    return f"metrics/{project}/metrics.json"


def scored_rows_dir(project: str) -> PurePosixPath:
    """The scored rows' folder of a project, as its paths module and dvc.yaml name it."""
    return PurePosixPath("data") / project / EVALUATION_FOLDER


@dataclass(frozen=True)
class Rows:
    """One revision's scored rows of one split, or why they cannot be read."""

    frame: pd.DataFrame | None
    problem: str = ""


@dataclass(frozen=True)
class SplitComparison:
    """A project's split compared: the paired comparisons, or why there are none."""

    project: str
    split: str
    comparisons: list[Comparison]
    problem: str = ""
    # The two revisions scored different rows (new data, another split): nothing is like for like.
    rows_differ: bool = False

    @property
    def identical(self) -> bool:
        """Both revisions scored the same rows identically: every difference and bound is 0."""
        return bool(self.comparisons) and all(
            (c.difference.value, c.difference.low, c.difference.high) == (0, 0, 0)
            for c in self.comparisons
        )


def experiment_commit(name: str) -> str | None:
    """The commit of the experiment called `name` (`dvc exp show` lists them), if there is one."""
    refs = git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    found = [
        line.split()[1]
        for line in refs.splitlines()
        if line.split()[0].rsplit("/", 1)[-1] == name
        and not line.startswith(("refs/exps/exec/", "refs/exps/celery/"))
    ]
    if len(set(found)) > 1:
        raise CompareError(
            f"{len(found)} experiments are called {name}, on different commits: pass the "
            "commit of the one you mean (dvc exp show --sha)"
        )
    return found[0] if found else None


def resolve_run(name: str) -> str | None:
    """The commit an experiment name or a revision names; None for the workspace."""
    if name == WORKSPACE:
        return None
    found = experiment_commit(name)
    if found:
        return found
    try:
        return resolve(name)
    except CompareError:
        raise CompareError(
            f"{name} is neither an experiment nor a revision here (dvc exp show lists the "
            "experiments; dvc exp pull fetches a teammate's)"
        ) from None


def _lock_outputs(rev: str) -> dict[str, str]:
    """The cached outputs dvc.lock records at `rev`: path -> hash (`<md5>` or `<md5>.dir`)."""
    from ruamel.yaml import YAML

    try:
        text = git("show", f"{rev}:dvc.lock")
    except CompareError:
        return {}
    lock = YAML(typ="safe", pure=True).load(text) or {}
    return {
        out["path"]: out["md5"]
        for stage in (lock.get("stages") or {}).values()
        for out in stage.get("outs") or []
        if out.get("md5")
    }


def _cached_file(value: str, what: str) -> tuple[Path | None, str]:
    """The local cache's object `value`, checked against its hash; or why it cannot be used."""
    path = object_path(value)
    problem = object_problem(path, value)
    if problem == "missing":
        return None, f"{what} is not in the local DVC cache"
    if problem:
        return None, f"{what} in the local DVC cache is {problem}"
    return path, ""


def _why_absent(rev: str, folder: str, value: str, project: str) -> str:
    """Why a revision's scored rows are not in this clone's cache, and what brings them: an
    experiment that never ran the project carries its parent commit's rows, which this clone
    never built or pulled."""
    try:
        parent = git("rev-parse", f"{rev}^")
    except CompareError:
        parent = ""
    if parent and _lock_outputs(parent).get(folder) == value:
        return (
            f": {rev[:8]} did not run {project} (its rows are those of its commit "
            f"{parent[:8]}), and this clone never built or pulled them: make repro P={project} "
            f"at {parent[:8]}, or dvc pull there"
        )
    return f": this clone never built or pulled them: dvc pull at {rev[:8]} (or dvc exp pull)"


def split_files(project: str, rev: str | None) -> tuple[dict[str, Path], str]:
    """Each split's scored-rows file of `project` at `rev` (None: the workspace), or why there
    are none."""
    folder = scored_rows_dir(project)
    if rev is None:
        declared = {
            out for outs in stage_outputs(read_pipeline(Path("."))).values() for out in outs
        }
        if str(folder) not in declared:
            return {}, (
                f"its evaluate stage keeps no scored rows ({folder} is not an output in "
                "dvc.yaml: docs/review.md says how to add them)"
            )
        found = {p.stem: p for p in sorted(Path(folder).glob("*.parquet"))}
        return found, "" if found else f"{folder}/ is absent: run make repro"
    value = _lock_outputs(rev).get(str(folder))
    if value is None:
        return {}, (
            f"{rev[:8]} has no scored rows of {project}: its dvc.lock records no {folder} "
            f"({project}-evaluate never ran there, or ran before it kept scored rows)"
        )
    listing, problem = _cached_file(value, f"{folder} of {rev[:8]}")
    if listing is None:
        return {}, f"{problem}{_why_absent(rev, str(folder), value, project)}"
    entries = json.loads(listing.read_text(encoding="utf-8"))
    files = {}
    for entry in entries:
        name = PurePosixPath(entry["relpath"])
        if name.suffix == ".parquet":
            path, problem = _cached_file(entry["md5"], f"{folder}/{name} of {rev[:8]}")
            if path is None:
                return {}, f"{problem}{_why_absent(rev, str(folder), value, project)}"
            files[name.stem] = path
    return files, ""


def read_rows(path: Path) -> Rows:
    """Scored rows from a Parquet file; a file that carries no spec is a problem, not an error."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        return Rows(None, f"{path} cannot be read ({error}): re-create it with make repro")
    try:
        spec_of(frame)
    except ValueError as error:
        return Rows(None, f"{path} {error}")
    return Rows(frame)


def compare_split(project: str, split: str, a: pd.DataFrame, b: pd.DataFrame) -> SplitComparison:
    """A - B on one split's headline metrics, paired; or why they cannot be paired."""
    spec = spec_of(a)
    if {m.name: m.kind for m in spec.metrics} != {m.name: m.kind for m in spec_of(b).metrics}:
        return SplitComparison(project, split, [], "the two revisions measure different metrics")
    aligned = align(a, b, spec)
    if aligned is None:
        which = (
            f"{len(a):,} against {len(b):,}"
            if len(a) != len(b)
            else f"as many, but other {'/'.join(spec.key)}"
        )
        problem = (
            f"the rows differ ({which}): the data or the split changed, so they cannot be paired"
        )
        return SplitComparison(project, split, [], problem, rows_differ=True)
    return SplitComparison(project, split, paired(*aligned, spec))


def compare_project(project: str, a: str | None, b: str | None) -> list[SplitComparison]:
    """Every split of `project` scored at both `a` and `b` (None: the workspace), compared."""
    files_a, problem_a = split_files(project, a)
    files_b, problem_b = split_files(project, b)
    if problem_a or problem_b:
        return [SplitComparison(project, "", [], problem_a or problem_b)]
    results = []
    for split in sorted(set(files_a) & set(files_b), key=_split_order):
        rows_a, rows_b = read_rows(files_a[split]), read_rows(files_b[split])
        if rows_a.problem or rows_b.problem:
            results.append(SplitComparison(project, split, [], rows_a.problem or rows_b.problem))
            continue
        results.append(compare_split(project, split, rows_a.frame, rows_b.frame))
    return results


def _split_order(split: str) -> tuple[int, str]:
    """test first: it is the headline."""
    return (0 if split == "test" else 1, split)


def _signed(value: float) -> str:
    return f"{value:+.4g}" if value else "0"


def comparison_rows(result: SplitComparison) -> list[str]:
    """Markdown table rows: split, metric, difference, its interval, verdict."""
    return [
        f"| {result.split} | `{c.spec.name}` | {_signed(c.difference.value)} | "
        f"[{_signed(c.difference.low)}, {_signed(c.difference.high)}] | "
        f"{c.verdict if c.verdict == NOISE_WORD else f'**{c.verdict}**'} |"
        for c in result.comparisons
    ]


def unpaired_rows(project: str, result: SplitComparison, metrics: dict[str, tuple]) -> list[str]:
    """Markdown rows for a split that could not be paired: each headline metric's value and
    interval at both revisions, from the metrics files (``metrics``: name -> (old, new))."""
    prefix = f"{metrics_file(project)}:{result.split}."
    rows = []
    for name in sorted(n for n in metrics if n.startswith(prefix) and f"{n}{LOW}" in metrics):
        old, new = metrics[name]
        old_low, new_low = metrics[f"{name}{LOW}"]
        old_high, new_high = metrics.get(f"{name}{HIGH}", (None, None))
        rows.append(
            f"| {result.split} | `{name.removeprefix(prefix)}` | "
            f"{_interval(old, old_low, old_high)} | {_interval(new, new_low, new_high)} |"
        )
    return rows


def _interval(value: object, low: object, high: object) -> str:
    if not is_number(value):
        return "-"
    if is_number(low) and is_number(high):
        return f"{value:.4g} [{low:.4g}, {high:.4g}]"
    return f"{value:.4g}"


def project_table(
    project: str, results: list[SplitComparison], metrics: dict[str, tuple], a: str, b: str
) -> str:
    """One project's comparison, in Markdown: the paired table, or one line saying why there is
    none (with the unpaired intervals when the rows differ)."""
    if results and all(r.identical for r in results):
        return f"No change: {a} and {b} score the same rows identically."
    lines = []
    paired_rows = [row for r in results for row in comparison_rows(r)]
    if paired_rows:
        header = f"| split | metric | {a} - {b} | 95% interval | verdict |"
        lines += [header, "|---|---|---:|---|---|", *paired_rows]
    for result in results:
        if result.problem:
            where = f"{result.split}: " if result.split else ""
            lines += ["", f"Not paired: {where}{result.problem}."]
            unpaired = unpaired_rows(project, result, metrics)
            if unpaired:
                lines += [
                    "",
                    f"| split | metric | {b} [95% interval] | {a} [95% interval] |",
                    "|---|---|---:|---:|",
                    *unpaired,
                ]
    return "\n".join(lines).strip()


def metric_pairs(a: str | None, b: str | None) -> dict[str, tuple]:
    """Every metric's value at `b` and at `a` (None: the workspace), as `dvc metrics diff` reads
    them: name -> (value at b, value at a)."""
    if b is None:  # DVC's new side can only be the workspace: read A against it, then swap
        return {c.name: (c.new, c.old) for c in read_metrics(a)}
    return {c.name: (c.old, c.new) for c in read_metrics(b, a)}


def main(argv: list[str] | None = None) -> int:
    """Print A - B for every project; exit 2 with one line when a name resolves to nothing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="an experiment name (dvc exp show), a revision, or workspace")
    parser.add_argument("b", nargs="?", default=WORKSPACE, help="the same (default: workspace)")
    args = parser.parse_args(argv)
    try:
        a, b = resolve_run(args.a), resolve_run(args.b)
        if a == b:
            raise CompareError(f"{args.a} and {args.b} are the same revision: nothing to compare")
        metrics = metric_pairs(a, b)
        tables = {p: compare_project(p, a, b) for p in repository_projects()}
    except CompareError as error:
        print(f"compare: {error}", file=sys.stderr)
        return 2
    print(f"# {args.a} against {args.b}: is the difference real?\n")
    # Projects that differ first: they are what the reader is looking for.
    ordered = sorted(tables.items(), key=lambda item: all(r.identical for r in item[1]))
    for project, results in ordered:
        print(f"## {project}\n\n{project_table(project, results, metrics, args.a, args.b)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
