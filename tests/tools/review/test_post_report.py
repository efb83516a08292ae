"""Posting the report: to a real HTTP server started here, as GitHub's and GitLab's APIs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tools.review.post_report import MAX_BODY, PostError, comment_body, target_from

TOKEN = "s3cr3t-token-value"  # not a secret


class Recorder(BaseHTTPRequestHandler):
    """Records each POST; answers with the status the test sets on the server (a redirect to
    `server.location` when set; `server.fault` "close" hangs up, "garbage" sends no HTTP)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, dict(self.headers), json.loads(body)))
        if self.server.fault == "close":
            self.close_connection = True
            return
        if self.server.fault == "garbage":
            self.wfile.write(b"HELLO THERE\r\n\r\n")
            return
        self.send_response(self.server.status)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.end_headers()
        self.wfile.write(b'{"message": "Bad credentials"}')

    def do_GET(self) -> None:
        # urllib turns a followed 301/302 into a GET carrying the same headers.
        self.server.requests.append((self.path, dict(self.headers), None))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests, server.status, server.location, server.fault = [], 201, "", ""
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def api() -> Iterator[ThreadingHTTPServer]:
    server = serve()
    yield server
    server.shutdown()


@pytest.fixture
def elsewhere() -> Iterator[ThreadingHTTPServer]:
    """A second host, where a redirect from the API would send the comment."""
    server = serve()
    yield server
    server.shutdown()


def post(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "report.md"
    report.write_text("# Models\n\n![ROC curve](late-roc.png)\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB", "GITLAB", "CI_"))}
    return subprocess.run(
        [sys.executable, "-m", "tools.review.post_report", str(report)],
        cwd=REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip


def github_env(tmp_path: Path, url: str, number: int | None = 7) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number}} if number else {"ref": "x"}))
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_API_URL": url, "GITHUB_REPOSITORY": "team/research",
        "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": TOKEN,
    }  # fmt: skip


def test_github_gets_the_comment_on_the_pull_request(tmp_path: Path, api) -> None:
    url = f"http://127.0.0.1:{api.server_port}"
    result = post(tmp_path, github_env(tmp_path, url))
    assert result.returncode == 0, result.stderr
    ((path, headers, body),) = api.requests
    assert path == "/repos/team/research/issues/7/comments"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body == {"body": "# Models\n\n*ROC curve* (image in this run's `report` artifact)\n"}


def gitlab_env(url: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true", "CI_API_V4_URL": f"{url}/api/v4",
        "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "3", "GITLAB_TOKEN": TOKEN,
    }  # fmt: skip


def test_gitlab_gets_a_note_on_the_merge_request(tmp_path: Path, api) -> None:
    result = post(tmp_path, gitlab_env(f"http://127.0.0.1:{api.server_port}"))
    assert result.returncode == 0, result.stderr
    ((path, headers, _),) = api.requests
    assert path == "/api/v4/projects/42/merge_requests/3/notes"
    assert headers["Private-Token"] == TOKEN


def test_a_refusal_is_one_line_without_the_token(tmp_path: Path, api) -> None:
    api.status = 401
    result = post(tmp_path, github_env(tmp_path, f"http://127.0.0.1:{api.server_port}"))
    assert result.returncode == 2
    assert (
        result.stderr
        == 'post_report: GitHub answered 401 Unauthorized: {"message": "Bad credentials"}\n'
    )
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("host", ["github", "gitlab"])
def test_a_redirect_is_not_followed_and_the_token_never_reaches_the_other_host(
    tmp_path: Path, api, elsewhere, status: int, host: str
) -> None:
    api.status, api.location = status, f"http://127.0.0.1:{elsewhere.server_port}/steal"
    url = f"http://127.0.0.1:{api.server_port}"
    env = github_env(tmp_path, url) if host == "github" else gitlab_env(url)
    result = post(tmp_path, env)
    assert result.returncode == 2
    assert len(api.requests) == 1 and elsewhere.requests == []
    assert result.stderr.count("\n") == 1 and "not followed" in result.stderr
    assert "posted" not in result.stdout
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("status", "fault", "says"),
    [
        (200, "", "answered 200 OK, not 201 Created: nothing posted"),
        (204, "", "answered 204 No Content, not 201 Created"),
        (201, "close", "gave no valid answer (RemoteDisconnected): nothing posted"),
        (201, "garbage", "gave no valid answer (BadStatusLine): nothing posted"),
    ],
)
def test_any_answer_but_created_is_one_line_and_a_failure(
    tmp_path: Path, api, status: int, fault: str, says: str
) -> None:
    api.status, api.fault = status, fault
    result = post(tmp_path, github_env(tmp_path, f"http://127.0.0.1:{api.server_port}"))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith("post_report: GitHub ")
    assert says in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_outside_ci_or_a_pull_request_it_says_there_is_nothing_to_post(tmp_path: Path) -> None:
    result = post(tmp_path, {})
    assert result.returncode == 2
    assert result.stderr.startswith("post_report: not running in GitHub Actions or GitLab CI")
    no_pr = post(tmp_path, github_env(tmp_path, "http://127.0.0.1:9", number=None))
    assert "this run is not for a pull request" in no_pr.stderr


def test_missing_settings_are_named() -> None:
    with pytest.raises(PostError, match="GITLAB_TOKEN is not set: add a project access token"):
        target_from({"GITLAB_CI": "true"})


def test_a_long_report_is_cut_under_the_hosts_limit() -> None:
    body = comment_body("x" * (MAX_BODY + 10))
    assert len(body) < 65_536
    assert body.endswith("(cut: the whole report is in the `report` artifact)")
