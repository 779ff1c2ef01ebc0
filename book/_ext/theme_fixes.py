"""Each inline script once per page (a local Sphinx extension, ``_config.yml``).

jupyter-book 1.0.4 with sphinx-thebe 0.3.1 and sphinx-togglebutton registers the same inline
scripts twice (``app.add_js_file(None, body=...)`` puts one copy in the builder with the file
name ``""`` and one in the registry with ``None``; Sphinx's own de-duplication compares the
names, so it keeps both). A page then runs ``const THEBE_JS_URL = ...`` twice, and the
second one throws ``Identifier 'THEBE_JS_URL' has already been declared`` in every reader's
console. On ``html-page-context`` (late, after the extensions that add scripts to a page) the
page's ``script_files`` keep the first copy of each script in loading order, compared by file
name (``None`` and ``""`` alike) and attributes (the inline body is one), not priority.

The other theme error a reader used to meet, pydata-sphinx-theme's ``Got invalid theme mode:
.`` on a first visit, is configuration, not code: ``html_context: {default_mode: auto}`` in
``_config.yml`` (the theme reads ``default_mode`` from the page context and writes it where
its script looks when no mode is stored yet).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _identity(script: Any) -> tuple[Any, ...]:
    """What makes two scripts the same script: file name and attributes, not priority."""
    attributes = getattr(script, "attributes", None)
    if attributes is None:  # a plain string (a file name)
        return (str(script),)
    # Sphinx keeps an inline script's file name as None or "" depending on how it was added.
    filename = script.filename or ""
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """``scripts`` in Sphinx's loading order (by priority), each one only the first time."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for script in sorted(scripts, key=lambda s: getattr(s, "priority", 500)):
        key = _identity(script)
        if key not in seen:
            seen.add(key)
            out.append(script)
    return out


def dedupe_page_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """``html-page-context``: drop the repeated scripts from the page's ``script_files``."""
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        context["script_files"] = unique_scripts(scripts)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", dedupe_page_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
