"""A Sphinx extension that makes the rendered book self-contained (listed in ``_config.yml``).

* **MathJax 3 from the site itself.**  ``mathjax_path`` points into ``_static/mathjax``, filled at the end of
  the build from the PyPI package ``sphinx-mathjax-offline`` (MathJax 3.2.2): the ``tex-chtml`` component,
  its fonts and the TeX extensions it autoloads.  No page asks a CDN for anything.
* **No script errors.**  A script registered twice (sphinx-thebe's configuration is, by Jupyter Book and by
  the theme) is kept once.
* **Vega for the interactive figures.**  ``_static/kexue/vega.js`` is the Vega + Vega-Lite + vega-embed
  bundle that ``vl-convert-python`` builds offline; a page that holds a :class:`kexue.plot.InteractiveFigure`
  (its HTML carries ``data-kexue-figure``) loads it, other pages do not.

Both come from packages installed with ``requirements.txt`` (or kexue's ``sphinx`` extra); nothing is fetched at
build or read time.
"""

from __future__ import annotations

import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from kexue import _optional

MATHJAX_PATH = "mathjax/tex-chtml.js"
VEGA_PATH = "kexue/vega.js"
FIGURE_MARKER = "data-kexue-figure"
#: The parts of MathJax that ``tex-chtml.js`` loads at run time (everything else in the package is skipped).
_MATHJAX_PARTS = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui", "sre")


def mathjax_source() -> Path:
    """The MathJax 3 directory shipped by the ``sphinx-mathjax-offline`` package (``ModuleNotFoundError`` naming
    kexue's ``sphinx`` extra when it is not installed)."""
    try:
        dist = distribution("sphinx-mathjax-offline")
    except PackageNotFoundError as exc:
        raise _optional.missing("sphinx-mathjax-offline", "kexue._sphinx (MathJax served by the book)",
                                "sphinx") from exc
    root = Path(str(dist.locate_file("sphinx-mathjax-offline/static/mathjax")))
    if not (root / "tex-chtml.js").is_file():
        raise FileNotFoundError(f"MathJax's tex-chtml.js is missing from {root}: reinstall sphinx-mathjax-offline")
    return root


def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script that defines ``window.vegaEmbed`` (built by
    vl-convert).  The bundle's top-level names (``_``, ``t``...) are wrapped in a function scope so that they
    cannot collide with the globals of the theme's scripts.  ``ModuleNotFoundError`` naming kexue's ``sphinx``
    extra when vl-convert-python is not installed."""
    vl_convert = _optional.require("vl_convert", "vl-convert-python", "kexue._sphinx (the Vega bundle)", "sphinx")
    return "(function () {\n" + vl_convert.javascript_bundle() + "\n})();\n"


def _copy_assets(app: Any, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    src = mathjax_source()
    for part in _MATHJAX_PARTS:
        s, d = src / part, static / "mathjax" / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        elif s.is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    (static / VEGA_PATH).parent.mkdir(parents=True, exist_ok=True)
    (static / VEGA_PATH).write_text(vega_bundle(), encoding="utf-8")


def _page_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if FIGURE_MARKER in context.get("body", ""):
        app.add_js_file(VEGA_PATH, priority=400)
    # Jupyter Book 1 and sphinx-book-theme both register sphinx-thebe's inline configuration script; twice on a
    # page it redeclares a const and the browser reports a SyntaxError.  Keep the first copy of each script.
    seen, unique = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", {})
        ident = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if ident not in seen:
            seen.add(ident)
            unique.append(js)
    if "script_files" in context:
        context["script_files"][:] = unique


def _config(app: Any, config: Any) -> None:
    config.mathjax_path = MATHJAX_PATH


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _config, priority=900)
    app.connect("html-page-context", _page_scripts, priority=900)  # after sphinx-thebe and the theme
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
