"""``make project NAME=...``: a new project that runs green from the first minute, and a refused
name that changes nothing. Driven in copies of this repository, with real ``dvc``."""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from tests.conftest import (
    Repo,
    in_grams,
    make_measurements,
    ran_stages,
    run_make,
    unused_name,
    write_params,
)
from tools.scaffold.new_project import main, refusal, with_project_contract
from tools.scaffold.project_copy import copy_project, remove_project

NAME = unused_name("tryout")
PLANTS = unused_name("plants")
WEIGHTS = unused_name("weights")


def tree_hashes(root: Path) -> dict[str, str]:
    """The md5 of every file under ``root`` but Git's own, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    copy_project(root)
    return root


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("late", "'late' is already a project or module of stages/"),
        ("daily", "'daily' is already a project or module of stages/"),
        ("core", "'core' is the core package (stages/core)"),
        ("ingest", "'ingest' is already a project or module of stages/"),
        ("raw", "'raw' is already a project or module of stages/"),
        ("1bad", "'1bad' is not a valid project name: use a lowercase Python identifier"),
        ("class", "'class' is not a valid project name"),
        ("Tryout", "'Tryout' is not a valid project name"),
        ("try-out", "'try-out' is not a valid project name"),
    ],
)
def test_a_refused_name_says_why_and_changes_nothing(
    copy: Path, name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    assert main([name], root=copy) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"ERROR: {message}") and error.count("\n") == 1
    assert tree_hashes(copy) == before


def _limit_file_size() -> None:
    """In the child: no file may grow past 8,000 bytes (the skeleton's files are smaller,
    dvc.yaml is larger), so writing fails half-way as on a full disk. Python ignores SIGXFSZ:
    the write raises OSError (EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (8000, 8000))


