"""Proof that no stage reads or writes a file dvc.yaml does not declare, nor opens a connection.

Every stage of every project runs its own command (on the reproduced 5% sample) under a Python
audit hook (tests/audit_stage.py) that records each file it opens and each connection it tries.
What DVC itself resolves from dvc.yaml (``${...}`` interpolated) is what the stage may touch: a
read must be of a declared dependency (params.yaml for its params), a write of a declared output
or of the temporary sibling the atomic writers rename into it. Outside the repository only the
interpreter, the installed libraries and the operating system's own files are allowed.
"""

from __future__ import annotations

import json
import os
import shlex
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from stages.core.guard import is_within
from tests.conftest import REPO_ROOT, STAGES, Repo

pytestmark = pytest.mark.pipeline

AUDIT_SCRIPT = REPO_ROOT / "tests" / "audit_stage.py"
# Outside the repository: the interpreter and the installed libraries, and what the operating
# system lends every process (devices, the kernel's /proc and /sys: CPU counts for joblib and
# threadpoolctl; time zones).
SYSTEM_PREFIXES = tuple(
    sorted(
        {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
         sysconfig.get_paths()["stdlib"], "/dev", "/proc", "/sys", "/etc/localtime",
         "/usr/share/zoneinfo"}
    )
)  # fmt: skip
# Inside the repository, read by the stage's code but not data: dvc.yaml, which stages.core.dvc_yaml
# reads to refuse overwriting a pipeline output (a change to a stage's entry re-runs it anyway).
ALLOWED_READS = ("dvc.yaml",)


@dataclass(frozen=True)
class Declared:
    """What a stage may touch, as absolute paths: its deps (params files included) and outs."""

    name: str
    command: list[str]
    deps: tuple[Path, ...]
    outs: tuple[Path, ...]


def declared_stages(root: Path) -> dict[str, Declared]:
    """Each pipeline stage of ``root`` as DVC resolves it (params interpolated)."""
    code = (
        "import json, sys\n"
        "from dvc.repo import Repo\n"
        "stages = {}\n"
        "for s in Repo('.').index.stages:\n"
        "    if getattr(s, 'cmd', None):\n"
        "        stages[s.name] = {'cmd': s.cmd, 'deps': [d.fs_path for d in s.deps],\n"
        "                          'outs': [o.fs_path for o in s.outs]}\n"
        "json.dump(stages, sys.stdout)\n"
    )
    listing = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return {
        name: Declared(
            name, shlex.split(" ".join(stage["cmd"].split())),
            tuple(Path(p) for p in stage["deps"]), tuple(Path(p) for p in stage["outs"]),
        )
        for name, stage in json.loads(listing).items()
    }  # fmt: skip


def audit(root: Path, stage: Declared, report: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``stage``'s command under the audit hook; the process and what it opened."""
    assert stage.command[:2] == ["python", "-m"], stage.command
    result = subprocess.run(
        [sys.executable, str(AUDIT_SCRIPT), str(report), *stage.command[2:]],
        cwd=root, capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    return result, json.loads(report.read_text())


def _staging_of(path: Path, out: Path) -> bool:
    """Whether ``path`` is (or is inside) a temporary sibling ``.<name>.*`` of ``out``: where
    the atomic writers build an output before renaming it into place."""
    return any(
        p.parent == out.parent and p.name.startswith(f".{out.name}.") for p in [path, *path.parents]
    )


def _compiled_module(path: Path, deps: tuple[Path, ...]) -> bool:
    """Whether ``path`` is the bytecode Python caches for a declared module."""
    if path.parent.name != "__pycache__" or path.suffix != ".pyc":
        return False
    source = path.parent.parent / f"{path.name.split('.')[0]}.py"
    return source in deps


def undeclared(root: Path, stage: Declared, record: dict, report: Path) -> list[str]:
    """Every file ``stage`` opened that it does not declare, and every connection it tried."""
    problems = [f"stage '{stage.name}': network: {event}" for event in record["network"]]
    for raw, mode in record["opened"]:
        path = Path(raw)
        if path == report or path.as_posix().startswith(SYSTEM_PREFIXES):
            continue
        writes = any(flag in mode for flag in "wax+")
        if writes:
            allowed = any(is_within(path, o) or _staging_of(path, o) for o in stage.outs)
        else:
            allowed = (
                any(is_within(path, d) for d in (*stage.deps, *stage.outs))
                or any(_staging_of(path, o) for o in stage.outs)
                or _compiled_module(path, stage.deps)
                or path in {root / name for name in ALLOWED_READS}
            )
        if not allowed:
            where = path.relative_to(root) if root in path.parents else path
            problems.append(
                f"stage '{stage.name}': {'writes' if writes else 'reads'} {where}, which "
                f"dvc.yaml does not declare"
            )
    return sorted(set(problems))


def test_every_stage_opens_only_what_it_declares(repo: Repo, tmp_path: Path) -> None:
    stages = declared_stages(repo.root)
    assert list(stages) == STAGES
    problems, opened = [], 0
    for stage in stages.values():
        report = tmp_path / f"{stage.name}.json"
        result, record = audit(repo.root, stage, report)
        assert result.returncode == 0, f"{stage.name}: {result.stderr[-2000:]}"
        opened += len(record["opened"])
        problems += undeclared(repo.root, stage, record, report)
    assert problems == []
    assert opened > 100  # the hook saw the stages' imports and files


def test_the_audit_catches_a_planted_undeclared_read_and_connection(
    repo: Repo, tmp_path: Path
) -> None:
    # An input dropped from dvc.yaml: daily-prepare still reads the weather.
    pipeline = repo.root / "dvc.yaml"
    text = pipeline.read_text()
    start = text.index("  daily-prepare:")
    block = text[start : text.index("    params:", start)]
    pipeline.write_text(
        text.replace(block, block.replace("      - data/raw/weather.parquet\n", ""))
    )
    # A file and a connection the code reaches for, undeclared.
    ingest = repo.root / "stages" / "ingest.py"
    ingest.write_text(
        ingest.read_text().replace(
            "    params = load_params(\"ingest\", IngestParams)\n",
            "    params = load_params(\"ingest\", IngestParams)\n"
            "    Path('README.md').read_text()\n"
            "    import socket\n"
            "    try:\n"
            "        socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
            "    except OSError:\n"
            "        pass\n",
        )
    )  # fmt: skip
    stages = declared_stages(repo.root)
    found = []
    for name in ("ingest", "daily-prepare"):
        report = tmp_path / f"{name}.json"
        result, record = audit(repo.root, stages[name], report)
        assert result.returncode == 0, result.stderr[-2000:]
        found += undeclared(repo.root, stages[name], record, report)
    assert "stage 'ingest': reads README.md, which dvc.yaml does not declare" in found
    assert any(p.startswith("stage 'ingest': network: socket.connect") for p in found), found
    found = [p for p in found if ": network: " not in p]
    assert (
        "stage 'daily-prepare': reads data/raw/weather.parquet, which dvc.yaml does not declare"
        in found
    )
    assert len(found) == 2, found
