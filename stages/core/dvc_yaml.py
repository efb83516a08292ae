"""What ``dvc.yaml`` says, read without DVC: the pipeline file, each stage's command, arguments
and declared outputs. Imported by the stage runner (a stage's ``--help``), the output guard and
the tools; it imports nothing of the core, so neither of those imports the other through it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

PIPELINE_FILE = "dvc.yaml"
# The keys of a stage whose entries are files the stage writes.
OUTPUT_KEYS = ("outs", "metrics", "plots")


def _entry_path(entry: Any) -> str:
    """The path of an outs/metrics/plots entry: a string, or a one-key mapping with options."""
    return str(next(iter(entry))) if isinstance(entry, Mapping) else str(entry)


def stage_outputs(pipeline: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each stage's declared outputs (outs, metrics and plots), by stage name."""
    return {
        str(name): [_entry_path(entry) for key in OUTPUT_KEYS for entry in stage.get(key) or []]
        for name, stage in (pipeline.get("stages") or {}).items()
    }


def stage_command(pipeline: Mapping[str, Any], name: str) -> list[str]:
    """A stage's command as the words DVC runs (a folded ``>-`` command joined into one line)."""
    return shlex.split(" ".join(str(pipeline["stages"][name].get("cmd", "")).split()))


def stage_arguments(pipeline: Mapping[str, Any], name: str) -> list[str]:
    """The arguments a stage's command passes after ``python -m <module>``."""
    tokens = stage_command(pipeline, name)
    return tokens[3:] if tokens[:2] == ["python", "-m"] else tokens


def read_pipeline(root: Path) -> dict[str, Any]:
    """The parsed ``dvc.yaml`` at ``root``; empty when there is none or it does not parse (then
    DVC itself reports it)."""
    try:
        return YAML(typ="safe", pure=True).load((root / PIPELINE_FILE).read_text()) or {}
    except (OSError, YAMLError):
        return {}


def stage_inputs(pipeline: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each stage's declared dependencies (data and code), by stage name."""
    return {
        str(name): [_entry_path(entry) for entry in stage.get("deps") or []]
        for name, stage in (pipeline.get("stages") or {}).items()
    }


def tracked_data(root: Path) -> dict[str, str]:
    """The paths DVC tracks through ``.dvc`` files under ``root`` (``dvc add``, ``dvc
    import-url``): each path relative to ``root``, by the ``.dvc`` file that tracks it. Hidden
    folders (``.git``, ``.dvc``, ``.venv``) are not searched."""
    found: dict[str, str] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.endswith(".dvc"):
                continue
            tracker = Path(folder) / name
            try:
                document = YAML(typ="safe", pure=True).load(tracker.read_text()) or {}
            except (OSError, YAMLError):
                continue
            for out in document.get("outs") or [] if isinstance(document, Mapping) else []:
                if isinstance(out, Mapping) and "path" in out:
                    path = (Path(folder) / str(out["path"])).relative_to(root).as_posix()
                    found[path] = tracker.relative_to(root).as_posix()
    return found
