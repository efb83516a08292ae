"""Command ``late-score``: score flights with a registered version of ``late-model``, without a
clone of the repository.

    late-score --repo URL (--stage prod | --version v1.0.0) --input FLIGHTS --output PREDICTIONS
               [--schedule FILE] [--departures FILE] [--remote-config KEY=VALUE ...]
               [--cache DIR] [--chunk-rows N]

Installed with the package (``pip install "flight-delays @ git+URL@<tag>"``; docs/team.md).
The version is looked up in the model registry (GTO's Git tags, through DVC). Everything the
model was trained with is then fetched from that version's commit with ``dvc get``: the model,
``params.yaml`` (how features are built, the decision threshold), the raw weather, planes and
airports tables, the published schedule and the library pins. Installed libraries that differ
from those pins stop the job with the ``pip install`` that mends it, since another scikit-learn
can score differently. Then it scores exactly as ``python -m stages.late.predict`` does in a
clone of that commit (stages/late/predict.py), byte for byte. What was fetched stays in
``--cache`` (default ``./.late-score``), one folder per commit, so the next run fetches nothing.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from importlib import metadata
from pathlib import Path

from stages.core.errors import StageError, run_stage
from stages.core.guard import check_output_path
from stages.core.params import PARAMS_FILE
from stages.core.registry import fetch_version, resolve_version
from stages.late.featurize import SIDE_TABLES
from stages.late.predict import DEFAULT_CHUNK_ROWS, predict_file
from stages.raw import raw_path

log = logging.getLogger("stages.late.job")
ARTIFACT = "late-model"
DEFAULT_CACHE = Path(".late-score")
# The pin files of the libraries the stages import (tools/storage/lock.py writes them,
# tools.checks.dvc_lint names the folder: the stages cannot import tools).
PINS_DIR = Path("requirements")
# What a version's commit holds that scoring reads, by where it is in the repository.
FETCHED = [PARAMS_FILE, PINS_DIR, *(raw_path(table) for table in (*SIDE_TABLES, "flights"))]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def read_pins(folder: Path) -> dict[str, str]:
    """Every ``name==version`` pin of the pin files in ``folder``."""
    pins = {}
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text().splitlines():
            match = PIN.match(line.strip())
            if match:
                pins[match.group(1)] = match.group(2)
    return pins


def pin_mismatches(pins: dict[str, str], installed: dict[str, str | None]) -> list[str]:
    """``name==version`` for every pin the installed version (None: not installed) differs from."""
    return [f"{name}=={pins[name]}" for name in sorted(pins) if installed.get(name) != pins[name]]


def installed_versions(names: list[str]) -> dict[str, str | None]:
    """The installed version of each distribution, None where it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def check_pins(folder: Path, version: str) -> None:
    """StageError naming the ``pip install`` that makes the libraries those the model was
    trained with, when any differs."""
    pins = read_pins(folder)
    wrong = pin_mismatches(pins, installed_versions(list(pins)))
    if wrong:
        raise StageError(
            f"{ARTIFACT} {version} was trained with other libraries than these: "
            f"pip install {' '.join(wrong)} (then run again)"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="late-score",
        description=f"Score flights with a registered version of {ARTIFACT}, without a clone.",
    )
    parser.add_argument("--repo", required=True, help="the repository's Git URL (or path)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage", help="the registry stage whose version to use, e.g. prod")
    which.add_argument("--version", help="the registered version to use, e.g. v1.0.0")
    parser.add_argument(
        "--input", type=Path, required=True, help="flights: .csv, .csv.gz, .parquet or .pq"
    )
    parser.add_argument("--output", type=Path, required=True, help="predictions, .csv/.parquet")
    parser.add_argument(
        "--schedule", type=Path,
        help="the published schedule to count congestion on (default: the version's raw "
        "flights table where it covers the input's days, the input itself elsewhere)",
    )  # fmt: skip
    parser.add_argument("--departures", type=Path, help="the day's departures so far")
    parser.add_argument(
        "--remote-config", action="append", default=[], metavar="KEY=VALUE",
        help="passed to dvc get, e.g. url=s3://bucket/dvc endpointurl=https://...",
    )  # fmt: skip
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE,
        help="where fetched versions are kept (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Look the version up, fetch what it was trained with, check the libraries, score."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    inputs = {"--input": args.input}
    for option in ("schedule", "departures"):
        if getattr(args, option) is not None:
            inputs[f"--{option}"] = getattr(args, option)
    check_output_path(args.output, inputs, {}, Path.cwd(), [])
    if not args.input.is_file():
        raise StageError(f"--input {args.input}: file not found")
    found = resolve_version(ARTIFACT, args.repo, args.version, args.stage)
    log.info("%s %s is commit %s of %s", ARTIFACT, found.version, found.rev[:7], args.repo)
    folder = fetch_version(
        args.repo, found.rev, [Path(found.path), *FETCHED], args.cache, args.remote_config
    )
    check_pins(folder / PINS_DIR, found.version)
    report = predict_file(
        folder / found.path,
        args.input,
        args.output,
        args.schedule,
        {table: folder / raw_path(table) for table in SIDE_TABLES},
        args.chunk_rows,
        args.departures,
        root=folder,
    )
    for line in report.warnings():
        log.warning("%s", line)
    log.info("wrote %d predictions to %s", report.flights, args.output)


def run() -> None:
    """The ``late-score`` console script."""
    run_stage(main, takes_arguments=True)


if __name__ == "__main__":
    run()
