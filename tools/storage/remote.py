"""Check that the DVC remote can be reached before pushing or pulling (``make push``/``make pull``).

``dvc push`` against a wrong secret, a missing bucket or a server that is down fails with an
"unexpected error" that does not say which remote, after retrying for a while. This check asks the
remote once, through DVC's own filesystem (so with the credentials and endpoint DVC would use),
and explains what is wrong and how to fix it, naming the remote. It reads and writes nothing else.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from configobj import ConfigObj, ConfigObjError
from dvc.config import ConfigError
from dvc.fs import get_cloud_fs
from dvc.repo import Repo

# The DVC configuration files of a repository, the shared one first.
CONFIG_FILES = (".dvc/config", ".dvc/config.local")
# How long to wait for a TCP connection to a custom endpoint before calling it down.
CONNECT_TIMEOUT_S = 3.0
# How long the listing of the bucket may take: an endpoint that accepts connections and never
# answers would otherwise hold `make push` for a minute and a half of retries.
LIST_TIMEOUT_S = 15.0
PLACEHOLDER_HELP = (
    "the remote in .dvc/config is an example to replace: "
    "`dvc remote modify --local {name} url s3://YOUR-BUCKET/PATH` (and `... endpointurl URL` for "
    "MinIO or another S3-compatible server); see docs/storage.md"
)
CREDENTIAL_HELP = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run "
    "`dvc remote modify --local {name} access_key_id ...` and `... secret_access_key ...`"
)


class RemoteError(Exception):
    """The remote cannot be used as configured; the message says why and what to do."""


def endpoint_of(remote: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The S3 endpoint DVC will use: the remote's ``endpointurl``, else the AWS variables."""
    return (
        remote.get("endpointurl") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    )


def describe(name: str, remote: Mapping[str, Any], endpoint: str | None) -> str:
    """How the remote is named in messages: ``remote 'storage' (s3://bucket/path at endpoint)``."""
    where = f" at {endpoint}" if endpoint else ""
    return f"remote '{name}' ({remote.get('url')}{where})"


def check_endpoint(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why a TCP connection to ``endpoint`` fails, or None when something listens there."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except OSError as error:
        return error.strerror or str(error)


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def explain(error: Exception, name: str, bucket: str) -> str:
    """The cause of a failed listing of the bucket, in terms a user can act on."""
    text = str(error)
    kinds = {type(cause).__name__ for cause in _causes(error)}
    if "NoCredentialsError" in kinds:
        return f"no credentials found: {CREDENTIAL_HELP.format(name=name)}"
    if kinds & {"EndpointConnectionError", "ConnectTimeoutError"} or "Could not connect" in text:
        return f"cannot reach the S3 endpoint ({text}): {PLACEHOLDER_HELP.format(name=name)}"
    if "NoSuchBucket" in text or "bucket does not exist" in text:
        return f"bucket '{bucket}' does not exist: create it, or point the remote elsewhere"
    if isinstance(error, FileNotFoundError):
        # A plain 404, without S3's NoSuchBucket: something answers, but not an S3 API.
        return (
            f"the endpoint answered 404 Not Found for bucket '{bucket}' with no S3 error: is it "
            "an S3 API server (the endpointurl of the remote, or AWS_ENDPOINT_URL)?"
        )
    if isinstance(error, PermissionError) or "Forbidden" in text or "AccessDenied" in text:
        return f"the credentials were refused ({text}): {CREDENTIAL_HELP.format(name=name)}"
    return f"{type(error).__name__}: {text}"


def check_remote(
    repo: Repo,
    name: str | None = None,
    env: Mapping[str, str] = os.environ,
    timeout: float = LIST_TIMEOUT_S,
) -> str:
    """Raise RemoteError unless the remote ``name`` (default: the repository's) can be listed."""
    name = name or repo.config["core"].get("remote")
    remotes = repo.config.get("remote", {})
    if not name or name not in remotes:
        raise RemoteError(
            f"no remote '{name}' configured: see README, 'Team storage' "
            f"(configured: {', '.join(remotes) or 'none'})"
        )
    remote = dict(remotes[name])
    endpoint = endpoint_of(remote, env)
    label = describe(name, remote, endpoint)
    if endpoint:
        refused = check_endpoint(endpoint)
        if refused:
            raise RemoteError(
                f"{label}: cannot connect to the endpoint ({refused}): is the server running?"
            )
    fs_class, fs_config, path = get_cloud_fs(repo.config, **remote)
    bucket = path.split("/")[0]
    try:
        within(timeout, lambda: fs_class(**fs_config).ls(bucket))
    except TimeoutError:
        raise RemoteError(
            f"{label}: the endpoint accepted the connection but did not answer within "
            f"{timeout:g} s: is it an S3 API server, and is it running normally?"
        ) from None
    except Exception as error:  # the S3 stack raises many types; explain() sorts them
        raise RemoteError(f"{label}: {explain(error, name, bucket)}") from error
    return label


def within(seconds: float, action: Callable[[], object]) -> object:
    """The result of ``action()``, or TimeoutError after ``seconds``. The call runs in a daemon
    thread, which is left behind on a time-out (the process is about to exit anyway)."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def malformed_config(root: Path, error: Exception) -> str:
    """Which DVC configuration file of the repository at ``root`` does not parse, and what to do;
    DVC's own message does not name the file."""
    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            ConfigObj(str(path), list_values=False)
        except ConfigObjError as problem:
            return (
                f"{name}: cannot be read ({problem}); fix it (.dvc/config.local, this clone's own "
                "settings, may also be removed and made again with `dvc remote modify --local`)"
            )
    return f"the DVC configuration cannot be read: {error}"


def main(argv: list[str]) -> int:
    """``python -m tools.storage.remote check [NAME]``: 0 if the remote answers, else 1 with the
    reason."""
    if not argv or argv[0] != "check" or len(argv) > 2:
        print("usage: python -m tools.storage.remote check [REMOTE]", file=sys.stderr)
        return 2
    try:
        repo = Repo()
    except ConfigError as error:
        print(f"ERROR: {malformed_config(Path.cwd(), error)}", file=sys.stderr)
        return 1
    with repo:
        try:
            label = check_remote(repo, argv[1] if len(argv) == 2 else None)
        except RemoteError as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 1
    print(f"{label}: reachable")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
