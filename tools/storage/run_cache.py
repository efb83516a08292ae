"""Transfer the data behind the run-cache that ``dvc push/pull --run-cache`` leaves behind.

``dvc push --run-cache`` sends the run records and the objects of cached outputs, but not the
objects of ``cache: false`` outputs (here ``metrics/``, which Git tracks), and ``dvc pull`` fetches
only what ``dvc.lock`` names. A stage restored from a teammate's run-cache then finds objects
missing and runs again. ``push`` and ``pull`` transfer the objects of the outputs of every run
record (DVC skips those already there), so that ``dvc repro`` restores any stage result a
teammate pushed without computing it.

DVC also keeps no run record for a stage with a ``cache: false`` output that is neither a metric
nor a plot (here the plot data in ``metrics/``: the top-level ``plots:`` draws it, and a stage's
``plots:`` output would be drawn a second time). ``record`` saves the records DVC skipped, for
every stage whose outputs match ``dvc.lock``, with DVC's own run-cache code.

Run as ``python -m tools.storage.run_cache record|push|pull`` (``make push`` records and pushes,
``make pull`` pulls).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dvc.repo import Repo
from dvc_data.hashfile.hash_info import HashInfo
from ruamel.yaml import YAML


def record_paths(repo: Repo) -> list[Path]:
    """The files of the local run-cache's records (``.dvc/cache/runs/<k>/<key>/<value>``)."""
    return sorted(Path(repo.stage_cache.cache_dir).glob("*/*/*"))


def run_records(repo: Repo) -> list[dict]:
    """Every run record in the local run-cache."""
    yaml = YAML(typ="safe", pure=True)
    return [yaml.load(path.read_text()) for path in record_paths(repo)]


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


def _is_current(stage: object) -> bool:
    """Whether the stage's deps and outs match ``dvc.lock``; False for one not reproduced here
    (a project run alone with ``make repro P=...``: its inputs are absent), which has no result
    to record."""
    try:
        return not stage.changed()  # type: ignore[attr-defined]
    except OSError:
        return False


def record_skipped_runs(repo: Repo) -> list[str]:
    """Save a run record for every stage that is up to date with ``dvc.lock`` and has none
    (``save`` returns early when one exists); a stage not reproduced here is passed over.
    Returns the stages recorded."""
    from dvc.stage.cache import _can_hash

    recorded = []
    with repo.lock:
        for stage in repo.index.stages:
            if not stage.cmd or not _is_current(stage) or not _can_hash(stage):
                continue
            before = len(record_paths(repo))
            repo.stage_cache.save(stage)
            if len(record_paths(repo)) > before:
                recorded.append(stage.addressing)
    return recorded


def main(argv: list[str]) -> int:
    """Record skipped runs, or push the run records' objects to the default remote, or pull them."""
    if argv not in (["record"], ["push"], ["pull"]):
        print("usage: python -m tools.storage.run_cache record|push|pull", file=sys.stderr)
        return 2
    if argv == ["record"]:
        with Repo() as repo:
            recorded = record_skipped_runs(repo)
        print(f"run-cache: recorded {', '.join(recorded) or 'nothing new'}")
        return 0
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
