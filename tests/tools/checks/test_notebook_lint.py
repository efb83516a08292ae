"""The notebook check: the repository's notebooks pass; outputs and copied functions are caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import REPO_ROOT
from tools.checks.dvc_lint import read_sources
from tools.checks.notebook_lint import (
    check_notebooks,
    clean_filter,
    code_cells,
    committed_text,
    copied_functions,
    defined_functions,
    rebound_functions,
    rebound_names,
    saved_outputs,
    stage_function_names,
)

NAMES = stage_function_names(read_sources(REPO_ROOT))
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*/*.ipynb"))


def make_notebook(*sources: str) -> dict:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# title")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    return json.loads(nbformat.writes(notebook))


def test_repository_notebooks_pass() -> None:
    # The shipped projects' notebooks are found (a project added later brings its own).
    shipped = {"late/01-eda", "late/02-features", "late/03-model-analysis",
               "daily/01-eda", "daily/02-model"}  # fmt: skip
    assert shipped <= {f"{path.parent.name}/{path.stem}" for path in NOTEBOOKS}
    assert check_notebooks(REPO_ROOT) == []


def test_every_committed_notebook_has_no_outputs_and_no_execution_counts() -> None:
    # What Git commits, not the working file: a notebook saved from make lab keeps its outputs
    # there until the nbstripout filter strips them on commit.
    for path in NOTEBOOKS:
        relative = str(path.relative_to(REPO_ROOT))
        notebook = json.loads(committed_text(REPO_ROOT, relative, path.read_text()))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_every_notebook_has_a_papermill_parameters_cell() -> None:
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and "SAMPLE_FRAC" in "".join(tagged[0]["source"]), path.name


def test_a_copied_stage_function_is_caught() -> None:
    notebook = make_notebook(
        "import pandas as pd",
        "def label_flights(flights, threshold):\n    return flights",
        "def my_own_helper():\n    pass",
    )
    assert copied_functions(notebook, NAMES, "nb.ipynb") == [
        "nb.ipynb: cell 3 defines label_flights(), which stages/ defines: import it instead"
    ]


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("build_features = lambda flights: flights", ["assigns build_features"]),
        ("featurize.build_features = lambda f: f", ["assigns featurize.build_features"]),
        (
            "import stages.late.featurize as f\nf.build_features = None",
            ["assigns f.build_features"],
        ),
        ("setattr(featurize, 'build_features', print)", ["setattr()s featurize.build_features"]),
        ("from pandas import concat as build_features", ["imports concat as build_features"]),
        ("for build_features in [1]:\n    pass", ["assigns build_features"]),
        ("build_features, x = 1, 2", ["assigns build_features"]),
        # Using the stage's function is what notebooks are for.
        ("from stages.late.featurize import build_features", []),
        ("features = featurize.build_features(flights)", []),
        ("x = build_features", []),
    ],
)
def test_rebinding_a_stage_function_is_found(source: str, found: list[str]) -> None:
    assert rebound_names(source, {"build_features"}) == found


def test_a_rebound_stage_function_is_a_problem_naming_the_cell() -> None:
    notebook = make_notebook("import pandas as pd", "featurize.build_features = lambda f: f")
    assert rebound_functions(notebook, NAMES, "nb.ipynb") == [
        "nb.ipynb: cell 3 assigns featurize.build_features, a function stages/ defines: the "
        "notebook would no longer run the pipeline's code (change it in stages/, or use another "
        "name)"
    ]


def saved_from_lab(root: Path) -> Path:
    """A Git repository holding a project notebook saved with outputs, as ``make lab`` leaves
    it, and the repository's .gitattributes."""
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "stages").mkdir()
    (root / "stages" / "__init__.py").write_text("")
    (root / ".gitattributes").write_text((REPO_ROOT / ".gitattributes").read_text())
    notebook = make_notebook("import pandas", "1 + 1")
    notebook["cells"][2]["execution_count"] = 2
    notebook["cells"][2]["outputs"] = [
        {"output_type": "execute_result", "execution_count": 2, "metadata": {},
         "data": {"text/plain": "2"}}
    ]  # fmt: skip
    path = root / "notebooks" / "late" / "x.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(notebook))
    return path


