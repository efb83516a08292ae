"""`dvc plots show` and `dvc plots diff` pages opened in a real headless Chromium with the network
off: every plot declared in dvc.yaml's top-level `plots:` is drawn with marks, a title and axis
labels, nothing else is, no request leaves the page and the console shows no error; no two axis
labels overlap and curves of different splits have different colours."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import Repo, in_grams, make_measurements, unused_name
from tests.pipeline.browser import SCREENSHOTS, open_offline
from tools.review.report import declared_plots

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

# For each plot: the pairs of visible axis labels whose boxes overlap, and each legend's entries
# (label, symbol colour and dash). Vega hides the labels it thins out with opacity 0.
LEGIBILITY = """
Promise.all(window.plotsDrawn).then(() =>
  Array.from(document.querySelectorAll("body > div[id]")).map((plot) => {
    const overlaps = [];
    plot.querySelectorAll("g.role-axis").forEach((axis) => {
      const labels = Array.from(axis.querySelectorAll("g.role-axis-label text"))
        .filter((t) => getComputedStyle(t).opacity !== "0" && t.getAttribute("opacity") !== "0")
        .map((t) => [t.textContent, t.getBoundingClientRect()]);
      labels.forEach(([a, ra], i) => labels.slice(i + 1).forEach(([b, rb]) => {
        if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom)
          overlaps.push(`${a} | ${b}`);
      }));
    });
    const legends = Array.from(plot.querySelectorAll("g.role-legend"), (legend) => {
      const labels = Array.from(legend.querySelectorAll("g.role-legend-label text"), (t) => t.textContent);
      return Array.from(legend.querySelectorAll("g.role-legend-symbol path"), (symbol, i) => ({
        label: labels[i],
        colour: symbol.getAttribute("stroke") === "transparent" || !symbol.getAttribute("stroke")
          ? symbol.getAttribute("fill") : symbol.getAttribute("stroke"),
      }));
    });
    return { id: plot.id, overlaps, legends };
  })
)
"""

SHOW_AND_DIFF = pytest.mark.parametrize(
    ("command", "revisions"),
    [(["show"], ["workspace"]), (["diff", "HEAD~1"], ["workspace", "HEAD~1"])],
    ids=["show", "diff"],
)


# Two projects a new user adds with make project: their plots are checked like every other.
CLASSIFIER, REGRESSOR = unused_name("plants"), unused_name("weights")


@pytest.fixture(scope="module")
def plots_repo(
    reproduced: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> Repo:
    """A copy of the reproduced repository with the offline page written as `make setup` does, a
    classification and a regression project added with make project on their own CSVs, and one
    more commit (a change to each, reproduced), so HEAD~1 has plot data to diff against."""
    folder = tmp_path_factory.mktemp("plots")
    repo = Repo(folder / "repo")
    shutil.copytree(reproduced[0], repo.root, symlinks=True)
    repo.run("python", "-m", "tools.review.plots_page")
    for name, target, frame in (
        (CLASSIFIER, "species", make_measurements(300)),
        (REGRESSOR, "grams", in_grams(make_measurements(300, seed=1))),
    ):
        frame.to_csv(folder / f"{name}.csv", index=False)
        repo.run(
            sys.executable, "-m", "tools.scaffold.new_project", name,
            f"--data={folder / name}.csv", f"--target={target}",
        )  # fmt: skip
    repo.commit("two projects of a team's own")
    repo.repro()
    repo.commit("reproduced")
    repo.set_params(
        {"daily.train": {"model": "ridge"}, f"{CLASSIFIER}.train": {"C": 0.05},
         f"{REGRESSOR}.train": {"alpha": 30.0}}
    )  # fmt: skip
    repo.repro()
    repo.commit("daily: ridge; the new projects' regularisation")
    return repo


@SHOW_AND_DIFF
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


def split_folders(definition: dict) -> set[str]:
    """The folders (the splits: valid, test) of the files a plot draws, when there are several."""
    files = definition["y"] if isinstance(definition["y"], dict) else {}
    return {Path(name).parent.name for name in files} if len(files) > 1 else set()


def test_split_folders_of_a_plot() -> None:
    roc = {"y": {"m/plots/valid/roc.json": "tpr", "m/plots/test/roc.json": "tpr"}}
    assert split_folders(roc) == {"valid", "test"}
    assert split_folders({"y": {"m/drift.json": "feature"}}) == set()
    assert split_folders({"y": "tpr"}) == set()


@SHOW_AND_DIFF
def test_labels_never_overlap_and_splits_have_their_own_colour(
    plots_repo: Repo, browser: object, command: list[str], revisions: list[str]
) -> None:
    """At the browser test's window size (1100 x 900): the 46 feature names of the importance and
    drift bars are all legible, and valid and test curves are told apart by colour, in a show
    and in a diff of two revisions."""
    output = f"plots-legible-{command[0]}"
    plots_repo.run("dvc", "plots", *command, "-o", output)
    page, _ = open_offline(browser, plots_repo.root / output / "index.html")
    declared = declared_plots(plots_repo.root)
    for plot in page.evaluate(LEGIBILITY):
        assert plot["overlaps"] == [], (
            f"{plot['id']}: overlapping axis labels {plot['overlaps'][:3]}"
        )
        splits = split_folders(declared[plot["id"]])
        if splits:
            entries = [entry for legend in plot["legends"] for entry in legend]
            colours = {
                entry["label"]: entry["colour"] for entry in entries if entry["label"] in splits
            }
            assert set(colours) == splits, f"{plot['id']}: legend {entries} names no split"
            assert len(set(colours.values())) == len(splits), f"{plot['id']}: {colours}"
            assert set(revisions) <= {entry["label"] for entry in entries}, plot["id"]


def test_the_page_has_no_cdn_script(plots_repo: Repo) -> None:
    plots_repo.run("dvc", "plots", "show", "-o", "plots-cdn")
    page = (plots_repo.root / "plots-cdn" / "index.html").read_text()
    assert "<script src=" not in page.replace(" ", "")
    assert "cdn.jsdelivr.net" not in page


# Each bar of a horizontal bar chart (its width) and its label on the y axis, by plot.
BARS = """
Promise.all(window.plotsDrawn).then(() =>
  Array.from(document.querySelectorAll("body > div[id]")).map((plot) => ({
    id: plot.id,
    widths: Array.from(plot.querySelectorAll("g.role-mark path"), (bar) => bar.getBBox().width),
  }))
)
"""


def test_a_confusion_matrix_draws_each_cell_as_long_as_its_count(
    plots_repo: Repo, browser: object
) -> None:
    """The scaffold's confusion plot (and late's): one bar per cell, widths in the proportions
    of the counts, an empty cell drawn empty; not every cell at 1."""
    plots_repo.run("dvc", "plots", "show", "-o", "plots-bars")
    page, _ = open_offline(browser, plots_repo.root / "plots-bars" / "index.html")
    drawn = {plot["id"]: plot["widths"] for plot in page.evaluate(BARS)}
    declared = declared_plots(plots_repo.root)
    confusion = [name for name in declared if "confusion" in name]
    assert f"{CLASSIFIER}-confusion" in confusion and "late-confusion_test" in confusion
    for name in confusion:
        [file] = declared[name]["y"]
        counts = sorted(cell["count"] for cell in json.loads((plots_repo.root / file).read_text()))
        widths = sorted(drawn[name])
        assert len(widths) == len(counts), name
        scale = widths[-1] / counts[-1]
        for width, count in zip(widths, counts, strict=True):
            assert width == pytest.approx(count * scale, abs=0.5), (name, widths, counts)
        assert len(set(counts)) > 1  # the data itself is not the one-per-cell it was drawn as
