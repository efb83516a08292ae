"""Every notebook of the project runs top to bottom on a real Jupyter kernel, on the pipeline's
outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, execute_notebook

NOTEBOOK_DIR = Path("notebooks") / "late"
NOTEBOOKS = sorted(path.name for path in (REPO_ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
# 03 runs on the whole (already sampled) test split so that its check that it reproduces
# metrics.json exactly is exercised; the others exercise their sampling.
SAMPLE_FRAC = {"03-model-analysis.ipynb": 1.0}


def test_the_project_has_its_notebooks() -> None:
    assert NOTEBOOKS == ["01-eda.ipynb", "02-features.ipynb", "03-model-analysis.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_without_errors(
    name: str, reproduced: tuple[Path, list[str]], tmp_path: Path
) -> None:
    execute_notebook(
        reproduced[0], NOTEBOOK_DIR / name, SAMPLE_FRAC.get(name, 0.5), tmp_path / name
    )
