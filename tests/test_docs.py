"""The documentation's links lead somewhere: every relative Markdown link names a file (and a
heading, when it has an anchor) that exists, and every `docs/<page>.md` a file mentions is there."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO_ROOT
from tools.checks.workspace import tracked_files

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCS_MENTION = re.compile(r"\bdocs/[a-z0-9_-]+\.md\b")
EXTERNAL = ("http://", "https://", "mailto:")


def tracked(suffix: str = "") -> list[Path]:
    """The files Git tracks (or would track) whose names end with `suffix`."""
    return [REPO_ROOT / name for name in tracked_files(REPO_ROOT) if name.endswith(suffix)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (outside code blocks)."""
    found, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def broken_links(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """Each relative link of a Markdown file that leads nowhere (named relative to `root`)."""
    problems = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL):
            continue
        file, _, anchor = target.partition("#")
        destination = (path.parent / file).resolve() if file else path
        if not destination.exists():
            problems.append(f"{path.relative_to(root)}: {target} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{path.relative_to(root)}: {target} (no such heading)")
    return problems


def test_every_relative_link_of_the_docs_resolves() -> None:
    pages = tracked(".md")
    assert len(pages) > 10
    assert [problem for page in pages for problem in broken_links(page)] == []


def test_every_docs_page_a_file_mentions_exists() -> None:
    missing = []
    for path in tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        missing += [
            f"{path.relative_to(REPO_ROOT)}: {page}"
            for page in sorted(set(DOCS_MENTION.findall(text)))
            if not (REPO_ROOT / page).is_file()
        ]
    assert missing == []


def test_the_check_finds_a_broken_link_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "team.md").write_text("# The model registry (GTO, on Git tags)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[a](team.md#no-such) [b](nowhere.md) [c](#title) [d](https://x)\n"
        "[e](team.md#the-model-registry-gto-on-git-tags)\n```\n# not a heading\n```\n"
    )
    assert broken_links(page, tmp_path) == [
        "page.md: team.md#no-such (no such heading)",
        "page.md: nowhere.md (no such file)",
    ]
