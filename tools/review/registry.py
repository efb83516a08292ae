"""The model registry on Git tags (GTO): register a project's model, assign it a stage.

    python -m tools.review.registry register <project>                  (make register P=<project>)
    python -m tools.review.registry assign <project> <version> <stage>
                                                  (make promote P=... VERSION=... STAGE=...)

`register` tags HEAD as `<project>-model@v<version>`, the version read from
`<project>.card.version` in params.yaml, which the model card names: so a registered version's
card names its version. It refuses uncommitted changes and a pipeline out of date with dvc.lock
(the tag would name a model nobody can check out). `assign` tags the version with a stage
(`<project>-model#<stage>#<n>`); the stages are those `.gto` configures. Both push the tag to
`origin` when there is one. GTO's own checks (a version that does not exist, a stage not
configured, a version registered twice) come back as one line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stages.core.dvc_yaml import read_pipeline
from tools.review.compare import CompareError, git

REGISTRY_REMOTE = "origin"


class RegistryError(Exception):
    """The registry cannot do what was asked; the message says why and what to do."""


def artifact_of(project: str) -> str:
    """The dvc.yaml artifact of a project's model."""
    return f"{project}-model"


def has_remote(name: str = REGISTRY_REMOTE) -> bool:
    """Whether the Git remote ``name`` is configured."""
    try:
        git("remote", "get-url", name)
    except CompareError:
        return False
    return True


def card_version(project: str) -> str:
    """``<project>.card.version`` from params.yaml, checked."""
    from stages.core.card import CardParams
    from stages.core.params import ParamsError, load_params

    try:
        return load_params(f"{project}.card", CardParams).version
    except ParamsError as error:
        raise RegistryError(str(error)) from None


def check_registrable(project: str) -> None:
    """Refuse to register a commit whose files are not what was committed and reproduced."""
    # Names only: `status --porcelain` columns do not survive the output's stripping.
    changed = git("diff", "--name-only", "HEAD").splitlines()
    if changed:
        more = ", ..." if len(changed) > 1 else ""
        raise RegistryError(
            f"uncommitted changes ({changed[0]}{more}): commit them before registering"
        )
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--quiet", *_stages_of(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if status.returncode != 0:
        raise RegistryError(
            f"{project}'s pipeline is not what dvc.lock records: run make repro P={project} "
            "and commit dvc.lock first"
        )


def _stages_of(project: str) -> list[str]:
    stages = read_pipeline(Path(".")).get("stages", {})
    return [name for name in stages if name.startswith(f"{project}-")]


def register(project: str) -> str:
    """Tag HEAD as the card's version of the project's model; push the tag. Returns the tag."""
    from gto import api
    from gto.exceptions import GTOException

    version = f"v{card_version(project)}"
    check_registrable(project)
    try:
        api.register(".", artifact_of(project), "HEAD", version=version, push=has_remote())
    except GTOException as error:
        raise RegistryError(_gto_message(error)) from None
    return f"{artifact_of(project)}@{version}"


def assign(project: str, version: str, stage: str) -> None:
    """Assign ``stage`` to ``version`` of the project's model; push the tag."""
    from gto import api
    from gto.exceptions import GTOException

    try:
        api.assign(
            ".", artifact_of(project), stage, version=version, push=has_remote(),
            skip_registration=True,
        )  # fmt: skip
    except GTOException as error:
        raise RegistryError(_gto_message(error)) from None


def _gto_message(error: Exception) -> str:
    """GTO's message without its emoji and list formatting."""
    return str(error).replace("❌", "").strip()


USAGE = (
    "usage: python -m tools.review.registry register <project> | assign <project> <version> <stage>"
)


def main(argv: list[str] | None = None) -> int:
    """Register or assign; one line and exit 1 when the registry refuses."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) == 2 and args[0] == "register":
            print(f"registered {register(args[1])}")
        elif len(args) == 4 and args[0] == "assign":
            assign(args[1], args[2], args[3])
            print(f"assigned {args[3]} to {artifact_of(args[1])}@{args[2]}")
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except RegistryError as error:
        print(f"registry: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
