"""Refuse credentials in files Git would commit: the pre-commit hook and `make test` both run it.

    python -m tools.checks.secrets_check [FILE ...]  (no FILE: every file Git tracks or would track)

A match prints `<file>:<line>: <what>` and the fix, then exits 1. The usual way a secret gets in is
`dvc remote modify storage secret_access_key ...` without `--local`, which writes it into the
tracked `.dvc/config`; DVC's `--local` keeps it in `.dvc/config.local`, which Git ignores.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.checks.workspace import tracked_files

# Values that are credentials whatever the key is called: AWS access key ids, private keys.
VALUE_PATTERNS = {
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
# Keys DVC remotes (and the usual env and CI files) keep secrets under, assigned a value in an
# INI, YAML, JSON or env file: `key = value`, `key: value`, `"key": "value"`, `KEY=value`.
SECRET_KEYS = (
    "secret_access_key", "aws_secret_access_key", "session_token", "aws_session_token",
    "password", "account_key", "sas_token", "connection_string", "client_secret",
    "gdrive_client_secret", "private_token", "token",
)  # fmt: skip
ASSIGNED = re.compile(
    r"(?i)(?<![A-Za-z0-9])[\"']?(" + "|".join(SECRET_KEYS) + r")[\"']?\s*[:=]\s*[\"']?"
    r"([A-Za-z0-9/+=_.~-]{16,})(?![A-Za-z0-9/+=_.~(-])"
)
# A line a test needs with a fake credential says so at its end.
NOT_A_SECRET = "# not a secret"
# Values that only say where a secret comes from are not secrets.
PLACEHOLDER = re.compile(r"^(\$|\{\{|<|\*+$|x+$|\.\.\.)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One line that holds a credential."""

    file: str
    line: int
    what: str

    def message(self) -> str:
        """`file:line: what`, and how to keep it out of Git."""
        if Path(self.file).as_posix().endswith(".dvc/config"):
            fix = (
                "set it with `dvc remote modify --local <remote> <key> <value>` "
                "(written to the Git-ignored .dvc/config.local) and remove it from .dvc/config"
            )
        else:
            fix = "keep it in the environment or a Git-ignored file, never in a tracked one"
        return f"{self.file}:{self.line}: holds {self.what}: {fix}"


def scan_text(name: str, text: str) -> list[Finding]:
    """The credentials in one file's text."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.rstrip().endswith(NOT_A_SECRET):
            continue
        for what, pattern in VALUE_PATTERNS.items():
            if pattern.search(line):
                findings.append(Finding(name, number, what))
        for match in ASSIGNED.finditer(line):
            if not PLACEHOLDER.match(match.group(2)):
                findings.append(Finding(name, number, f"a value for {match.group(1)}"))
    return findings


def scan_files(names: Iterable[str], root: Path = Path(".")) -> list[Finding]:
    """The credentials in the named files (binary and missing files skipped)."""
    findings = []
    for name in names:
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        findings += scan_text(name, text)
    return findings


def main(argv: list[str] | None = None) -> int:
    """Scan the files named (pre-commit passes the staged ones), else every file Git tracks or
    would track."""
    names = sys.argv[1:] if argv is None else argv
    findings = scan_files(names or tracked_files(Path(".")))
    for finding in findings:
        print(f"secrets: {finding.message()}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
