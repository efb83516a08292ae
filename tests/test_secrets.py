"""Nothing resembling a credential is tracked by Git, and the local DVC config never can be."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO_ROOT

# AWS access key ids, and a secret key assigned a value in an INI, YAML, JSON or env file.
CREDENTIAL_PATTERNS = [
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"(?i)secret_access_key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{16,}"),
    re.compile(r"(?i)aws_session_token[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{16,}"),
]


def tracked_text_files() -> dict[str, str]:
    """Every file Git tracks, with its text (binary files left out)."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    texts = {}
    for name in filter(None, names):
        path = REPO_ROOT / name
        if path.is_file():
            try:
                texts[name] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return texts


def find_credentials(texts: dict[str, str]) -> list[str]:
    """``file:line`` of each line that matches a credential pattern."""
    return [
        f"{name}:{number}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), start=1)
        if any(pattern.search(line) for pattern in CREDENTIAL_PATTERNS)
    ]


def test_no_credentials_are_tracked() -> None:
    assert find_credentials(tracked_text_files()) == []


def test_the_scan_finds_credentials_when_there_are_some() -> None:
    key_id = "AKIA" + "ABCDEFGHIJKLMNOP"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    texts = {
        "a.ini": f"[remote]\naccess_key_id = {key_id}\n",
        "b.yaml": f"x: 1\nsecret_access_key: {secret}\n",
        "c.md": "set secret_access_key with dvc remote modify --local\n",
    }
    assert find_credentials(texts) == ["a.ini:2", "b.yaml:2"]


def test_local_dvc_config_is_ignored_by_git() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".dvc/config.local"], cwd=REPO_ROOT, check=False
    )
    assert result.returncode == 0
