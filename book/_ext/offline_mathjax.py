"""Serve MathJax from the built site instead of a CDN, so math renders with no internet.

The files come from the PyPI package ``django-static-mathjax`` (MathJax's own release files;
Django is not needed). After a successful HTML build this extension copies the browser
bundle that ``mathjax_path`` names, plus the parts it loads on demand (TeX extensions,
CHTML fonts, menu, accessibility), into ``_static/mathjax/``. ``_config.yml`` sets
``mathjax_path: mathjax/tex-mml-chtml.js``, which Sphinx resolves inside ``_static/``.

Sphinx >= 4 configures MathJax 3 through ``mathjax3_config``; the build stops if the
packaged MathJax is not version 3, or if ``mathjax_path`` names a file it does not ship.
"""
from __future__ import annotations

import json
import pathlib
import shutil

import mathjax  # the django-static-mathjax package
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PACKAGE = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax"
BUNDLES = PACKAGE / "es5"
# Loaded on demand by the tex-mml-chtml bundle: \require'd and autoloaded TeX packages,
# fonts, the context menu and its accessibility options. The SVG output and the other
# combined bundles are never loaded, so they are not copied.
ON_DEMAND = ("input", "output/chtml", "ui", "a11y", "sre")
PREFIX = "mathjax/"


def mathjax_version() -> str:
    return json.loads((PACKAGE / "package.json").read_text())["version"]


def check_config(app: Sphinx, config) -> None:
    if not mathjax_version().startswith("3."):
        raise ExtensionError(f"offline_mathjax: the packaged MathJax is {mathjax_version()}; "
                             "Sphinx's mathjax3_config needs MathJax 3")
    path = config.mathjax_path
    if not path.startswith(PREFIX) or not (BUNDLES / path[len(PREFIX):]).is_file():
        shipped = sorted(p.name for p in BUNDLES.glob("*.js"))
        raise ExtensionError(f"offline_mathjax: mathjax_path is {path!r}; set it to "
                             f"'{PREFIX}<bundle>' with a bundle from {shipped}")


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / "mathjax"
    bundle = app.config.mathjax_path[len(PREFIX):]
    (target / bundle).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUNDLES / bundle, target / bundle)
    for part in ON_DEMAND:
        shutil.copytree(BUNDLES / part, target / part, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", check_config)
    app.connect("build-finished", copy_mathjax)
    return {"version": mathjax_version(), "parallel_read_safe": True, "parallel_write_safe": True}
