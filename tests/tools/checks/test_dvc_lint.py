"""The dvc.yaml lint: the repository passes; each kind of drift is caught and named; ``--fix``
writes the module deps back in place."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import FLIGHTS, REPO_ROOT, unused_name
from tools.checks.dvc_lint import (
    absent_params,
    check_pipeline,
    fix_pipeline_text,
    imported_libraries,
    imported_modules,
    library_distributions,
    main,
    module_closure,
    params_sections_read,
    project_names,
    prune_lock_text,
    read_sources,
    required_distributions,
    stale_lock_stages,
    unread_sections,
)

SOURCES = read_sources(REPO_ROOT)
PIPELINE_TEXT = (REPO_ROOT / "dvc.yaml").read_text()
PIPELINE = YAML(typ="safe", pure=True).load(PIPELINE_TEXT)
PARAMS = YAML(typ="safe", pure=True).load((REPO_ROOT / "params.yaml").read_text())


def pipeline() -> dict[str, Any]:
    return copy.deepcopy(PIPELINE)


def test_repository_pipeline_declares_exactly_what_the_code_uses() -> None:
    assert check_pipeline(PIPELINE, SOURCES, PARAMS) == []


def test_make_check_passes_on_the_repository() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.checks.dvc_lint"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(PIPELINE['stages'])} stages declare exactly what they use" in result.stdout


def test_projects_are_the_sub_packages_but_the_core() -> None:
    assert "late" in project_names(SOURCES)
    assert "core" not in project_names(SOURCES)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import stages.core.io", {"stages", "stages.core", "stages.core.io"}),
        ("import stages.core.io as sio", {"stages", "stages.core", "stages.core.io"}),
        ("from stages.core import io, tables", {"stages", "stages.core", "stages.core.io", "stages.core.tables"}),
        ("from stages.core.io import write_json", {"stages", "stages.core", "stages.core.io"}),
        ("from . import contract", {"stages", "stages.late", "stages.late.contract"}),
        ("from .paths import MODEL_FILE", {"stages", "stages.late", "stages.late.paths"}),
        ("from ..core import io", {"stages", "stages.core", "stages.core.io"}),
        ("def f():\n    from stages.core import model_io\n", {"stages", "stages.core", "stages.core.model_io"}),
        ("import pandas\nfrom os import path", set()),
    ],
)  # fmt: skip
def test_imported_modules_forms(source: str, expected: set[str]) -> None:
    assert imported_modules(source, "stages.late.split", set(SOURCES)) == expected


def test_closure_is_transitive_and_holds_the_packages() -> None:
    # evaluate imports core.io, which imports core.tables, which imports core.errors
    closure = module_closure("stages.late.evaluate", SOURCES)
    assert {"stages", "stages.core", "stages.late", "stages.core.io", "stages.core.tables",
            "stages.core.errors", "stages.core.model_io"} <= closure  # fmt: skip
    assert "stages.late.train" not in closure


def test_new_import_in_a_stage_module_is_caught() -> None:
    sources = {
        **SOURCES,
        "stages.late.split": SOURCES["stages.late.split"] + "\nfrom stages.core import calendar\n",
    }
    assert check_pipeline(pipeline(), sources) == [
        "stage 'late-split': missing dep stages/core/calendar.py (imported by stages.late.split; "
        "make fix)"
    ]


def test_new_transitive_import_is_caught_in_every_stage_using_it() -> None:
    sources = {
        **SOURCES,
        "stages.core.tables": SOURCES["stages.core.tables"] + "\nimport stages.core.model_io\n",
    }
    problems = check_pipeline(pipeline(), sources)
    # Among the flights projects' stages (another project may import model_io or not), those
    # that do not load or save a model, and so did not declare it already.
    stages = {p.split("'")[1] for p in problems if p.split("'")[1].split("-")[0] in FLIGHTS}
    assert stages == {
        "ingest",
        "late-split",
        "late-featurize",
        "late-drift",
        "late-card",
        "daily-prepare",
        "daily-card",
    }
    modules = [p for p in problems if "missing dep stages/core/model_io.py" in p]
    assert {p.split("'")[1] for p in modules} >= stages
    # model_io's libraries (skops and what it requires) come with it.
    assert all("missing dep requirements/" in p for p in problems if p not in modules)
    assert any("missing dep requirements/skops.txt" in p for p in problems)


def test_new_params_section_read_in_code_is_caught() -> None:
    extra = '\ndef more():\n    return load_params("late.train", object)\n'
    sources = {**SOURCES, "stages.late.evaluate": SOURCES["stages.late.evaluate"] + extra}
    assert check_pipeline(pipeline(), sources) == [
        "stage 'late-evaluate': missing params 'late.train' (read by stages.late.evaluate)"
    ]


def test_surplus_dep_and_params_are_caught() -> None:
    changed = pipeline()
    changed["stages"]["late-split"]["deps"].append("stages/core/model_io.py")
    changed["stages"]["late-split"]["params"].append("late.train")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'late-split': surplus dep stages/core/model_io.py (not imported by "
        "stages.late.split; make fix)",
        "stage 'late-split': surplus params 'late.train' (the code does not read it)",
    ]


def test_single_key_params_entry_for_a_whole_section_read_is_caught() -> None:
    changed = pipeline()
    changed["stages"]["late-train"]["params"] = ["late.train.model"]
    problems = check_pipeline(changed, SOURCES)
    assert any(
        "params entry 'late.train.model' names one key" in p and "declare 'late.train'" in p
        for p in problems
    )


def test_a_stage_reading_another_projects_section_is_caught() -> None:
    """A second project's stage that loads a section of `late`, declared or not, fails."""
    sources = {
        **SOURCES,
        "stages.other": "",
        "stages.other.train": 'load_params("late.train", object)\n',
    }
    changed = pipeline()
    changed["stages"]["other-train"] = {
        "cmd": "python -m stages.other.train",
        "deps": ["stages/__init__.py", "stages/other/__init__.py", "stages/other/train.py"],
        "params": ["late.train"],
    }
    assert check_pipeline(changed, sources) == [
        "stage 'other-train': reads 'late.train', a section of project 'late'; project 'other' "
        "reads only its own sections and shared ones"
    ]


