"""Every notebook of the project runs top to bottom on a real Jupyter kernel, on the pipeline's
outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, execute_notebook

NOTEBOOK_DIR = Path("notebooks") / "daily"
NOTEBOOKS = sorted(path.name for path in (REPO_ROOT / NOTEBOOK_DIR).glob("*.ipynb"))


def test_the_project_has_its_notebooks() -> None:
    assert NOTEBOOKS == ["01-eda.ipynb", "02-model.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_without_errors(
    name: str, reproduced: tuple[Path, list[str]], tmp_path: Path
) -> None:
    # 02 runs on every test airport-day, so that its check that it recomputes metrics.json
    # exactly is exercised; 01 exercises its sampling.
    sample_frac = 1.0 if name == "02-model.ipynb" else 0.5
    execute_notebook(reproduced[0], NOTEBOOK_DIR / name, sample_frac, tmp_path / name)
