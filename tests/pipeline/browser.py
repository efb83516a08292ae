"""A real headless Chromium (Debian's package) driven by Playwright, with the network off: what
the plots tests open pages in. Playwright's own browser download cannot work offline."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

INSTALL_SCRIPT = REPO_ROOT / ".ci" / "install-chromium"
# Where the tests keep their screenshots (ignored by Git; CI uploads them as artifacts).
SCREENSHOTS = REPO_ROOT / "reports" / "screenshots"


# Debian's package, Ubuntu's, then Google Chrome (on GitHub's runners): the same engine.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The first Chromium on PATH."""
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def chromium_executable() -> str:
    """A Chromium, Debian's installed by .ci/install-chromium when none is found (one test
    worker at a time)."""
    with open("/tmp/install-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not find_chromium():
            result = subprocess.run(
                ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                pytest.fail(f"cannot install chromium: {result.stderr.strip()}")
    found = find_chromium()
    assert found, "chromium installed but not on PATH"
    return found


@dataclass
class PageVisit:
    """What one page did in the browser: requests that tried to leave it, console errors."""

    outside_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the module's tests."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


def open_offline(browser: object, page_file: Path) -> tuple[object, PageVisit]:
    """Open ``page_file`` with the network disabled; every request to anything but a local file is
    recorded and refused. Returns the page and what it did."""
    visit = PageVisit()
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})

    def only_local(route: object) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            visit.outside_requests.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.goto(page_file.resolve().as_uri())
    return page, visit