def test_a_project_stage_must_carry_the_project_prefix() -> None:
    changed = pipeline()
    changed["stages"]["train"] = changed["stages"].pop("late-train")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'train': runs stages.late.train of project 'late'; name it 'late-...'"
    ]


def test_an_orphan_params_section_is_caught_at_any_depth() -> None:
    params = copy.deepcopy(PARAMS)
    new = unused_name("weekly")  # a team may have a project of that name
    params[new] = {"train": {"alpha": 1}}
    params["late"]["trian"] = {"seed": 1}
    assert check_pipeline(PIPELINE, SOURCES, params) == [
        "params.yaml: section 'late.trian' is read by no stage: delete it, or load it in the "
        "stage that needs it",
        f"params.yaml: section '{new}' is read by no stage: delete it, or load it in the stage "
        "that needs it",
    ]


def test_unread_sections_descends_only_into_sections_read_in_part() -> None:
    document = {"a": {"x": 1, "y": {"z": 2}}, "b": {"c": 1}, "d": 3}
    assert unread_sections(document, {"a.y", "b"}) == ["a.x", "d"]
    assert unread_sections(document, {"a", "b", "d"}) == []


def test_unrecognised_cmd_and_dynamic_section_are_reported() -> None:
    changed = pipeline()
    changed["stages"]["late-train"]["cmd"] = "python stages/late/train.py"
    assert check_pipeline(changed, SOURCES) == [
        "stage 'late-train': cmd must be 'python -m stages.<module>', got "
        "'python stages/late/train.py'"
    ]
    with pytest.raises(ValueError, match="load_params needs a literal section"):
        params_sections_read("load_params(name, X)", "stages.x")


def test_fix_leaves_an_exact_file_byte_for_byte() -> None:
    assert fix_pipeline_text(PIPELINE_TEXT, SOURCES) == (PIPELINE_TEXT, [])


def test_fix_rewrites_drifted_deps_keeping_comments_order_and_data_deps() -> None:
    drifted = PIPELINE_TEXT.replace("      - stages/core/io.py\n", "", 1).replace(
        "      - stages/late/split.py\n",
        "      - stages/late/split.py\n      - stages/core/card.py\n",
    )
    assert drifted != PIPELINE_TEXT
    assert check_pipeline(YAML(typ="safe", pure=True).load(drifted), SOURCES) != []
    fixed, changed = fix_pipeline_text(drifted, SOURCES)
    assert fixed == PIPELINE_TEXT
    assert changed == ["ingest", "late-split"]


def test_fix_adds_deps_to_a_stage_that_has_none() -> None:
    text = "stages:\n  late-drift:\n    cmd: python -m stages.late.drift  # why\n    outs:\n      - x\n"
    fixed, changed = fix_pipeline_text(text, SOURCES)
    assert changed == ["late-drift"]
    stage = YAML(typ="safe", pure=True).load(fixed)["stages"]["late-drift"]
    assert list(stage) == ["cmd", "deps", "outs"]
    assert "stages/core/drift.py" in stage["deps"] and "# why" in fixed


def test_make_fix_then_check_on_a_copy(tmp_path: Path) -> None:
    """The command rewrites dvc.yaml in place and the check then passes."""
    shutil.copytree(REPO_ROOT / "stages", tmp_path / "stages")
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "dvc.yaml").write_text(PIPELINE_TEXT.replace("      - stages/core/io.py\n", ""))
    assert main([], root=tmp_path) == 1
    assert main(["--fix"], root=tmp_path) == 0
    assert (tmp_path / "dvc.yaml").read_text() == PIPELINE_TEXT


LOCK = """schema: '2.0'
stages:
  split:
    cmd: python -m stages.split
  late-split:
    cmd: python -m stages.late.split --with a very long line of arguments that DVC folds at eighty columns
"""


