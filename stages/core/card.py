"""What a model card is made of, whatever the project: the DVC hashes of the data and model
files (as ``dvc.lock`` records them), the library versions, and a metrics table. Each project
writes its own card's words around these facts.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from stages.core.errors import StageError
from stages.core.params import require


def library_versions(names: list[str]) -> dict[str, str]:
    """Installed versions of ``names``, and of Python itself."""
    return {"python": platform.python_version(), **{name: metadata.version(name) for name in names}}


def read_metrics(path: Path, splits: tuple[str, ...], producer: str) -> dict[str, dict[str, Any]]:
    """The metrics a card states, as ``producer`` (the stage that writes them) left them at
    ``path``; StageError naming the file when it is absent or has no metrics for a split of
    ``splits``."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{path}: file not found (run {producer} first)") from None
    missing = [split for split in splits if split not in metrics]
    if missing:
        raise StageError(f"{path}: no metrics for {missing}")
    return metrics


def metric_cell(values: Mapping[str, Any], name: str) -> str:
    """A metric as the card shows it: its value, and its 95% interval when the metrics file has
    one beside it (``<name>_low``, ``<name>_high``)."""
    low, high = values.get(f"{name}_low"), values.get(f"{name}_high")
    interval = "" if low is None or high is None else f" [{low}, {high}]"
    return f"{values[name]}{interval}"


def metrics_table(metrics: Mapping[str, Mapping[str, Any]], names: list[str]) -> str:
    """The metrics as a Markdown table, one row per split, one column per name in ``names``
    that the first split has (with its interval, when there is one)."""
    first = next(iter(metrics.values()))
    names = [name for name in names if name in first]
    lines = ["| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for split, values in metrics.items():
        cells = " | ".join(metric_cell(values, name) for name in names)
        lines.append(f"| {split} | {cells} |")
    return "\n".join(lines)


# A version as GTO registers it, without its leading "v": MAJOR.MINOR.PATCH.
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True)
class CardParams:
    """``<project>.card``: the version the model is registered as. The card names it, and
    ``make register P=<project>`` registers the commit's model under it (Git tag
    ``<project>-model@v<version>``), so a registered version's card always names its version."""

    version: str

    def __post_init__(self) -> None:
        require(
            isinstance(self.version, str) and bool(SEMVER.match(self.version)),
            "version",
            "MAJOR.MINOR.PATCH, e.g. 1.0.0 (quoted in params.yaml)",
            self.version,
        )


def registry_tag(artifact: str, version: str) -> str:
    """The Git tag GTO creates when it registers ``version`` of ``artifact``."""
    return f"{artifact}@v{version}"


def version_section(artifact: str, version: str, project: str) -> str:
    """The card's "Version" section: the version, the registry tag, how to fetch it."""
    tag = registry_tag(artifact, version)
    return f"""## Version
`v{version}` (`{project}.card.version`). `make register P={project}` registers the model of the
commit that holds this card as `{tag}` (a Git tag, GTO's registry); `gto show {artifact}` lists
its versions and stages, and `dvc artifacts get <repo-url> {artifact} --stage prod` fetches the
one in production.
"""
