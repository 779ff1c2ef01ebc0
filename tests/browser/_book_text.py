"""The text of a built page's article, read with Python's ``html.parser`` (no browser).

The search tests compare Sphinx's search index with what a page says: the text of the page's
``<article>`` (not the navigation, which names every chapter on every page), split into its
headings (``h1``-``h6``) and its prose (everything else), leaving out what is not prose: code
and outputs (``pre``, ``code``), formulas (``.math``), scripts and styles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NOT_PROSE = frozenset({"pre", "code", "script", "style"})
# Elements that have no end tag: they never open a level of nesting.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass(frozen=True)
class ArticleText:
    """A page's article text: its headings and its prose, each joined with newlines."""

    headings: str
    prose: str


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, whether it starts a skipped region)
        self.article_depth = 0  # > 0 inside <article>
        self.skip_depth = 0  # > 0 inside code, a formula, a script...
        self.heading_depth = 0
        self.headings: list[str] = []
        self.prose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skipped = tag in _NOT_PROSE or "math" in classes
        self.stack.append((tag, skipped))
        self.article_depth += tag == "article"
        self.skip_depth += skipped
        self.heading_depth += tag in _HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Pop to the matching start tag (browsers' leniency: unclosed <p>, <li>...).
        while self.stack:
            open_tag, skipped = self.stack.pop()
            self.article_depth -= open_tag == "article"
            self.skip_depth -= skipped
            self.heading_depth -= open_tag in _HEADINGS
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.article_depth > 0 and self.skip_depth == 0:
            (self.headings if self.heading_depth > 0 else self.prose).append(data)


@functools.cache
def article_text(html_file: Path) -> ArticleText:
    """The headings and prose of a built page's ``<article>`` (cached per file)."""
    parser = _ArticleParser()
    parser.feed(html_file.read_text(encoding="utf-8"))
    parser.close()
    return ArticleText(headings="\n".join(parser.headings), prose="\n".join(parser.prose))
