"""What a command may write: never one of its own inputs, and never a file the pipeline owns.

A command that takes ``--output`` from its user (``stages.late.predict``) checks the path here,
before it reads anything: a path equal to one of its inputs, or to an output of a stage of
``dvc.yaml`` (a file, or anything inside a directory output), is refused with one line naming
both. The one exception is the stage that owns the path running its own command from
``dvc.yaml``, with exactly its arguments.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from stages.core.errors import StageError

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


def is_within(path: Path, owned: Path) -> bool:
    """Whether ``path`` is ``owned`` or lies inside it."""
    return path == owned or owned in path.parents


def check_output_path(
    output: Path,
    inputs: Mapping[str, Path],
    pipeline: Mapping[str, Any],
    root: Path,
    arguments: Sequence[str],
) -> None:
    """Raise StageError unless ``output`` may be written: it is not a directory, not one of
    ``inputs`` (named by their option), and not an output of a stage of ``pipeline`` (paths
    relative to ``root``) unless ``arguments`` are exactly that stage's own."""
    if output.is_dir():
        raise StageError(f"--output {output}: is a directory; give a file name to write to")
    target = output.resolve()
    for option, path in inputs.items():
        if path.resolve() == target:
            raise StageError(
                f"--output {output} is the same file as {option} {path}: it would be "
                "overwritten; write the output elsewhere"
            )
    for name, paths in stage_outputs(pipeline).items():
        for owned in paths:
            if not is_within(target, (root / owned).resolve()):
                continue
            if list(arguments) == stage_arguments(pipeline, name):
                return  # the stage itself, run by DVC (or by hand) exactly as declared
            raise StageError(
                f"--output {output} is {owned}, an output of stage '{name}' in {PIPELINE_FILE}: "
                "the pipeline owns it; write the output elsewhere"
            )
