"""What a command may write: never one of its own inputs, and never a file the pipeline owns.

A command that takes ``--output`` from its user (``stages.late.predict``) checks the path here,
before it reads anything: a path equal to one of its inputs, or to an output of a stage of
``dvc.yaml`` (a file, or anything inside a directory output), is refused with one line naming
both. The one exception is the stage that owns the path running its own command from
``dvc.yaml``, with exactly its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stages.core.dvc_yaml import (
    PIPELINE_FILE,
    stage_arguments,
    stage_inputs,
    stage_outputs,
    tracked_data,
)
from stages.core.errors import StageError


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
    ``inputs`` (named by their option), not an output of a stage of ``pipeline`` (paths
    relative to ``root``) unless ``arguments`` are exactly that stage's own, and not what the
    pipeline reads: a stage's dependency, or data a ``.dvc`` file tracks."""
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
    for name, paths in stage_inputs(pipeline).items():
        for read in paths:
            if is_within(target, (root / read).resolve()):
                raise StageError(
                    f"--output {output} is {read}, an input of stage '{name}' in "
                    f"{PIPELINE_FILE}: the pipeline reads it; write the output elsewhere"
                )
    for path, tracker in tracked_data(root).items():
        if is_within(target, (root / path).resolve()):
            raise StageError(
                f"--output {output} is inside {path}, data DVC tracks ({tracker}): write the "
                "output elsewhere"
            )
