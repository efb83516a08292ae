"""Write the HTML template `dvc plots show` and `dvc plots diff` fill, with Vega inlined.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so offline it is blank
without an error. This page carries the three libraries in one `<script>`, bundled by the
pinned `vl-convert-python` (no download), and has no `{scripts}` placeholder, so DVC adds no
CDN tags. `.dvc/config` names it as `plots.html_template`; `make setup` writes it.

    python -m tools.review.plots_page [PATH]      default: .dvc/plots/offline.html
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from stages.core.io import atomic_path

TEMPLATE_PATH = Path(".dvc/plots/offline.html")

# DVC's Vega-Lite templates declare this schema; the bundle uses the newest Vega-Lite of that
# major version so that Vega-Embed has no version mismatch to warn about.
_SCHEMA_MAJOR = re.compile(r"vega-lite/v(\d+)\.json")

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>DVC plots</title>
<!-- Vega {vega}, Vega-Lite {vegalite}, Vega-Embed {embed}, bundled by vl-convert-python {vlc};
     written by python -m tools.review.plots_page: no request leaves this page. -->
<script>
{bundle}
</script>
<script>
// Every plot as SVG (sharp when zoomed, text selectable, marks countable by the page test), and
// each plot's promise kept so that a reader of the page can wait until all are drawn.
window.plotsDrawn = [];
const embedPlot = window.vegaEmbed;
window.vegaEmbed = (element, spec, options) => {{
  const drawn = embedPlot(element, spec, {{ renderer: "svg", ...options }});
  window.plotsDrawn.push(drawn);
  return drawn;
}};
</script>
<style>
  body {{ font-family: sans-serif; margin: 1em 2em; }}
  body > div {{ margin-bottom: 2em; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def dvc_vegalite_major() -> str:
    """The Vega-Lite major version DVC's plot templates are written for, e.g. "5"."""
    source = resources.files("dvc_render").joinpath("vega_templates.py").read_text("utf-8")
    majors = set(_SCHEMA_MAJOR.findall(source))
    if len(majors) != 1:
        raise RuntimeError(f"dvc_render's templates name Vega-Lite majors {sorted(majors)}")
    return majors.pop()


def newest_of_major(versions: list[str], major: str) -> str:
    """The newest "M.m" version string of `major` among `versions` (vl-convert's list)."""
    matching = [v for v in versions if v.lstrip("v").split(".")[0] == major]
    if not matching:
        raise ValueError(f"vl-convert bundles no Vega-Lite {major}.x (it has {versions})")
    return max(matching, key=lambda v: tuple(int(p) for p in v.lstrip("v").split(".")))


def inline_script(code: str) -> str:
    """JavaScript safe inside an inline `<script>`: a literal `</script` would end the tag."""
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)


def render_page() -> str:
    """The template's text: the bundled libraries and DVC's `{plot_divs}` placeholder."""
    import vl_convert

    vegalite = newest_of_major(vl_convert.get_vegalite_versions(), dvc_vegalite_major())
    bundle = vl_convert.javascript_bundle(vl_version=vegalite)
    return PAGE.format(
        vega=vl_convert.get_vega_version(),
        vegalite=vegalite,
        embed=vl_convert.get_vega_embed_version(),
        vlc=version("vl-convert-python"),
        bundle=inline_script(bundle),
    )


def main(argv: list[str] | None = None) -> int:
    """Write the template (atomically) to the path given, or the one `.dvc/config` names."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else TEMPLATE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_text(render_page(), encoding="utf-8")
    print(f"wrote {target} ({target.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
