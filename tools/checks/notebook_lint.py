"""Check the notebooks (``notebooks/<project>/``): committed without outputs, and importing the
stages' code, not copying it.

A function defined in a notebook under the name of a function in ``stages/`` is a copy that will
drift from the pipeline: the notebook must import it instead. Run with ``make check`` or
``python -m tools.checks.notebook_lint``; exits 1 and names each notebook, cell and function at
fault.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.checks.dvc_lint import read_sources
from tools.checks.workspace import git

NOTEBOOK_DIR = Path("notebooks")


def defined_functions(source: str) -> set[str]:
    """Names of the functions (and classes) a piece of code defines, at any depth."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, kinds)}


def code_cells(notebook: Mapping[str, Any]) -> Iterable[tuple[int, str]]:
    """(cell number from 1, source) of each code cell, IPython magics and shell lines blanked."""
    number = 0
    for cell in notebook.get("cells", []):
        number += 1
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = [
            "" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")
        ]
        yield number, "\n".join(lines)


def copied_functions(notebook: Mapping[str, Any], stage_names: set[str], name: str) -> list[str]:
    """Problems: each function the notebook defines that ``stages`` already defines."""
    return [
        f"{name}: cell {number} defines {function}(), which stages/ defines: import it instead"
        for number, source in code_cells(notebook)
        for function in sorted(defined_functions(source) & stage_names)
    ]


def rebound_names(source: str, names: set[str]) -> list[str]:
    """How a piece of code rebinds a stage function: `name = ...` (any assignment, loop or
    `with` target), `module.name = ...`, `setattr(module, "name", ...)`, `import ... as name`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in names:
            found.append(f"assigns {node.id}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and node.attr in names
        ):
            found.append(f"assigns {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append(f"setattr()s {ast.unparse(node.args[0])}.{node.args[1].value}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found += [
                f"imports {alias.name} as {alias.asname}"
                for alias in node.names
                if alias.asname in names and alias.asname != alias.name.rsplit(".", 1)[-1]
            ]
    return found


def rebound_functions(notebook: Mapping[str, Any], stage_names: set[str], name: str) -> list[str]:
    """Problems: each place the notebook replaces a function stages/ defines, so that what it
    then runs is no longer what the pipeline runs."""
    return [
        f"{name}: cell {number} {how}, a function stages/ defines: the notebook would no "
        "longer run the pipeline's code (change it in stages/, or use another name)"
        for number, source in code_cells(notebook)
        for how in rebound_names(source, stage_names)
    ]


def saved_outputs(notebook: Mapping[str, Any], name: str) -> list[str]:
    """Problems: each code cell saved with outputs or an execution count."""
    return [
        f"{name}: cell {number} is saved with outputs or an execution count, which Git would "
        "commit (run make setup: its nbstripout filter strips them on commit)"
        for number, cell in enumerate(notebook.get("cells", []), start=1)
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def stage_function_names(sources: Mapping[str, str]) -> set[str]:
    """Every function and class name defined anywhere in the ``stages`` package."""
    return set().union(*(defined_functions(source) for source in sources.values()))


def notebook_paths(root: Path) -> list[Path]:
    """Every notebook under ``root``/notebooks (one folder per project), Jupyter's checkpoint
    copies left out."""
    return sorted(
        path
        for path in (root / NOTEBOOK_DIR).rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    )


class LintError(Exception):
    """A notebook that cannot be read as Git would commit it."""


def clean_filter(root: Path, relative: str) -> str:
    """The clean filter command Git runs on this file as it commits it (the nbstripout filter
    ``make setup`` configures, when .gitattributes applies it), or "" when there is none."""
    prefix = f"{relative}: filter: "
    attribute = git(root, "check-attr", "filter", "--", relative)
    driver = attribute.removeprefix(prefix) if attribute.startswith(prefix) else ""
    if driver in ("", "unspecified", "unset", "set"):
        return ""
    return git(root, "config", f"filter.{driver}.clean")


def committed_text(root: Path, relative: str, text: str) -> str:
    """What Git would commit of this file, whose working content is ``text``: that content
    passed through its clean filter (a notebook saved from ``make lab`` loses its outputs
    there), or the content itself."""
    command = clean_filter(root, relative)
    if not command:
        return text
    # Git runs a filter through the shell, with %f the file's path.
    result = subprocess.run(
        command.replace("%f", relative), shell=True, cwd=root, input=text,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        said = " ".join(result.stderr.split())[-200:]  # one line, however much the filter printed
        raise LintError(
            f"{relative}: Git's clean filter `{command}` failed ({said}): run make setup"
        )
    return result.stdout


def check_notebooks(root: Path) -> list[str]:
    """Problems with every notebook under ``root``/notebooks, as Git would commit it: outputs a
    configured filter strips on commit are not a problem, outputs it would commit are."""
    names = stage_function_names(read_sources(root))
    problems = []
    for path in notebook_paths(root):
        relative = str(path.relative_to(root))
        try:
            text = path.read_text(encoding="utf-8")
            notebook = json.loads(text)
            if saved_outputs(notebook, relative):
                # Outputs are what a clean filter strips (it leaves the code as it is): only
                # then is the filter run (a process each), to read what Git would commit.
                notebook = json.loads(committed_text(root, relative, text))
        except LintError as error:
            problems.append(str(error))
            continue
        except json.JSONDecodeError as error:
            problems.append(f"{relative}: not a notebook ({error}): open it in make lab and save")
            continue
        problems += saved_outputs(notebook, relative)
        problems += copied_functions(notebook, names, relative)
        problems += rebound_functions(notebook, names, relative)
    return problems


def main(root: Path = Path()) -> int:
    """Print the problems with the notebooks; 1 if any, else 0."""
    problems = check_notebooks(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        count = len(notebook_paths(root))
        print(f"{NOTEBOOK_DIR}: {count} notebooks, no outputs, no copies of stage functions")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
