"""No credential is tracked by Git, the scan finds one when there is, and the local DVC config
(where `dvc remote modify --local` writes secrets) is ignored by Git."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO_ROOT
from tools.checks.secrets_check import Finding, scan_files, scan_text
from tools.checks.workspace import tracked_files

KEY_ID = "AKIA" + "ABCDEFGHIJKLMNOP"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"


def test_no_credentials_are_tracked() -> None:
    assert scan_files(tracked_files(REPO_ROOT), REPO_ROOT) == []


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (f"[remote]\naccess_key_id = {KEY_ID}\n", "an AWS access key id"),
        (
            f"['remote \"storage\"']\n    secret_access_key = {SECRET}\n",
            "a value for secret_access_key",
        ),
        (f"x: 1\nsecret_access_key: {SECRET}\n", "a value for secret_access_key"),
        (f'{{"a": 1,\n "aws_session_token": "{SECRET}"}}', "a value for aws_session_token"),
        (f"A=1\nGITLAB_PRIVATE_TOKEN={SECRET}\n", "a value for PRIVATE_TOKEN"),
        ("\n-----BEGIN OPENSSH " + "PRIVATE KEY-----\n", "a private key"),
        (f"x\n    password = {SECRET}\n", "a value for password"),
    ],
)
def test_the_scan_finds_each_kind_of_credential_on_its_line(text: str, what: str) -> None:
    assert scan_text("f", text) == [Finding("f", 2, what)]


@pytest.mark.parametrize(
    "text",
    [
        "set secret_access_key with dvc remote modify --local\n",
        "GITHUB_TOKEN: ${{ github.token }}\n",
        "token = _need(env, 'GITHUB_TOKEN', 'pass it')\n",
        "secret_access_key: <your secret>\n",
        'aws_secret_access_key="bootstrap"\n',  # too short to be a real key
        f'TOKEN = "{SECRET}"  # not a secret\n',  # a test's fake, marked as such
    ],
)
def test_what_only_names_a_secret_is_not_one(text: str) -> None:
    assert scan_text("f", text) == []


def test_the_message_names_the_file_line_and_for_dvc_config_the_local_fix() -> None:
    (finding,) = scan_text(".dvc/config", f"[core]\n  secret_access_key = {SECRET}\n")
    assert finding.message() == (
        ".dvc/config:2: holds a value for secret_access_key: set it with `dvc remote modify "
        "--local <remote> <key> <value>` (written to the Git-ignored .dvc/config.local) and "
        "remove it from .dvc/config"
    )
    assert SECRET not in finding.message()


def test_local_dvc_config_is_ignored_by_git() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".dvc/config.local"], cwd=REPO_ROOT, check=False
    )
    assert result.returncode == 0
