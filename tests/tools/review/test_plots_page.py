"""The offline plots page: the pure helpers of tools/review/plots_page.py (the page itself is opened in a
real browser by tests/pipeline/test_plots_browser.py)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tools.review.plots_page import (
    TEMPLATE_PATH,
    dvc_vegalite_major,
    inline_script,
    newest_of_major,
)


def test_newest_of_major_compares_numbers_not_strings() -> None:
    versions = ["4.17", "5.8", "5.21", "5.9", "6.1"]
    assert newest_of_major(versions, "5") == "5.21"
    assert newest_of_major(["v5.2", "v5.10"], "5") == "v5.10"


def test_newest_of_major_names_what_is_bundled_when_the_major_is_missing() -> None:
    with pytest.raises(ValueError, match=r"no Vega-Lite 7\.x .*'5\.21'"):
        newest_of_major(["5.21", "6.1"], "7")


def test_a_closing_script_tag_in_the_bundle_cannot_end_the_inline_script() -> None:
    assert (
        inline_script('a = "</script>"; b = "</SCRIPT >"')
        == 'a = "<\\/script>"; b = "<\\/SCRIPT >"'
    )
    assert inline_script("x < y && y </ z") == "x < y && y </ z"


def test_dvc_templates_declare_one_vega_lite_major() -> None:
    assert dvc_vegalite_major().isdigit()


def test_dvc_config_names_the_page_make_setup_writes() -> None:
    config = (REPO_ROOT / ".dvc" / "config").read_text()
    relative = TEMPLATE_PATH.relative_to(".dvc").as_posix()
    assert f"html_template = {relative}" in config
