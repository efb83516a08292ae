"""Benchmark: scoring a million flights with ``python -m stages.late.predict``: time, peak memory.

    python -m benchmarks.predict_memory [--flights 1000000] [--repeats 3]

``make bench`` runs it inside its own reproduced copy of the project (``benchmarks.pipeline``);
run alone, it uses this working copy after ``make repro`` (it needs ``data/raw`` and the model).
The input is ``data/raw/flights.parquet`` repeated until it holds ``--flights`` rows, written
once as Parquet and as CSV to a temporary directory. Each case runs the command as its own
process, ``--repeats`` times, and reports the median time and the median peak resident memory;
the one-chunk case shows what processing in chunks saves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.measure import MIB, machine, median, run_measured
from stages.late.predict import DEFAULT_CHUNK_ROWS
from stages.raw import raw_path

ROOT = Path(__file__).resolve().parents[1]


def make_input(project: Path, directory: Path, n_flights: int) -> dict[str, Path]:
    """``n_flights`` flights (the project's raw table repeated) as Parquet and CSV files."""
    flights = pd.read_parquet(project / raw_path("flights"))
    copies = -(-n_flights // len(flights))
    many = pd.concat([flights] * copies, ignore_index=True).head(n_flights)
    paths = {"parquet": directory / "flights.parquet", "csv": directory / "flights.csv"}
    many.to_parquet(paths["parquet"], index=False)
    many.to_csv(paths["csv"], index=False, na_rep="NA")
    return paths


def predict_section(project: Path, n_flights: int, repeats: int) -> list[str]:
    """Score ``n_flights`` with the project's model, each case ``repeats`` times; Markdown lines."""
    lines = [
        f"## Scoring {n_flights:,} flights",
        "",
        f"`python -m stages.late.predict` on the raw flights table repeated to {n_flights:,} rows, "
        f"{repeats} runs per case, medians. The one-chunk case shows what chunks save.",
        "",
        "| case | time (s) | peak memory (MiB) | progress lines |",
        "| --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        inputs = make_input(project, directory, n_flights)
        cases = {
            f"Parquet, chunks of {DEFAULT_CHUNK_ROWS:,}": (inputs["parquet"], DEFAULT_CHUNK_ROWS),
            f"CSV, chunks of {DEFAULT_CHUNK_ROWS:,}": (inputs["csv"], DEFAULT_CHUNK_ROWS),
            "Parquet, one chunk": (inputs["parquet"], n_flights),
        }
        for name, (source, chunk_rows) in cases.items():
            command = [
                sys.executable, "-m", "stages.late.predict", "--input", str(source),
                "--output", str(directory / "out.parquet"), "--chunk-rows", str(chunk_rows),
            ]  # fmt: skip
            runs = [run_measured(command, cwd=project) for _ in range(repeats)]
            progress = runs[0].stderr.count("flights (")
            lines.append(
                f"| {name} | {median([r.seconds for r in runs]):.1f} | "
                f"{median([r.peak_bytes / MIB for r in runs]):.0f} | {progress} |"
            )
    return [*lines, ""]


def main() -> None:
    """Print the section for this working copy (run ``make repro`` first)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    print("\n".join(predict_section(ROOT, args.flights, args.repeats)))


if __name__ == "__main__":
    main()
