"""Start a new research project in one command: ``make project NAME=<name>``.

    python -m tools.new_project <name>

Writes a working skeleton from ``tools/project_template/``: the package ``stages/<name>/`` with
``prepare``, ``train`` and ``evaluate`` stages that run end to end on the shared raw data (a
labelled table, a baseline scikit-learn model, metrics and a ROC curve), its tests, a notebook
and a README saying what to replace first; it adds the project's section to ``params.yaml``, its
stages, metrics and plot to ``dvc.yaml`` (module deps written as ``make fix`` writes them), and
its package to the import contracts in ``.importlinter``.

A name that is not a lowercase Python identifier, or that is already a project, a module of
``stages``, the core, a params section or a folder a project would use, is refused with one line,
and nothing is written. Everything is computed before the first file is written, and written
into a staging folder first, then moved in: a failure half-way (a full disk) changes nothing.
"""

from __future__ import annotations

import io
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from string import Template

from ruamel.yaml import YAML

from tools.dvc_lint import CORE, PACKAGE, fix_pipeline_text, read_sources, round_trip_yaml

TEMPLATE_DIR = Path(__file__).parent / "project_template"
# Where each folder of the template goes, for a project called ``name``.
DESTINATIONS = {"stages": "stages/{name}", "tests": "tests/{name}", "notebooks": "notebooks/{name}"}
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

PARAMS_SECTION = """
# Project `{name}`: REPLACE WITH THE QUESTION. (stages/{name}/; scaffolded by make project)
{name}:
  prepare:
    # A departure is labelled late when it leaves this many minutes or more after schedule.
    late_threshold_min: 15
    # The core's time split: train before valid_month, validate up to test_month, test from it.
    valid_month: 10
    test_month: 11

  train:
    # The logistic regression baseline's inverse regularisation strength and iterations.
    C: 1.0
    max_iter: 1000

  evaluate:
    # Points kept on the ROC curve written for `dvc plots`.
    curve_points: 101
"""


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


def template_files(name: str) -> dict[str, str]:
    """Each file of the skeleton, by its path in the repository, with ``${name}`` filled in
    and, for code and notebooks, imports sorted as ruff sorts them."""
    files = {}
    for path in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        relative = path.relative_to(TEMPLATE_DIR)
        folder = DESTINATIONS[relative.parts[0]].format(name=name)
        target = Path(folder, *relative.parts[1:]).with_suffix("").as_posix()
        text = Template(path.read_text()).substitute(name=name)
        files[target] = ruff_fixed(text, target) if target.endswith((".py", ".ipynb")) else text
    return files


def project_stages(name: str) -> dict[str, dict]:
    """The project's stages for dvc.yaml (module deps are added by ``fix_pipeline_text``)."""
    return {
        f"{name}-prepare": {
            "cmd": f"python -m stages.{name}.prepare",
            "deps": ["data/raw/flights.parquet"],
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
            "deps": [
                f"data/{name}/prepared/valid.parquet",
                f"data/{name}/prepared/test.parquet",
                f"models/{name}/model.skops",
            ],
            "params": [f"{name}.evaluate"],
            "metrics": [{f"metrics/{name}/metrics.json": {"cache": False}}],
            "plots": [{f"metrics/{name}/plots": {"cache": False}}],
        },
    }


def with_project_pipeline(text: str, name: str) -> str:
    """dvc.yaml's text with the project's stages, metrics file and ROC plot added, comments and
    order kept."""
    yaml = round_trip_yaml()
    document = yaml.load(text)
    stages = document["stages"]
    for stage, body in project_stages(name).items():
        stages[stage] = body
    stages.yaml_set_comment_before_after_key(
        f"{name}-prepare", before=f"Project `{name}`: REPLACE WITH THE QUESTION. (stages/{name}/)",
        indent=2,
    )  # fmt: skip
    document.setdefault("metrics", []).append(f"metrics/{name}/metrics.json")
    document.setdefault("plots", []).append(
        {
            f"{name}-roc": {
                "title": f"ROC curve on test ({name})",
                "template": "simple",
                "x": "fpr",
                "y": {f"metrics/{name}/plots/test/roc.json": "tpr"},
                "x_label": "False positive rate",
                "y_label": "True positive rate",
            }
        }
    )
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


def planned_changes(name: str, root: Path) -> dict[str, str]:
    """Every file to write, by path, with its whole new text: the skeleton, and params.yaml,
    dvc.yaml and .importlinter with the project added. ProjectError if ``name`` is refused."""
    problem = refusal(name, root)
    if problem:
        raise ProjectError(problem)
    files = template_files(name)
    pipeline = with_project_pipeline((root / "dvc.yaml").read_text(), name)
    sources = {
        **read_sources(root),
        **{
            ".".join(Path(path).with_suffix("").parts).removesuffix(".__init__"): text
            for path, text in files.items()
            if path.startswith(f"{PACKAGE}/") and path.endswith(".py")
        },
    }
    pipeline, _ = fix_pipeline_text(pipeline, sources)
    params = (
        (root / "params.yaml").read_text().rstrip("\n") + "\n" + PARAMS_SECTION.format(name=name)
    )
    contracts = with_project_contract((root / IMPORT_CONTRACTS).read_text(), name)
    return {**files, "dvc.yaml": pipeline, "params.yaml": params, IMPORT_CONTRACTS: contracts}


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


def create_project(name: str, root: Path) -> list[str]:
    """Write the project ``name`` into the repository at ``root``; the paths written.

    All or nothing: every file is first written into a staging folder inside the repository (the
    same file system, so the moves below are renames); only then are the project's new folders
    moved in and the three shared files replaced. A failure while staging (a full disk) leaves
    the repository as it was; one while moving in undoes the moves already made."""
    changes = planned_changes(name, root)
    shared = {path: text for path, text in changes.items() if (root / path).exists()}
    new = {path: text for path, text in changes.items() if path not in shared}
    # The folders to move in whole: stages/<name>, tests/<name>, notebooks/<name>.
    folders = sorted({"/".join(Path(path).parts[:2]) for path in new})
    staging = Path(tempfile.mkdtemp(prefix=f".project-{name}-", dir=root))
    moved: list[Path] = []
    originals = {path: (root / path).read_bytes() for path in shared}
    try:
        _write_tree(changes, staging)
        for folder in folders:
            (root / folder).parent.mkdir(parents=True, exist_ok=True)
            (staging / folder).rename(root / folder)
            moved.append(root / folder)
        for path in shared:
            os.replace(staging / path, root / path)
    except BaseException:
        for folder in moved:
            shutil.rmtree(folder, ignore_errors=True)
        for path, data in originals.items():
            if (root / path).read_bytes() != data:
                (root / path).write_bytes(data)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(changes)


def main(argv: list[str], root: Path = Path()) -> int:
    """``python -m tools.new_project NAME``: 0 when the project was written, else 1 with why."""
    if len(argv) != 1:
        print("usage: python -m tools.new_project NAME   (make project NAME=...)", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        written = create_project(name, root)
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
    print(f"  make check && make repro P={name} && make test P={name}")
    print(f"  then replace, in order, what stages/{name}/README.md lists")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
