"""Emit each inline script once per page.

With Sphinx 7 the thebe extension that jupyter-book always loads registers its inline
configuration (``const THEBE_JS_URL = ...``) twice, and a browser rejects the second
``const`` with "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared" on every
page. Dropping exact repeats of an inline script changes nothing else.
"""
from __future__ import annotations


def drop_repeated_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, kept = set(), []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body")
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app) -> dict:
    app.connect("html-page-context", drop_repeated_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
