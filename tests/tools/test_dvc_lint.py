"""The dvc.yaml lint: the repository passes, and each kind of drift is caught and named."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT
from tools.dvc_lint import (
    check_pipeline,
    imported_modules,
    module_closure,
    params_sections_read,
    read_sources,
)

SOURCES = read_sources(REPO_ROOT)
PIPELINE = YAML(typ="safe", pure=True).load((REPO_ROOT / "dvc.yaml").read_text())


def pipeline() -> dict[str, Any]:
    return copy.deepcopy(PIPELINE)


def test_repository_pipeline_declares_exactly_what_the_code_uses() -> None:
    assert check_pipeline(PIPELINE, SOURCES) == []


def test_make_check_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.dvc_lint"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "8 stages declare exactly what they use" in result.stdout


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import stages.io", {"stages", "stages.io"}),
        ("import stages.io as sio", {"stages", "stages.io"}),
        ("from stages import io, schema", {"stages", "stages.io", "stages.schema"}),
        ("from stages.io import write_json", {"stages", "stages.io"}),
        ("from . import io", {"stages", "stages.io"}),
        ("from .schema import LABEL", {"stages", "stages.schema"}),
        ("def f():\n    from stages import model_io\n", {"stages", "stages.model_io"}),
        ("import pandas\nfrom os import path", set()),
    ],
)
def test_imported_modules_forms(source: str, expected: set[str]) -> None:
    assert imported_modules(source, "stages.split", set(SOURCES)) == expected


def test_closure_is_transitive() -> None:
    # evaluate imports io, which imports schema, which imports errors
    closure = module_closure("stages.evaluate", SOURCES)
    assert {"stages", "stages.io", "stages.schema", "stages.errors", "stages.model_io"} <= closure
    assert "stages.train" not in closure


def test_new_import_in_a_stage_module_is_caught() -> None:
    sources = {
        **SOURCES,
        "stages.split": SOURCES["stages.split"] + "\nfrom stages import model_io\n",
    }
    assert check_pipeline(pipeline(), sources) == [
        "stage 'split': missing dep stages/model_io.py (imported by stages.split)"
    ]


def test_new_transitive_import_is_caught_in_every_stage_using_it() -> None:
    sources = {**SOURCES, "stages.schema": SOURCES["stages.schema"] + "\nimport stages.model_io\n"}
    problems = check_pipeline(pipeline(), sources)
    stages = {p.split("'")[1] for p in problems}
    # train, evaluate and predict declare it already
    assert stages == {"ingest", "split", "featurize", "drift", "card"}
    assert all("missing dep stages/model_io.py" in p for p in problems)


def test_new_params_section_read_in_code_is_caught() -> None:
    extra = '\ndef more():\n    return load_params("train")\n'
    sources = {**SOURCES, "stages.evaluate": SOURCES["stages.evaluate"] + extra}
    assert check_pipeline(pipeline(), sources) == [
        "stage 'evaluate': missing params 'train' (read by stages.evaluate)"
    ]


def test_surplus_dep_and_params_are_caught() -> None:
    changed = pipeline()
    changed["stages"]["split"]["deps"].append("stages/model_io.py")
    changed["stages"]["split"]["params"].append("train")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'split': surplus dep stages/model_io.py (not imported by stages.split)",
        "stage 'split': surplus params 'train' (the code does not read it)",
    ]


def test_removed_dep_is_caught() -> None:
    changed = pipeline()
    changed["stages"]["train"]["deps"].remove("stages/io.py")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'train': missing dep stages/io.py (imported by stages.train)"
    ]


def test_single_key_params_entry_for_a_whole_section_read_is_caught() -> None:
    changed = pipeline()
    changed["stages"]["train"]["params"] = ["train.model"]
    (problem,) = check_pipeline(changed, SOURCES)
    assert "params entry 'train.model' names one key" in problem and "declare 'train'" in problem


def test_unrecognised_cmd_and_dynamic_section_are_reported() -> None:
    changed = pipeline()
    changed["stages"]["train"]["cmd"] = "python stages/train.py"
    assert check_pipeline(changed, SOURCES) == [
        "stage 'train': cmd must be 'python -m stages.<module>', got 'python stages/train.py'"
    ]
    with pytest.raises(ValueError, match="load_params needs a literal section"):
        params_sections_read("load_params(name)", "stages.x")
