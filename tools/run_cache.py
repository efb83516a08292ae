"""Transfer the data behind the run-cache that ``dvc push/pull --run-cache`` leaves behind.

``dvc push --run-cache`` sends the run records and the objects of cached outputs, but not the
objects of ``cache: false`` outputs (here ``metrics/``, which Git tracks), and ``dvc pull`` fetches
only what ``dvc.lock`` names. A stage restored from a teammate's run-cache then finds objects
missing and runs again. ``push`` and ``pull`` transfer the objects of the outputs of every run
record (DVC skips those already there), so that ``dvc repro`` restores any stage result a
teammate pushed without computing it.

Run as ``python -m tools.run_cache push|pull`` (``make push`` and ``make pull`` do).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dvc.repo import Repo
from dvc_data.hashfile.hash_info import HashInfo
from ruamel.yaml import YAML


def run_records(repo: Repo) -> list[dict]:
    """Every run record in the local run-cache (``.dvc/cache/runs/<k>/<key>/<value>``)."""
    yaml = YAML(typ="safe", pure=True)
    return [
        yaml.load(path.read_text())
        for path in sorted(Path(repo.stage_cache.cache_dir).glob("*/*/*"))
    ]


def recorded_objects(repo: Repo) -> set[HashInfo]:
    """Objects (files, directory trees and their contents) of the outputs of every run record."""
    objects: set[HashInfo] = set()
    for record in run_records(repo):
        # The stage DVC itself rebuilds from a record to restore it; all its outputs are cached.
        stage = repo.stage_cache._create_stage(record, wdir=repo.root_dir)
        for out in stage.outs:
            for found in out.get_used_objs().values():
                objects.update(found)
    return objects


def main(argv: list[str]) -> int:
    """Push the run records' objects to the default remote, or pull them from it."""
    if argv not in (["push"], ["pull"]):
        print("usage: python -m tools.run_cache push|pull", file=sys.stderr)
        return 2
    with Repo() as repo:
        transfer = repo.cloud.push if argv == ["push"] else repo.cloud.pull
        result = transfer(recorded_objects(repo))
    if result.failed:
        print(f"ERROR: {len(result.failed)} run-cache objects failed to transfer", file=sys.stderr)
        return 1
    print(f"run-cache: {len(result.transferred)} objects {argv[0]}ed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