def test_lock_entries_of_stages_dvc_yaml_no_longer_declares_are_found_and_pruned() -> None:
    pipeline = {"stages": {"late-split": {"cmd": "python -m stages.late.split"}}}
    lock = YAML(typ="safe").load(LOCK)
    assert stale_lock_stages(pipeline, lock) == ["split"]
    assert stale_lock_stages(pipeline, None) == []
    pruned = prune_lock_text(LOCK, ["split"])
    assert "  split:" not in pruned and "  late-split:" in pruned
    assert YAML(typ="safe").load(pruned)["stages"] == {"late-split": lock["stages"]["late-split"]}


def test_the_committed_lock_holds_only_declared_stages() -> None:
    pipeline = YAML(typ="safe").load((REPO_ROOT / "dvc.yaml").read_text())
    lock = YAML(typ="safe").load((REPO_ROOT / "dvc.lock").read_text())
    assert stale_lock_stages(pipeline, lock) == []


def test_imported_libraries_are_the_top_level_third_party_modules() -> None:
    source = (
        "from __future__ import annotations\nimport os, numpy as np\nimport sklearn.ensemble\n"
        "from pandas.api import types\nfrom . import sibling\nfrom stages.core import io\n"
        "def f():\n    import skops.io\n"
    )
    assert imported_libraries(source) == {"numpy", "sklearn", "pandas", "skops"}


def test_a_library_brings_everything_it_requires_and_nothing_else() -> None:
    found = required_distributions(["scikit-learn"])
    assert {"scikit-learn", "scipy", "numpy", "joblib", "threadpoolctl"} <= found
    assert not {"ruff", "pytest", "dvc", "pandas"} & found
    assert library_distributions({"sklearn", "no_such_lib"}) == (found, ["no_such_lib"])


def test_library_pin_deps_are_proven_both_ways() -> None:
    changed = pipeline()
    deps = changed["stages"]["daily-prepare"]["deps"]
    deps.remove("requirements/pandas.txt")
    deps.append("requirements/scikit-learn.txt")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'daily-prepare': missing dep requirements/pandas.txt (pins a library needed by "
        "stages.daily.prepare; make fix)",
        "stage 'daily-prepare': surplus dep requirements/scikit-learn.txt (pins no library of "
        "stages.daily.prepare; make fix)",
    ]


def test_an_import_of_no_installed_library_is_caught() -> None:
    sources = {**SOURCES, "stages.ingest": SOURCES["stages.ingest"] + "\nimport polarsx\n"}
    assert check_pipeline(pipeline(), sources) == [
        "stage 'ingest': imports 'polarsx', which no installed distribution provides (add it to "
        "pyproject.toml, then make lock)"
    ]


def test_ingest_must_declare_the_source_its_param_names() -> None:
    changed = pipeline()
    changed["stages"]["ingest"]["deps"].remove("${ingest.source}")
    assert check_pipeline(changed, SOURCES) == [
        "stage 'ingest': reads the data ${ingest.source} names but does not declare it: add "
        "'${ingest.source}' to its deps"
    ]


def test_a_declared_params_key_params_yaml_lacks_is_caught() -> None:
    params = copy.deepcopy(PARAMS)
    del params["late"]["evaluate"]
    problems = check_pipeline(PIPELINE, SOURCES, params)
    assert (
        "stage 'late-evaluate': params 'late.evaluate' is not in params.yaml (missing section "
        "'late.evaluate'"
    ) in "\n".join(problems)
    assert all("late.evaluate" in p for p in problems)


def test_an_interpolated_params_key_params_yaml_lacks_is_caught() -> None:
    params = copy.deepcopy(PARAMS)
    del params["ingest"]["source"]
    assert absent_params(PIPELINE["stages"], params) == [
        "stage 'ingest': params 'ingest.source' is not in params.yaml (missing section "
        "'ingest.source' (did you mean 'seed'?)): restore it (git diff params.yaml) or remove it "
        "from the stage"
    ]


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        (
            "params.yaml",
            "ingest:\n  source: [a\n",
            "params.yaml: invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "params.yaml",
            "ingest:\n\tsource: x\n",
            "params.yaml: invalid YAML at line 2, column 1: found character '\\t' that cannot start any token",
        ),
        (
            "dvc.yaml",
            "stages:\n  a: 1\n  a: 2\n",
            'dvc.yaml: invalid YAML at line 3, column 3: found duplicate key "a" with value "2" (original value: "1")',
        ),
        ("dvc.yaml", None, "dvc.yaml: file not found; check the path"),
    ],
)
def test_a_yaml_file_that_does_not_parse_is_one_line(
    tmp_path: Path, file: str, text: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "dvc.yaml").write_text(PIPELINE_TEXT)
    if text is None:
        (tmp_path / file).unlink()
    else:
        (tmp_path / file).write_text(text)
    assert main([], root=tmp_path) == 1
    assert main(["--params"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert err == f"{tmp_path / message.split(':')[0]}:{message.split(':', 1)[1]}\n" * 2
