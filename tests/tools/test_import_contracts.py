"""The import contracts of `.importlinter`, checked by import-linter as `make check` runs it: the
repository keeps them, and each kind of breach fails naming the file, line and import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the ``stages`` and ``tools`` packages and contracts under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages and their contracts, copied where they can be broken."""
    shutil.copytree(REPO_ROOT / "stages", tmp_path / "stages")
    shutil.copytree(
        REPO_ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("*.tmpl")
    )
    shutil.copy(REPO_ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def append(path: Path, line: str) -> None:
    """Add ``line`` at the end of the module at ``path``."""
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_repository_keeps_its_contracts() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        (
            "io.py",
            "from stages.late.contract import LABEL",
            "stages.core.io -> stages.late.contract",
        ),
        ("tables.py", "import stages.raw", "stages.core.tables -> stages.raw"),
        ("card.py", "from stages import ingest", "stages.core.card -> stages.ingest"),
    ],
)
def test_the_core_importing_a_project_or_the_shared_data_fails_naming_the_import(
    copy: Path, module: str, line: str, expected: str
) -> None:
    append(copy / "stages" / "core" / module, line)
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "stages.core is not allowed to import" in result.stdout
    assert expected in result.stdout


def test_a_new_project_must_be_placed_in_the_contracts(copy: Path) -> None:
    (copy / "stages" / "other").mkdir()
    (copy / "stages" / "other" / "__init__.py").write_text("")
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "stages.other" in result.stdout


def test_a_project_importing_another_fails(copy: Path) -> None:
    (copy / "stages" / "other").mkdir()
    (copy / "stages" / "other" / "__init__.py").write_text("")
    (copy / "stages" / "other" / "train.py").write_text("from stages.late.contract import LABEL\n")
    contracts = copy / ".importlinter"
    contracts.write_text(contracts.read_text().replace("| ingest", "| other | ingest"))
    result = lint_imports(copy)
    assert result.returncode == 1
    assert "stages.other.train -> stages.late.contract" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        ("daily/train.py", "from stages.late.contract import LABEL", "stages.daily.train -> stages.late.contract"),
        ("late/evaluate.py", "import stages.daily.scoring", "stages.late.evaluate -> stages.daily.scoring"),
        ("daily/prepare.py", "from stages.ingest import read_source", "stages.daily.prepare -> stages.ingest"),
    ],
)  # fmt: skip
def test_one_project_importing_the_other_or_the_ingest_stage_fails(
    copy: Path, module: str, line: str, expected: str
) -> None:
    append(copy / "stages" / module, line)
    result = lint_imports(copy)
    assert result.returncode == 1
    assert expected in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "cycle"),
    [
        # A lazy import inside a function closes a cycle as surely as one at the top.
        ("stages/core/tables.py", "def _f():\n    import stages.core.intervals", "stages.core"),
        ("tools/review/compare.py", "from tools.review.gate import read_rules", "tools"),
        ("stages/core/io.py", "from stages.core.card import registry_tag", "stages.core"),
    ],
)
def test_an_import_cycle_anywhere_fails_naming_the_package(
    copy: Path, module: str, line: str, cycle: str
) -> None:
    append(copy / module, line)
    result = lint_imports(copy)
    assert result.returncode == 1
    assert f"No cycles are allowed in {cycle}." in result.stdout
