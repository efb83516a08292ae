"""Benchmark: scoring a million flights with ``python -m stages.predict``, time and peak memory.

    python -m benchmarks.predict_memory [--flights 1000000] [--repeats 3]

Run from the project root after ``make repro`` (it needs ``data/raw`` and the model). The input
is ``data/raw/flights.parquet`` repeated until it holds ``--flights`` rows, written once as
Parquet and as CSV to a temporary directory. Each case runs the command as its own process,
``--repeats`` times, and reports the median time and the median peak resident memory; the
one-chunk case shows what processing in chunks saves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.measure import MIB, machine, median, run_measured
from stages.predict import DEFAULT_CHUNK_ROWS

ROOT = Path(__file__).resolve().parents[1]
FLIGHTS = ROOT / "data" / "raw" / "flights.parquet"


def make_input(directory: Path, n_flights: int) -> dict[str, Path]:
    """``n_flights`` flights (the raw table repeated) as Parquet and CSV files."""
    flights = pd.read_parquet(FLIGHTS)
    copies = -(-n_flights // len(flights))
    many = pd.concat([flights] * copies, ignore_index=True).head(n_flights)
    paths = {"parquet": directory / "flights.parquet", "csv": directory / "flights.csv"}
    many.to_parquet(paths["parquet"], index=False)
    many.to_csv(paths["csv"], index=False, na_rep="NA")
    return paths


def main() -> None:
    """Run each case and print a Markdown table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        inputs = make_input(directory, args.flights)
        cases = {
            f"Parquet, chunks of {DEFAULT_CHUNK_ROWS:,}": (inputs["parquet"], DEFAULT_CHUNK_ROWS),
            f"CSV, chunks of {DEFAULT_CHUNK_ROWS:,}": (inputs["csv"], DEFAULT_CHUNK_ROWS),
            "Parquet, one chunk": (inputs["parquet"], args.flights),
        }
        print(f"Scoring {args.flights:,} flights, {args.repeats} runs per case, medians.")
        print(f"Machine: {machine()}\n")
        print("| case | time (s) | peak memory (MiB) | progress lines |")
        print("|---|---|---|---|")
        for name, (source, chunk_rows) in cases.items():
            command = [
                sys.executable, "-m", "stages.predict", "--input", str(source),
                "--output", str(directory / "out.parquet"), "--chunk-rows", str(chunk_rows),
            ]  # fmt: skip
            runs = [run_measured(command, cwd=ROOT) for _ in range(args.repeats)]
            progress = runs[0].stderr.count("flights (")
            print(
                f"| {name} | {median([r.seconds for r in runs]):.1f} | "
                f"{median([r.peak_bytes / MIB for r in runs]):.0f} | {progress} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
