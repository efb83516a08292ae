"""Post the report as a comment on the pull request (GitHub Actions) or merge request (GitLab CI).

    python -m tools.review.post_report reports/report.md      (make comment)

The host is read from the CI's own environment: GitHub Actions (GITHUB_TOKEN, the event of a
`pull_request`) or GitLab CI (a merge request pipeline, and GITLAB_TOKEN: a project access token
with the `api` scope, set as a masked CI/CD variable). Images cannot travel in a comment: their
links become their titles and a pointer to the CI run's `report` artifact. Tokens never appear in
the output.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# GitHub refuses comments over 65,536 characters; GitLab's notes are larger. Keep under both.
MAX_BODY = 60_000
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")


class PostError(Exception):
    """The comment cannot be posted; the message says why without naming any secret."""


@dataclass(frozen=True)
class Target:
    """Where a comment goes: the URL to POST to and the headers that authenticate it."""

    host: str
    url: str
    headers: dict[str, str]


def _need(env: Mapping[str, str], name: str, hint: str) -> str:
    value = env.get(name, "")
    if not value:
        raise PostError(f"{name} is not set: {hint}")
    return value


def github_target(env: Mapping[str, str]) -> Target:
    """The pull request of this GitHub Actions run (its event file names the number)."""
    token = _need(env, "GITHUB_TOKEN", "pass `GITHUB_TOKEN: ${{ github.token }}` as env")
    event_path = _need(env, "GITHUB_EVENT_PATH", "run inside GitHub Actions")
    try:
        event = json.loads(Path(event_path).read_text())
    except (OSError, ValueError) as error:
        raise PostError(f"cannot read the event file {event_path}: {error}") from None
    number = (event.get("pull_request") or {}).get("number")
    if not number:
        raise PostError("this run is not for a pull request: nothing to comment on")
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repository = _need(env, "GITHUB_REPOSITORY", "run inside GitHub Actions")
    return Target(
        "GitHub",
        f"{api}/repos/{repository}/issues/{number}/comments",
        {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )


def gitlab_target(env: Mapping[str, str]) -> Target:
    """The merge request of this GitLab CI pipeline."""
    token = _need(env, "GITLAB_TOKEN", "add a project access token (api scope) as a variable")
    iid = _need(env, "CI_MERGE_REQUEST_IID", "run in a merge request pipeline")
    api = _need(env, "CI_API_V4_URL", "run inside GitLab CI").rstrip("/")
    project = _need(env, "CI_PROJECT_ID", "run inside GitLab CI")
    return Target(
        "GitLab",
        f"{api}/projects/{project}/merge_requests/{iid}/notes",
        {"PRIVATE-TOKEN": token},
    )


def target_from(env: Mapping[str, str]) -> Target:
    """The CI host this runs in, from its environment."""
    if env.get("GITHUB_ACTIONS") == "true":
        return github_target(env)
    if env.get("GITLAB_CI") == "true":
        return gitlab_target(env)
    raise PostError(
        "not running in GitHub Actions or GitLab CI: nothing to post (read the report locally)"
    )


def comment_body(report: str) -> str:
    """The report as a comment: images as titles pointing at the artifact; cut to MAX_BODY."""
    body = IMAGE.sub(r"*\1* (image in this run's `report` artifact)", report)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + "\n\n... (cut: the whole report is in the `report` artifact)"
    return body


# Both APIs answer a new comment with 201 Created; anything else means nothing was posted.
POSTED = 201


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would resend the token to whatever host it names."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# The only opener this module uses: no redirects, no proxies from the environment either (the
# token goes to the configured API host and nowhere else).
_OPENER = urllib.request.build_opener(_RefuseRedirects, urllib.request.ProxyHandler({}))


def post(target: Target, body: str, timeout: float = 30.0) -> None:
    """POST the comment; any answer but 201 Created raises PostError naming the status."""
    request = urllib.request.Request(
        target.url,
        data=json.dumps({"body": body}).encode(),
        headers={**target.headers, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, reason = response.status, response.reason
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:200].strip()
        if 300 <= error.code < 400:
            where = error.headers.get("Location", "?")
            detail = f"a redirect to {where}, not followed (the token stays with {target.host})"
        raise PostError(f"{target.host} answered {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise PostError(f"cannot reach {target.host} at {target.url}: {reason}") from None
    except (http.client.HTTPException, OSError) as error:
        # A closed connection or a garbage status line: the host said nothing usable.
        kind = type(error).__name__
        raise PostError(
            f"{target.host} at {target.url} gave no valid answer ({kind}): nothing posted"
        ) from None
    if status != POSTED:
        raise PostError(
            f"{target.host} answered {status} {reason}, not 201 Created: nothing posted"
        )


def main(argv: list[str] | None = None) -> int:
    """Post the report named on the command line; one line and exit 2 when it cannot."""
    args = sys.argv[1:] if argv is None else argv
    report = Path(args[0] if args else "reports/report.md")
    try:
        if not report.is_file():
            raise PostError(f"{report} not found: run make report first")
        target = target_from(os.environ)
        post(target, comment_body(report.read_text(encoding="utf-8")))
    except PostError as error:
        print(f"post_report: {error}", file=sys.stderr)
        return 2
    print(f"posted {report} as a comment: {target.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
