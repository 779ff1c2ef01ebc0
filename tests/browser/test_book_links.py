"""Every link inside the built book leads somewhere: the file exists, and so does the #anchor.

Sphinx's link checker (``make linkcheck``) checks that a local link's file exists, not its
``#fragment``; cross-references are checked by the nitpicky ``-W`` build. This test reads every
HTML page of the build with Python's ``html.parser`` (no browser, a few seconds): each ``href``
and ``src`` that points inside the book (no scheme, not ``//host``) must resolve to a file under
the HTML folder, and a ``page.html#id`` (or ``#id`` on the same page) must name an ``id`` (or
an ``<a name>``) of that page. Links to other sites are not followed (offline).
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser  # needs the built book, runs in the same CI step

_LINK_ATTRIBUTES = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
}


class _LinksAndIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.ids.add(values[name] or "")
        wanted = _LINK_ATTRIBUTES.get(tag)
        if wanted and values.get(wanted) is not None:
            self.links.append(values[wanted] or "")


@functools.cache
def _parse(page: Path) -> _LinksAndIds:
    parser = _LinksAndIds()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def broken_links(html_root: Path, page: Path) -> list[str]:
    """The links of ``page`` that point inside the book and lead nowhere, with the reason."""
    root = html_root.resolve()
    problems = []
    for link in _parse(page).links:
        parts = urlsplit(link)
        if parts.scheme or link.startswith("//"):
            continue  # another site, mailto:, data:, javascript:
        fragment = unquote(parts.fragment)
        if not parts.path:
            target = page
        else:
            target = (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
        if not target.is_relative_to(root):
            problems.append(f"{link} (outside the built book: {target})")
        elif not target.is_file():
            problems.append(f"{link} (no file {target.relative_to(root)})")
        elif fragment and target.suffix == ".html" and fragment not in _parse(target).ids:
            problems.append(f"{link} (no id {fragment!r} in {target.relative_to(root)})")
    return problems


def test_every_local_link_and_anchor_resolves(book_html: Path) -> None:
    pages = sorted(p for p in book_html.rglob("*.html") if "_static" not in p.parts)
    assert len(pages) > 10, f"only {len(pages)} pages under {book_html}"
    broken = {
        page.relative_to(book_html).as_posix(): problems
        for page in pages
        if (problems := broken_links(book_html, page))
    }
    assert broken == {}