def install_filter(root: Path, command: str) -> None:
    """Configure the nbstripout filter as ``make setup`` does."""
    subprocess.run(["git", "config", "filter.nbstripout.clean", command], cwd=root, check=True)


def test_outputs_count_only_when_git_would_commit_them(tmp_path: Path) -> None:
    saved_from_lab(tmp_path)
    unfiltered = check_notebooks(tmp_path)  # filter not installed: Git would commit them
    assert unfiltered == [
        "notebooks/late/x.ipynb: cell 3 is saved with outputs or an execution count, which Git "
        "would commit (run make setup: its nbstripout filter strips them on commit)"
    ]
    nbstripout = Path(sys.executable).parent / "nbstripout"
    install_filter(tmp_path, str(nbstripout))
    assert clean_filter(tmp_path, "notebooks/late/x.ipynb") == str(nbstripout)
    assert clean_filter(tmp_path, "stages/__init__.py") == ""
    assert check_notebooks(tmp_path) == []  # the working file keeps its outputs
    assert json.loads((tmp_path / "notebooks/late/x.ipynb").read_text())["cells"][2]["outputs"]


def test_a_filter_that_fails_is_one_line_naming_the_notebook(tmp_path: Path) -> None:
    saved_from_lab(tmp_path)
    install_filter(tmp_path, str(tmp_path / "gone" / "nbstripout"))
    (problem,) = check_notebooks(tmp_path)
    assert problem.startswith("notebooks/late/x.ipynb: Git's clean filter `")
    assert problem.endswith("): run make setup") and "gone/nbstripout" in problem
    assert "\n" not in problem


def test_a_notebook_that_is_not_json_is_named(tmp_path: Path) -> None:
    saved_from_lab(tmp_path).write_text("{ half a notebook")
    (problem,) = check_notebooks(tmp_path)
    assert problem.startswith("notebooks/late/x.ipynb: not a notebook (")


def test_saved_outputs_are_caught() -> None:
    notebook = make_notebook("1 + 1")
    notebook["cells"][1]["execution_count"] = 1
    assert saved_outputs(notebook, "nb.ipynb")[0].startswith("nb.ipynb: cell 2 is saved with")


def test_magics_are_ignored_and_nested_definitions_found() -> None:
    notebook = make_notebook(
        "%matplotlib inline\n!ls\nclass A:\n    def build_features(self):\n        pass"
    )
    ((number, source),) = code_cells(notebook)
    assert number == 2
    assert defined_functions(source) == {"A", "build_features"}


def test_check_reports_a_bad_notebook_in_a_project(tmp_path: Path) -> None:
    (tmp_path / "stages" / "late").mkdir(parents=True)
    (tmp_path / "stages" / "__init__.py").write_text("")
    (tmp_path / "stages" / "late" / "__init__.py").write_text("")
    (tmp_path / "stages" / "late" / "split.py").write_text("def label_flights():\n    pass\n")
    (tmp_path / "notebooks" / "late" / ".ipynb_checkpoints").mkdir(parents=True)
    notebook = make_notebook("def label_flights():\n    pass")
    (tmp_path / "notebooks" / "late" / "x.ipynb").write_text(json.dumps(notebook))
    # Jupyter's checkpoint copy of the same notebook is not a notebook of the project.
    (tmp_path / "notebooks" / "late" / ".ipynb_checkpoints" / "x.ipynb").write_text(
        json.dumps(notebook)
    )
    assert check_notebooks(tmp_path) == [
        "notebooks/late/x.ipynb: cell 2 defines label_flights(), which stages/ defines: import it instead"
    ]
