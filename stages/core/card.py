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


def flat_metrics(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A split's metrics with nested ones under dotted keys (``model.mae``, ``model.mae_low``),
    the ``interval`` note left out: what :func:`metrics_table` shows."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key == "interval":
            continue
        if isinstance(value, Mapping):
            flat.update(flat_metrics(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class ProjectCard:
    """The facts of a scaffolded project's model card (``render_project_card``): every figure is
    read from the pipeline's own files by the project's card stage."""

    project: str
    artifact: str
    version: str
    question: str
    task: str
    target: str
    model_file: str
    data: Mapping[str, str]
    params: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]
    headline: tuple[str, ...]
    libraries: Mapping[str, str]
    intended_use: str
    not_for: str


def render_project_card(card: ProjectCard) -> str:
    """A model card in Markdown: what the model is, its version and how to fetch it, the data and
    params that made it, its metrics with their intervals, its intended use and what it must not
    be used for, and every fact again as JSON for programs to read."""
    facts = {
        "version": card.version,
        "model": {"file": card.model_file, "md5": card.data[card.model_file]},
        "data": dict(card.data),
        "params": dict(card.params),
        "metrics": dict(card.metrics),
        "libraries": dict(card.libraries),
    }
    flat = {split: flat_metrics(values) for split, values in card.metrics.items()}
    shown = [name for name in card.headline if all(name in v for v in flat.values())]
    unit_note = ", ".join(
        f"{split}: {count:,} {name}"
        for split, values in card.metrics.items()
        for name, count in (values.get("interval") or {}).items()
        if name not in ("level", "resamples")  # the one other entry counts the units
    )
    data_lines = "\n".join(f"- `{path}`: `{digest}`" for path, digest in card.data.items())
    split = flat_metrics(card.params.get("prepare", {}))  # nested sections as dotted keys
    split_line = ", ".join(f"{key}: {value}" for key, value in split.items() if value != "")
    return f"""# Model card: {card.artifact} v{card.version}

{card.question}

A scikit-learn `Pipeline` for the {card.task} of `{card.target}`, saved with skops:
`{card.model_file}`, md5 `{card.data[card.model_file]}`.

{version_section(card.artifact, card.version, card.project)}
## Intended use and limits
- **Use:** {card.intended_use}
- **Not for:** {card.not_for}
- **Limits:** judged only on the rows of its own valid and test splits below; a row unlike them
  (a new category, a value outside the ranges seen) is scored without a warning of its own.

## Data version
DVC hashes, as `dvc.lock` records them.
{data_lines}

## Split
{split_line or "(the project's prepare section of params.yaml)"}

## Metrics
{metrics_table(flat, shown)}

In brackets: the 95% interval from a bootstrap over the evaluation's units ({unit_note}), the
scored rows' own: `make compare` and `make gate` pair two revisions on the same rows.

## Libraries
{", ".join(f"{name} {number}" for name, number in card.libraries.items())}

## All facts, as JSON
```json
{json.dumps(facts, indent=2, sort_keys=True)}
```
"""
