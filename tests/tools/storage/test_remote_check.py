"""The remote check before ``make push``/``make pull``: each fault a newcomer meets is one line that
names the remote and what to do. Servers here listen on 127.0.0.1 only."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from dvc.repo import Repo

from tests.conftest import REPO_ROOT
from tools.storage.remote import RemoteError, check_remote, explain, malformed_config, within

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def test_an_unreachable_endpoint_says_the_bucket_is_an_example_to_replace() -> None:
    error = EndpointConnectionError(endpoint_url="https://flight-delays.s3.amazonaws.com/")
    message = explain(error, "storage", "flight-delays")
    assert message.startswith("cannot reach the S3 endpoint (Could not connect")
    assert "the remote in .dvc/config is an example to replace" in message
    assert "dvc remote modify --local storage url s3://YOUR-BUCKET/PATH" in message


def test_a_plain_404_is_not_called_a_missing_bucket() -> None:
    assert "answered 404 Not Found" in explain(FileNotFoundError("Not Found"), "storage", "b")
    missing = explain(FileNotFoundError("NoSuchBucket: no"), "storage", "b")
    assert missing.startswith("bucket 'b' does not exist")


def test_within_returns_raises_or_times_out() -> None:
    assert within(1, lambda: 42) == 42
    with pytest.raises(ValueError, match="bad"):
        within(1, lambda: (_ for _ in ()).throw(ValueError("bad")))
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        within(0.2, lambda: time.sleep(5))
    assert time.monotonic() - started < 2


@pytest.fixture
def dvc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Git and DVC repository with a remote `storage`, the working directory."""
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], check=True)
    (tmp_path / ".dvc" / "config").write_text(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://team-bucket/dvc\n"
    )
    return tmp_path


class NotS3(http.server.BaseHTTPRequestHandler):
    """Answers every request with a bare 404, as a web server that is not S3 would."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (bounded: closed when the test ends)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_server_answering_plain_404_is_named_as_not_s3(
    dvc_repo: Path, plain_http: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": plain_http}.items():
        monkeypatch.setenv(name, value)
    with Repo() as repo, pytest.raises(RemoteError) as caught:
        check_remote(repo)
    assert "answered 404 Not Found" in str(caught.value)
    assert "does not exist" not in str(caught.value)


def test_a_silent_endpoint_is_reported_within_the_bound(
    dvc_repo: Path, silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": silent_server}.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with Repo() as repo, pytest.raises(RemoteError, match="did not answer within 2 s"):
        check_remote(repo, timeout=2)
    assert time.monotonic() - started < 10


def test_a_malformed_local_config_is_one_line_naming_the_file(dvc_repo: Path) -> None:
    (dvc_repo / ".dvc" / "config.local").write_text("[core\nremote = storage\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tools.storage.remote", "check"],
        cwd=dvc_repo, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: .dvc/config.local: cannot be read (Invalid line")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert malformed_config(dvc_repo, ValueError("x")).startswith(".dvc/config.local")
