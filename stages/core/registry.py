"""A registered model version, looked up and fetched the way ``make register``/``make promote``
(GTO's Git tags) and ``dvc artifacts get`` see it, whatever the project.

:func:`resolve_version` asks DVC which commit a version or a stage (``prod``) of an artifact
names; :func:`fetch_version` brings that commit's model and the files its scoring reads with
``dvc get``, laid out as in the repository, into one folder per commit. ``late-score``
(stages/late/job.py) and the scoring service (stages/core/service.py) both use them.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stages.core.errors import StageError

log = logging.getLogger("stages.core.registry")


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of an artifact: its name (``v1.0.0``), the commit it was registered on and
    the model's path in the repository."""

    artifact: str
    version: str
    rev: str
    path: str


def resolve_version(
    artifact: str, repo: str, version: str | None = None, stage: str | None = None
) -> RegisteredVersion:
    """The registered version ``version``, or the one assigned ``stage``, of ``artifact`` in
    ``repo``; StageError when the registry has no such version or stage."""
    from dvc.api import artifacts_show
    from dvc.exceptions import DvcException

    try:
        found = artifacts_show(artifact, version=version, stage=stage, repo=repo)
    except DvcException as error:
        wanted = f"version {version}" if version else f"stage {stage}"
        raise StageError(f"{repo}: no {artifact} at {wanted} ({error})") from None
    name = version or _version_at(repo, artifact, found["rev"]) or stage or ""
    return RegisteredVersion(artifact, name, found["rev"], found["path"])


def _version_at(repo: str, artifact: str, rev: str) -> str | None:
    """The newest version of ``artifact`` registered on commit ``rev`` of ``repo`` (GTO's tag
    ``<artifact>@<version>``), None when it cannot be read."""
    result = subprocess.run(
        ["git", "-C", repo, "tag", "--points-at", rev, "--list", f"{artifact}@v*",
         "--sort=-version:refname"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    tags = result.stdout.split() if result.returncode == 0 else []
    return tags[0].split("@", 1)[1] if tags else None


def dvc_get(repo: str, path: str, rev: str, out: Path, remote_config: list[str]) -> None:
    """``dvc get`` of ``path`` at ``rev`` into ``out``; StageError with DVC's reason."""
    config = [option for pair in remote_config for option in ("--remote-config", pair)]
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "get", repo, path, "--rev", rev, "-o", str(out), *config],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        raise StageError(f"dvc get {path} from {repo} at {rev[:7]}: {lines[-1]}")


def fetch_version(
    repo: str, rev: str, paths: list[Path], cache: Path, remote_config: list[str] | None = None
) -> Path:
    """The folder of ``cache`` holding ``paths`` as they are at commit ``rev`` of ``repo``,
    laid out as in the repository; fetched whole into a temporary folder first, so that an
    interrupted fetch leaves nothing the next run would take for complete."""
    folder = cache / rev
    if folder.is_dir():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{rev[:7]}-", dir=cache))
    try:
        for path in paths:
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            log.info("fetching %s at %s", path, rev[:7])
            dvc_get(repo, path.as_posix(), rev, staging / path, remote_config or [])
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
