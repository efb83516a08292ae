"""Guards around DVC's cache, for what DVC itself does not check (docs/storage.md).

    python -m tools.storage.outputs verify   make push, before sending: every object hashes to
                                             its name
    python -m tools.storage.outputs fetched  make pull, after `dvc fetch`: the same for what
                                             arrived
    python -m tools.storage.outputs cached   make repro, after `dvc repro`: dvc.lock's outputs
                                             are cached
    python -m tools.storage.outputs restore  make repro, when `dvc repro` failed: Git-tracked
                                             outputs back

DVC names each cache object by its hash but never re-hashes one: a corrupted object (bytes flipped,
mtime kept) is checked out, reported up to date by `dvc status`, and pushed under its good name,
so every `make pull` then receives it too. A run that fails while DVC caches its outputs (a full
disk) leaves `dvc.lock` naming objects the cache lacks, and a partial `*.tmp` object. And DVC
deletes a stage's outputs before it runs the command, Git-tracked metrics included, so a stage
that fails leaves them deleted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stages.core.dvc_yaml import OUTPUT_KEYS, read_pipeline
from stages.core.hashing import md5_of_file

# The local cache's objects, as DVC 3 lays them out; partial objects end in `.tmp`.
CACHE_FILES = Path(".dvc/cache/files/md5")
# DVC 3 holds no lock for a whole `dvc repro`: each stage takes read and write locks on its
# paths here (pid and command per path), and a second run gets as far as the first busy path.
DVC_RWLOCK = Path(".dvc/tmp/rwlock")


class WorkspaceBusy(Exception):
    """Another DVC process is running in the workspace."""


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a crashed run leaves its entries behind)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_dvc(rwlock: Path = DVC_RWLOCK) -> list[str]:
    """The commands of the live processes holding DVC's path locks, each once."""
    try:
        document = json.loads(rwlock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    holders = []
    for mode in ("read", "write"):
        for entry in (document.get(mode) or {}).values():
            for holder in entry if isinstance(entry, list) else [entry]:
                if isinstance(holder, dict) and _alive(int(holder.get("pid", 0) or 0)):
                    holders.append(f"{holder.get('cmd', '?')} (pid {holder['pid']})")
    return list(dict.fromkeys(holders))


def check_not_busy(rwlock: Path = DVC_RWLOCK) -> None:
    """WorkspaceBusy naming the running DVC command when there is one: what is missing from the
    work tree or partial in the cache is then that run's, and not to be touched."""
    holders = running_dvc(rwlock)
    if holders:
        raise WorkspaceBusy(
            f"another DVC process is running in this workspace ({holders[0]}): nothing was "
            "restored or removed; run make repro again when it is done"
        )


@dataclass(frozen=True)
class CachedObject:
    """One object an output needs: its hash (`<md5>` or `<md5>.dir`), the output path it
    belongs to, and the stage (or .dvc file) that writes it."""

    value: str
    name: str
    stage: str


def object_path(value: str, cache: Path = CACHE_FILES) -> Path:
    """Where the local cache keeps the object named `value`."""
    return cache / value[:2] / value[2:]


def object_problem(path: Path, value: str) -> str:
    """Why the object at `path` is not the object `value` names; empty when it is."""
    if not path.is_file():
        return "missing"
    actual = md5_of_file(path)
    expected = value.removesuffix(".dir")
    return "" if actual == expected else f"corrupted: its bytes hash to {actual}"


def needed_objects(
    repo: object, run_cache: bool = False, present_only: bool = False
) -> list[CachedObject]:
    """The objects of every cached output of the workspace's dvc.lock and .dvc files (directory
    trees and their files), and with `run_cache` those of the run-cache's records. With
    `present_only`, only those of outputs the workspace holds: in a clone where `make repro P=`
    ran one project, the others' outputs are neither here nor in the cache, and rightly so."""
    from dvc.exceptions import DvcException

    found: dict[str, CachedObject] = {}
    for out in repo.index.outs:
        if not out.use_cache or (present_only and not Path(out.fs_path).exists()):
            continue
        stage = out.stage.addressing
        if not out.hash_info.value:
            continue  # not run yet: nothing dvc.lock names
        try:
            used = [h for objects in out.get_used_objs().values() for h in objects]
        except (OSError, DvcException):
            # A directory whose listing (`.dir` object) is not here: DVC cannot expand it.
            used = [out.hash_info]
        for hash_info in used:
            name = str(getattr(hash_info, "obj_name", None) or out.def_path)
            found.setdefault(hash_info.value, CachedObject(hash_info.value, name, stage))
    if run_cache:
        from tools.storage.run_cache import recorded_objects

        for hash_info in recorded_objects(repo):
            name = str(getattr(hash_info, "obj_name", None) or "a run-cache record's output")
            found.setdefault(hash_info.value, CachedObject(hash_info.value, name, "run-cache"))
    return sorted(found.values(), key=lambda o: (o.name, o.value))


def problems(objects: list[CachedObject], cache: Path = CACHE_FILES) -> dict[CachedObject, str]:
    """Each object that is missing from the cache or corrupted there, with which."""
    found = {obj: object_problem(object_path(obj.value, cache), obj.value) for obj in objects}
    return {obj: problem for obj, problem in found.items() if problem}


def partial_objects(cache: Path = CACHE_FILES) -> list[Path]:
    """Objects DVC left half-written (`*.tmp` in the cache), from a run that failed."""
    return sorted(cache.glob("**/*.tmp")) if cache.is_dir() else []


def experiment_running(root: Path = Path(".")) -> bool:
    """Whether a queued or `--temp` experiment is running: its DVC writes `*.tmp` objects into
    the same cache, which must then be left alone."""
    workspaces = root / ".dvc" / "tmp" / "exps"
    return workspaces.is_dir() and any(workspaces.glob("tmp*"))


def recovery(obj: CachedObject) -> str:
    """How to put a good copy of `obj` back in the cache."""
    if obj.stage == "run-cache":
        return "rm -r .dvc/cache/runs and re-run the stage (dvc repro -f)"
    if obj.stage.endswith(".dvc"):
        return f"dvc add {obj.stage.removesuffix('.dvc')} (its workspace copy is hashed again)"
    return (
        f"dvc commit --force {obj.stage} if the workspace copy is intact, "
        f"else dvc repro -f {obj.stage}"
    )


def remove_partials(cache: Path = CACHE_FILES) -> list[str]:
    """Remove the partial objects (unless an experiment is writing its own): lines to print."""
    partial = partial_objects(cache)
    if not partial:
        return []
    if experiment_running():
        return [
            f"outputs: {len(partial)} partial objects left in the cache: an experiment is "
            "running and may be writing them; run make repro again after it"
        ]
    for path in partial:
        path.unlink(missing_ok=True)
    return [f"outputs: removed {len(partial)} partial objects a failed run left in the cache"]


def open_repo() -> object:
    """DVC's view of the repository in the working directory."""
    from dvc.repo import Repo

    return Repo()


def verify(run_cache: bool) -> int:
    """Refuse (exit 1) when an object about to be pushed is corrupted; name missing ones."""
    with open_repo() as repo:
        objects = needed_objects(repo, run_cache=run_cache)
    found = problems(objects)
    corrupted = {o: p for o, p in found.items() if p != "missing"}
    for obj, problem in found.items():
        if problem == "missing":
            print(
                f"outputs: {obj.name} is not in the cache (dvc.lock names it): {recovery(obj)}",
                file=sys.stderr,
            )
    for obj, problem in corrupted.items():
        print(
            f"outputs: {obj.name}: the cache object {object_path(obj.value)} is {problem}, not "
            f"{obj.value}: nothing pushed; rm it, then {recovery(obj)}",
            file=sys.stderr,
        )
    if corrupted:
        return 1
    print(f"outputs: {len(objects) - len(found)} cache objects verified (each hashes to its name)")
    return 0


def fetched() -> int:
    """After `dvc fetch`: drop and name corrupted objects; fail when the remote had none."""
    with open_repo() as repo:
        objects = needed_objects(repo)
        remote = repo.config.get("core", {}).get("remote", "the default remote")
    found = problems(objects)
    corrupted = {o: p for o, p in found.items() if p != "missing"}
    for obj, problem in corrupted.items():
        object_path(obj.value).unlink()
        print(
            f"outputs: {obj.name}: the object {obj.value} arrived {problem}: removed from the "
            "cache, not checked out; the remote's copy is bad (delete it at the remote, then "
            "make push from a good copy)",
            file=sys.stderr,
        )
    missing = [o for o, p in found.items() if p == "missing"]
    if objects and len(missing) == len(objects):
        print(
            f"outputs: the remote '{remote}' holds none of the {len(objects)} objects the "
            "committed outputs need: nothing was pulled; check its url (dvc remote list: a "
            "wrong bucket or prefix?) or make push from a machine that has them",
            file=sys.stderr,
        )
        return 1
    for obj in missing:
        print(
            f"outputs: {obj.name} is not on the remote: make push from where it was made",
            file=sys.stderr,
        )
    return 1 if corrupted else 0


def cached() -> int:
    """After `dvc repro`: every output dvc.lock names that the workspace holds is in the cache
    (a failed write of the cache leaves it there but not cached); no partial object left. Under
    no other DVC run: a partial object may be that run's object being written."""
    check_not_busy()
    for line in remove_partials():
        print(line, file=sys.stderr)
    with open_repo() as repo:
        objects = needed_objects(repo, present_only=True)
    found = problems(objects)
    for obj, problem in found.items():
        print(
            f"outputs: {obj.name} ({obj.stage}): cache object {problem}: {recovery(obj)}",
            file=sys.stderr,
        )
    return 1 if found else 0


def tracked_outputs(root: Path = Path(".")) -> list[str]:
    """The outputs of dvc.yaml's stages that Git tracks (`cache: false`)."""
    return [
        str(path)
        for stage in (read_pipeline(root).get("stages") or {}).values()
        for key in OUTPUT_KEYS
        for entry in stage.get(key) or []
        if isinstance(entry, dict)
        for path, options in entry.items()
        if isinstance(options, dict) and options.get("cache") is False
    ]


def restore() -> int:
    """Put back the Git-tracked outputs a failed `dvc repro` deleted (DVC removes a stage's
    outputs before its command runs). Not while another DVC run is going: when the run failed
    on a path that run holds, the files missing are the other run's, deleted on purpose."""
    outputs = tracked_outputs()
    if not outputs:
        return 0
    check_not_busy()
    deleted = subprocess.run(
        ["git", "ls-files", "--deleted", "-z", "--", *outputs],
        capture_output=True, text=True, check=False,
    ).stdout.split("\0")  # fmt: skip
    deleted = [path for path in deleted if path]
    if deleted:
        subprocess.run(["git", "checkout", "--", *deleted], check=True)
        print(
            f"outputs: the failed run had deleted {len(deleted)} Git-tracked outputs; restored "
            f"them from Git: {', '.join(deleted)}",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str]) -> int:
    """Run one guard; exit 1 when it finds a problem."""
    commands = {
        "verify": lambda: verify(run_cache=True),
        "fetched": fetched,
        "cached": cached,
        "restore": restore,
    }
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python -m tools.storage.outputs {'|'.join(commands)}", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except WorkspaceBusy as busy:
        print(f"outputs: {busy}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
