"""The registry tool's own parts (the registry itself runs in tests/pipeline/test_team.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stages.core.card import CardParams, registry_tag
from stages.core.params import ConstraintError
from tests.conftest import REPO_ROOT
from tools.review.registry import RegistryError, artifact_of, check_registrable


def test_names_follow_dvc_yaml_and_gto() -> None:
    assert artifact_of("late") == "late-model"
    assert registry_tag("late-model", "1.2.0") == "late-model@v1.2.0"
    dvc_yaml = (REPO_ROOT / "dvc.yaml").read_text()
    assert "  late-model:\n" in dvc_yaml and "  daily-model:\n" in dvc_yaml


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-rc1", 1.0])
def test_a_card_version_must_be_major_minor_patch(version: object) -> None:
    with pytest.raises(ConstraintError, match=r"MAJOR\.MINOR\.PATCH"):
        CardParams(version=version)
    assert CardParams(version="10.2.0").version == "10.2.0"


def test_the_stages_gto_accepts_are_configured() -> None:
    assert "stages: [dev, prod]" in (REPO_ROOT / ".gto").read_text()


def test_usage_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.review.registry", "promote"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m tools.review.registry register <project>")


def test_uncommitted_changes_are_named_whole(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    (tmp_path / "params.yaml").write_text("late: {}\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "x")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")  # unstaged: ' M dvc.lock'
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RegistryError, match=r"^uncommitted changes \(dvc\.lock\): commit them"):
        check_registrable("late")
    (tmp_path / "params.yaml").write_text("late: {a: 1}\n")
    with pytest.raises(RegistryError, match=r"^uncommitted changes \(dvc\.lock, \.\.\.\)"):
        check_registrable("late")
