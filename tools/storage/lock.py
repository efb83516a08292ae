"""Split requirements.lock so that DVC can see which library pins a stage's outputs depend on.

``uv pip compile`` writes one lock with every pin. DVC can only depend on whole files, so each
library a stage imports, and each it requires, is pinned in a file of its own,
``requirements/<distribution>.txt``, which requirements.lock includes with ``-r`` and the stages
that need it declare (``make fix`` writes those deps, ``make check`` proves them). A new
scikit-learn then re-runs the stages that import scikit-learn, and a new ruff re-runs nothing.

    python -m tools.storage.lock join FILE    write the whole lock, pin files inlined, to FILE
    python -m tools.storage.lock split FILE   write FILE (uv's output) back as requirements.lock
                                              and the pin files of the libraries the stages need

``make lock`` joins (so that uv keeps today's pins as its preferences), compiles, and splits.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

from tools.checks.dvc_lint import (
    PINS_DIR,
    PIPELINE_FILE,
    normalized,
    pin_file,
    pipeline_distributions,
    read_sources,
)

LOCK_FILE = "requirements.lock"
INCLUDE = re.compile(r"^-r\s+(\S+)\s*$")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")
HEADER = """\
# Every pin of the environment `make setup` creates: `make lock` writes this file and the pin
# files it includes (tools/storage/lock.py). The libraries the pipeline's stages need have a pin
# file of their own, requirements/<name>.txt, that dvc.yaml declares as a dependency of each
# stage that imports them: changing one of those pins re-runs exactly those stages; changing a
# pin below (tools, tests, notebooks) re-runs nothing.
"""


def blocks(text: str) -> list[tuple[str | None, list[str]]]:
    """uv's lock as entries: the distribution a pin line names (None for header lines) and the
    pin line with the ``# via`` comment lines under it."""
    entries: list[tuple[str | None, list[str]]] = []
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            entries.append((normalized(match.group(1)), [line]))
        elif entries and entries[-1][0] is not None and line.startswith("    #"):
            entries[-1][1].append(line)
        elif not line.startswith("#") or not entries:
            entries.append((None, [line]))
    return entries


def split(text: str, separate: set[str]) -> tuple[str, dict[str, str]]:
    """requirements.lock's text and each pin file's text, from uv's whole lock ``text``: the
    distributions of ``separate`` go to files of their own."""
    kept: list[str] = []
    files: dict[str, str] = {}
    for name, lines in blocks(text):
        if name in separate:
            files[pin_file(name)] = "\n".join(lines) + "\n"
        elif name is not None:
            kept.extend(lines)
    missing = sorted(separate - {Path(path).stem for path in files})
    if missing:
        raise SystemExit(f"error: the lock pins none of {missing}, which the stages import")
    includes = [f"-r {path}" for path in sorted(files)]
    return HEADER + "\n".join([*includes, *kept]) + "\n", files


def joined(lock: Path) -> str:
    """The whole lock: ``lock`` with each ``-r`` include replaced by the file's pins."""
    lines = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = INCLUDE.match(line)
        lines.extend(
            (lock.parent / match.group(1)).read_text(encoding="utf-8").splitlines()
            if match
            else [line]
        )
    return "\n".join(lines) + "\n"


def stage_distributions(root: Path) -> set[str]:
    """The distributions the stages of ``root``/dvc.yaml need."""
    pipeline = YAML(typ="safe", pure=True).load((root / PIPELINE_FILE).read_text(encoding="utf-8"))
    return pipeline_distributions(pipeline, read_sources(root))


def write_split(whole: str, root: Path) -> list[str]:
    """Write requirements.lock and the pin files under ``root`` from the whole lock; remove pin
    files of libraries no stage needs any more; the pin files written."""
    lock_text, files = split(whole, stage_distributions(root))
    (root / PINS_DIR).mkdir(exist_ok=True)
    for stale in sorted((root / PINS_DIR).glob("*.txt")):
        if stale.relative_to(root).as_posix() not in files:
            stale.unlink()
    for path, content in files.items():
        (root / path).write_text(content, encoding="utf-8")
    (root / LOCK_FILE).write_text(lock_text, encoding="utf-8")
    return sorted(files)


def main(argv: list[str] | None = None, root: Path = Path()) -> int:
    """Join or split the lock."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["join", "split"])
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.action == "join":
        args.file.write_text(joined(root / LOCK_FILE), encoding="utf-8")
        return 0
    written = write_split(args.file.read_text(encoding="utf-8"), root)
    print(f"{LOCK_FILE}: {len(written)} libraries the stages need pinned in {PINS_DIR}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