def test_a_failure_half_way_changes_nothing_and_the_retry_succeeds(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    result = subprocess.run(
        [sys.executable, "-m", "tools.scaffold.new_project", NAME],
        cwd=copy, preexec_fn=_limit_file_size, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"ERROR: project '{NAME}' could not be written: File too large (dvc.yaml); "
    )
    assert result.stderr.endswith("nothing was changed (free space, then run make project again)\n")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert tree_hashes(copy) == before
    assert not list(copy.glob(".project-*"))
    assert not (copy / "stages" / NAME).exists()
    assert main([NAME], root=copy) == 0
    assert (copy / "stages" / NAME / "train.py").is_file()


def test_a_name_too_long_for_any_path_is_one_line(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    assert main(["x" * 300], root=copy) == 1
    error = capsys.readouterr().err
    assert error == "ERROR: 'xxxxxxxxxxxxxxxxxxxx...' is 300 characters long: use at most 40\n"
    assert tree_hashes(copy) == before


def test_a_params_section_or_a_project_folder_of_that_name_is_refused(copy: Path) -> None:
    section, folder = unused_name("weekly"), unused_name("monthly")
    (copy / "params.yaml").write_text((copy / "params.yaml").read_text() + f"\n{section}: {{}}\n")
    assert refusal(section, copy) == (
        f"'{section}' is already a section of params.yaml: choose another name"
    )
    (copy / "notebooks" / folder).mkdir()
    assert refusal(folder, copy) == (
        f"'{folder}': notebooks/{folder} already exist: choose another name"
    )


def test_the_project_joins_the_top_layer_of_the_contracts() -> None:
    text = "[importlinter:contract:layers]\nlayers =\n    late | daily | ingest\n    raw\n"
    assert with_project_contract(text, "weekly") == (
        "[importlinter:contract:layers]\nlayers =\n    late | daily | weekly | ingest\n    raw\n"
    )


def test_a_new_project_passes_every_check_runs_and_is_tested(copy: Path) -> None:
    """What a teammate does: scaffold, check, lint, run only the new project, test it. The other
    projects' stages do not run; the notebook runs on the shared data."""
    write_params(copy, {"ingest": {"sample_frac": 0.05}})
    repo = Repo(copy)
    repo.run("git", "init", "-q", "-b", "main")
    repo.run("python", "-m", "tools.storage.source_data")  # as make setup does
    repo.commit("the monorepo")
    result = repo.run(sys.executable, "-m", "tools.scaffold.new_project", NAME)
    assert f"project '{NAME}': wrote 21 files" in result.stdout
    for folder in (f"stages/{NAME}", f"notebooks/{NAME}"):  # as every working folder's Makefile
        here = subprocess.run(["make", "repro"], cwd=copy / folder, capture_output=True, text=True)
        assert "run make from the repository root: cd ../.. && make repro" in here.stderr
    _checks_pass(copy)
    ran = ran_stages(repo.run("dvc", "repro", "--glob", f"{NAME}-*").stdout)
    assert ran == ["ingest", f"{NAME}-prepare", f"{NAME}-train", f"{NAME}-evaluate", f"{NAME}-card"]
    # As first-class as a project on its own data: intervals over days, scored rows, a card,
    # gate rules.
    test = json.loads((copy / "metrics" / NAME / "metrics.json").read_text())["test"]
    assert test["roc_auc_low"] <= test["roc_auc"] <= test["roc_auc_high"]
    assert test["interval"]["days"] == 61  # November and December
    assert (copy / "data" / NAME / "evaluation" / "test.parquet").is_file()
    assert (copy / "metrics" / NAME / "plots" / "test" / "confusion.json").is_file()
    assert (copy / "models" / NAME / "model_card.md").is_file()
    rules = YAML(typ="safe").load(copy / "gate.yaml")[NAME]
    assert list(rules[f"metrics/{NAME}/metrics.json"]) == ["test.roc_auc"]
    dag = repo.run("dvc", "dag", "--dot").stdout
    assert f'"ingest" -> "{NAME}-prepare"' in dag
    tests = _pytest(copy, f"tests/{NAME}", "-k", "not notebook")
    assert tests.returncode == 0, tests.stdout[-3000:]
    env = {**os.environ, "PYTHONPATH": str(copy)}
    notebook = subprocess.run(
        [sys.executable, "-m", "papermill", "--cwd", f"notebooks/{NAME}",
         f"notebooks/{NAME}/01-explore.ipynb", str(copy.parent / "out.ipynb"),
         "--kernel", "python3", "--no-progress-bar"],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert notebook.returncode == 0, notebook.stderr[-3000:]


def _checks_pass(root: Path) -> None:
    """make check's and make lint's commands pass in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    bin_dir = Path(sys.executable).parent
    for command in (
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [str(bin_dir / "lint-imports"), "--no-cache"],
        [sys.executable, "-m", "tools.checks.dvc_lint"],
        [sys.executable, "-m", "tools.checks.notebook_lint"],
    ):
        checked = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        assert checked.returncode == 0, f"{command}:\n{checked.stdout}\n{checked.stderr}"


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``root``, on its own code."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *args],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
    )  # fmt: skip


def test_a_project_on_its_own_csv_is_tracked_runs_alone_and_reruns_on_a_data_change(
    repo: Repo, tmp_path: Path
) -> None:
    """What a new user does with their own table: scaffold on it, check, commit, run the
    project, run an experiment on one of its params, change a value of the data and accept it
    the DVC way; only that project's stages run each time, and the whole suite still collects."""
    data = tmp_path / "plants.csv"
    make_measurements(300).to_csv(data, index=False)
    result = repo.run(
        sys.executable,
        "-m",
        "tools.scaffold.new_project",
        PLANTS,
        f"--data={data}",
        "--target=species",
    )
    assert f"data/source/{PLANTS}: 300 rows, classification of 'species'" in result.stdout
    assert (repo.root / f"data/source/{PLANTS}/plants.csv").read_bytes() == data.read_bytes()
    _checks_pass(repo.root)
    repo.commit(f"project {PLANTS}")
    assert repo.run("git", "ls-files", f"data/source/{PLANTS}.dvc").stdout.strip()
    assert not repo.run("git", "ls-files", f"data/source/{PLANTS}").stdout.strip().endswith(".csv")
    assert repo.repro() == [
        f"{PLANTS}-prepare", f"{PLANTS}-train", f"{PLANTS}-evaluate", f"{PLANTS}-card"
    ]  # fmt: skip
    repo.commit(f"{PLANTS} reproduced")
    assert json.loads(repo.run("dvc", "status", "--json").stdout) == {}
    metrics = json.loads((repo.root / f"metrics/{PLANTS}/metrics.json").read_text())
    assert metrics["test"]["classes"] == 3 and 0 <= metrics["test"]["macro_f1"] <= 1
    cells = json.loads((repo.root / f"metrics/{PLANTS}/plots/test/confusion.json").read_text())
    assert len(cells) == 9 and sum(c["count"] for c in cells) == metrics["test"]["n"]
    ran = ran_stages(
        repo.run("dvc", "exp", "run", "-n", "c03", "-S", f"{PLANTS}.train.C=0.3").stdout
    )
    assert ran == [f"{PLANTS}-train", f"{PLANTS}-evaluate", f"{PLANTS}-card"]
    # The experiment against the commit, paired on the same rows: make compare A=c03 B=HEAD.
    compared = repo.run("python", "-m", "tools.review.paired", "c03", "HEAD").stdout
    section = compared.split(f"## {PLANTS}\n", 1)[1].split("\n## ", 1)[0]
    assert "| test | `accuracy` |" in section and "| test | `log_loss` |" in section, section
    assert "Not paired" not in section
    repo.run("git", "checkout", "--", "params.yaml", "dvc.lock", "metrics")
    repo.run("dvc", "checkout", "--quiet")
    # A value of the data changes; `dvc add` accepts it: that project's stages run, no other.
    table = repo.root / f"data/source/{PLANTS}/plants.csv"
    lines = table.read_text().splitlines()
    fields = lines[5].split(",")
    fields[lines[0].split(",").index("length")] = "99.5"  # a feature's value, not its spelling
    lines[5] = ",".join(fields)
    table.write_text("\n".join(lines) + "\n")
    repo.run("dvc", "add", "--quiet", f"data/source/{PLANTS}")
    assert repo.repro() == [
        f"{PLANTS}-prepare", f"{PLANTS}-train", f"{PLANTS}-evaluate", f"{PLANTS}-card"
    ]  # fmt: skip
    collected = _pytest(repo.root, "--collect-only", "tests")
    assert collected.returncode == 0, collected.stdout[-3000:]
    tests = _pytest(repo.root, f"tests/{PLANTS}")
    assert tests.returncode == 0, tests.stdout[-3000:]


def test_a_regression_on_a_parquet_folder_split_by_date(copy: Path, tmp_path: Path) -> None:
    """A whole-number target (grams), a time split and day-block intervals: the project is
    judged with intervals, guarded by gate.yaml from its first commit, has a card, and its own
    tests pass (the test rows' grams are whole numbers too)."""
    folder = tmp_path / "drops"
    folder.mkdir()
    in_grams(make_measurements(200, seed=1)).to_parquet(folder / "a.parquet")
    in_grams(make_measurements(120, seed=2)).to_parquet(folder / "b.parquet")
    write_params(copy, {"ingest": {"sample_frac": 0.05}})
    repo = Repo(copy)
    repo.run("git", "init", "-q", "-b", "main")
    repo.commit("the monorepo")
    result = repo.run(
        sys.executable, "-m", "tools.scaffold.new_project", WEIGHTS, f"--data={folder}",
        "--target=grams", "--date=measured_on",
    )  # fmt: skip
    assert "regression of 'grams'" in result.stdout
    assert "split: time" in (copy / "params.yaml").read_text()
    _checks_pass(copy)
    repo.commit(WEIGHTS)
    assert repo.repro("--glob", f"{WEIGHTS}-*") == [
        f"{WEIGHTS}-prepare", f"{WEIGHTS}-train", f"{WEIGHTS}-evaluate", f"{WEIGHTS}-card"
    ]  # fmt: skip
    metrics = json.loads((copy / f"metrics/{WEIGHTS}/metrics.json").read_text())
    assert metrics["test"]["skill"] > 0  # the weight follows the measurements
    test = metrics["test"]
    assert test["skill_low"] <= test["skill"] <= test["skill_high"]
    assert test["model"]["mae_low"] <= test["model"]["mae"] <= test["model"]["mae_high"]
    assert test["interval"]["days"] == len(
        pd.read_parquet(copy / f"data/{WEIGHTS}/evaluation/test.parquet")["unit"].unique()
    )
    card = (copy / f"models/{WEIGHTS}/model_card.md").read_text()
    assert f"# Model card: {WEIGHTS}-model v1.0.0" in card and "**Not for:**" in card
    assert f"`{test['skill']}` [" not in card and f"{test['skill']} [{test['skill_low']}" in card
    repo.commit(f"{WEIGHTS} reproduced")
    # make gate applies the project's rules (late's and daily's fail here: never reproduced).
    gate = run_make(copy, "gate", "BASE=HEAD").stdout
    rows = [line for line in gate.splitlines() if line.startswith(f"| {WEIGHTS} |")]
    assert [row.split("`")[1] for row in rows] == [
        f"metrics/{WEIGHTS}/metrics.json:test.model.mae",
        f"metrics/{WEIGHTS}/metrics.json:test.skill",
    ]
    assert all(row.endswith("| pass |") and "within noise" in row for row in rows), rows
    # make push's first step, with the flights projects never reproduced here: one line.
    recorded = repo.run("python", "-m", "tools.storage.run_cache", "record")
    assert recorded.stdout == f"run-cache: recorded {WEIGHTS}-evaluate\n"
    tests = _pytest(copy, f"tests/{WEIGHTS}")
    assert tests.returncode == 0, tests.stdout[-3000:]


def test_a_projects_tests_are_skipped_saying_why_where_its_data_is_absent(
    copy: Path, tmp_path: Path
) -> None:
    data = tmp_path / "plants.parquet"
    make_measurements(100).to_parquet(data)
    repo = Repo(copy)
    repo.run("git", "init", "-q", "-b", "main")
    repo.run(
        sys.executable,
        "-m",
        "tools.scaffold.new_project",
        PLANTS,
        f"--data={data}",
        "--target=count",
    )
    repo.commit(PLANTS)
    shutil.rmtree(copy / f"data/source/{PLANTS}")
    shutil.rmtree(copy / ".dvc/cache")
    tests = _pytest(copy, "-rs", f"tests/{PLANTS}")
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert f"data/source/{PLANTS} is absent here (workspace and DVC cache): run `make pull`" in (
        tests.stdout
    )
    assert " passed" in tests.stdout and " skipped" in tests.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--target=colour"], "TARGET=colour: no such column in"),
        ([], "TARGET=<column> is needed: the columns of"),
        (["--target=site", "--task=regression"], "TASK=regression: 'site' holds str values"),
        (["--target=species", "--date=site"], "DATE=site: column 'site' of"),
        (["--target=species", "--task=ordinal"], "TASK=ordinal: use one of"),
    ],
)
def test_a_dataset_that_cannot_start_a_project_is_one_line_and_changes_nothing(
    copy: Path, tmp_path: Path, arguments: list[str], message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    data = tmp_path / "plants.csv"
    make_measurements(60).to_csv(data, index=False)
    before = tree_hashes(copy)
    assert main([PLANTS, f"--data={data}", *arguments], root=copy) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"ERROR: {message}") and error.count("\n") == 1
    assert tree_hashes(copy) == before


def test_missing_data_and_options_without_data_are_refused(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hashes(copy)
    assert main([PLANTS, "--data=/nowhere/plants.csv", "--target=x"], root=copy) == 1
    assert capsys.readouterr().err == "ERROR: DATA=/nowhere/plants.csv: no such file or folder\n"
    assert main([PLANTS, "--target=x"], root=copy) == 1
    assert (
        capsys.readouterr().err == "ERROR: --target given without DATA=<file or folder> (--data)\n"
    )
    assert tree_hashes(copy) == before


def test_a_project_taken_out_of_a_copy_leaves_the_repository_as_it_was(
    copy: Path, tmp_path: Path
) -> None:
    """What the pipeline tests' copy does with a project whose data is absent: every file as
    before the project was added, the YAML files equal in content (a comment may stay)."""
    safe = YAML(typ="safe")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=copy, check=True)
    before = tree_hashes(copy)
    documents = {name: safe.load(copy / name) for name in ("dvc.yaml", "params.yaml", "gate.yaml")}
    data = tmp_path / "plants.csv"
    make_measurements(60).to_csv(data, index=False)
    assert main([PLANTS, f"--data={data}", "--target=species"], root=copy) == 0
    remove_project(copy, PLANTS)
    after = tree_hashes(copy)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert changed <= {"dvc.yaml", "params.yaml", "gate.yaml", ".dvc/cache"} | {
        path for path in after if path.startswith(".dvc/")
    }
    for name, document in documents.items():
        assert safe.load(copy / name) == document, name
    _checks_pass(copy)


# The longest name make project takes: every line of every scaffold must still pass make lint.
LONGEST = ("a_research_project_with_a_long_name_" + "x" * 40)[:40]


@pytest.mark.parametrize(
    "arguments",
    [[], ["--target=species"], ["--target=grams"]],
    ids=["flights", "classification", "regression"],
)
def test_every_scaffold_passes_lint_with_the_longest_name(
    copy: Path, tmp_path: Path, arguments: list[str]
) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=copy, check=True)  # for dvc add
    data = tmp_path / "plants.csv"
    in_grams(make_measurements(80)).to_csv(data, index=False)
    assert main([LONGEST, *([f"--data={data}"] if arguments else []), *arguments], root=copy) == 0
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, f"stages/{LONGEST}", f"tests/{LONGEST}"],
            cwd=copy, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_new_project_on_its_data_is_guarded_from_its_first_commit(
    copy: Path, tmp_path: Path
) -> None:
    """gate.yaml gains the project's rules, paired on its headline metric with a floor at the
    naive baseline: ROC AUC with two classes, accuracy (floor: the most common class) with more."""
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=copy, check=True)  # for dvc add
    data = tmp_path / "plants.csv"
    frame = make_measurements(100)
    frame.assign(big=np.where(frame["length"] > 50, "yes", "no")).to_csv(data, index=False)
    assert main([PLANTS, f"--data={data}", "--target=species"], root=copy) == 0
    assert main([NAME, f"--data={data}", "--target=big"], root=copy) == 0
    rules = YAML(typ="safe").load(copy / "gate.yaml")
    share = frame["species"].value_counts().iloc[0] / len(frame)
    assert rules[PLANTS] == {
        f"metrics/{PLANTS}/metrics.json": {
            "test.accuracy": {
                "better": "higher", "tolerance": 0.0, "compare": "paired",
                "min": math.floor(share * 100) / 100, "bounds": "beyond-noise",
            }
        }
    }  # fmt: skip
    assert list(rules[NAME][f"metrics/{NAME}/metrics.json"]) == ["test.roc_auc"]
    assert rules["late"] and rules["daily"]  # the others' rules kept
    pipeline = YAML(typ="safe").load(copy / "dvc.yaml")
    assert pipeline["artifacts"][f"{PLANTS}-model"]["path"] == f"models/{PLANTS}/model.skops"
    assert pipeline["stages"][f"{PLANTS}-card"]["outs"] == [f"models/{PLANTS}/model_card.md"]
