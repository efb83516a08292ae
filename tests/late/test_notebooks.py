"""Every notebook of the project runs top to bottom on a real Jupyter kernel, on the pipeline's
outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NOTEBOOK_DIR = Path("notebooks") / "late"
NOTEBOOKS = sorted(path.name for path in (REPO_ROOT / NOTEBOOK_DIR).glob("*.ipynb"))
# 03 runs on the whole (already sampled) test split so that its check that it reproduces
# metrics.json exactly is exercised; the others exercise their sampling.
SAMPLE_FRAC = {"03-model-analysis.ipynb": 1.0}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_without_errors(
    name: str, reproduced: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root = reproduced[0]
    output = tmp_path / name
    # The kernel imports `stages` from the repository under test, whatever .venv points at.
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [
            sys.executable, "-m", "papermill", "--cwd", str(root / NOTEBOOK_DIR),
            "-p", "SAMPLE_FRAC", str(SAMPLE_FRAC.get(name, 0.5)),
            "--kernel", "python3", "--no-progress-bar",
            str(root / NOTEBOOK_DIR / name), str(output),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    executed = json.loads(output.read_text())
    code = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in code)
    errors = [o for cell in code for o in cell["outputs"] if o["output_type"] == "error"]
    assert errors == []
    images = [o for cell in code for o in cell["outputs"] if "image/png" in o.get("data", {})]
    assert images, "every notebook draws at least one figure"
