"""`dvc plots show` and `dvc plots diff` pages opened in a real headless Chromium with the network
off: every plot declared in dvc.yaml's top-level `plots:` is drawn with marks, a title and axis
labels, nothing else is, no request leaves the page and the console shows no error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.pipeline.browser import SCREENSHOTS, open_offline
from tools.report import declared_plots

# One worker runs the module: its tests share one module fixture and run in order.
pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("plots_browser")]

# Waits for every plot (the page keeps their promises), then reads each plot's SVG.
DRAWN_PLOTS = """
Promise.all(window.plotsDrawn).then(() =>
  Array.from(document.querySelectorAll("body > div[id]")).map((plot) => ({
    id: plot.id,
    marks: plot.querySelectorAll("g.role-mark > *").length,
    title: Array.from(plot.querySelectorAll("g.role-title-text text"), (t) => t.textContent).join(" "),
    axes: Array.from(plot.querySelectorAll("g.role-axis-title text"), (t) => t.textContent),
    legend: Array.from(plot.querySelectorAll("g.role-legend text"), (t) => t.textContent),
  }))
)
"""


@pytest.fixture(scope="module")
def plots_repo(
    reproduced: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> Repo:
    """A copy of the reproduced repository with the offline page written as `make setup` does,
    and one more commit (a `daily` change, reproduced), so HEAD~1 has plot data to diff against."""
    repo = Repo(tmp_path_factory.mktemp("plots") / "repo")
    shutil.copytree(reproduced[0], repo.root, symlinks=True)
    repo.run("python", "-m", "tools.plots_page")
    repo.set_params({"daily.train": {"model": "ridge"}})
    repo.repro()
    repo.commit("daily: ridge")
    return repo


@pytest.mark.parametrize(
    ("command", "revisions"),
    [(["show"], ["workspace"]), (["diff", "HEAD~1"], ["workspace", "HEAD~1"])],
    ids=["show", "diff"],
)
def test_every_declared_plot_renders_offline_and_nothing_else(
    plots_repo: Repo, browser: object, command: list[str], revisions: list[str]
) -> None:
    output = f"plots-{command[0]}"
    plots_repo.run("dvc", "plots", *command, "-o", output)
    page, visit = open_offline(browser, plots_repo.root / output / "index.html")
    drawn = page.evaluate(DRAWN_PLOTS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{output}.png", full_page=True)

    declared = declared_plots(plots_repo.root)
    assert [plot["id"] for plot in drawn] == list(declared)
    for plot in drawn:
        spec = declared[plot["id"]]
        assert plot["marks"] > 0, f"{plot['id']} drew no marks"
        assert plot["title"] == spec["title"]
        assert plot["axes"] == [spec["x_label"], spec["y_label"]]
        assert set(revisions) <= set(plot["legend"]), plot["id"]
    assert visit.outside_requests == []
    assert visit.errors == []


def test_the_page_has_no_cdn_script(plots_repo: Repo) -> None:
    plots_repo.run("dvc", "plots", "show", "-o", "plots-cdn")
    page = (plots_repo.root / "plots-cdn" / "index.html").read_text()
    assert "<script src=" not in page.replace(" ", "")
    assert "cdn.jsdelivr.net" not in page
