"""The book's search page, offline: a Chinese and an English term each find their chapter.

Sphinx's search runs in the page from the prebuilt index (``searchindex.js``): nothing is
asked of a server, so it must work from ``file://`` with the network off. The expected pages
are the chapters that teach each term (their titles and the course outline say so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

pytestmark = pytest.mark.browser

# term -> the page that teaches it (the first result must be that page).
EXPECTED = {
    "反向传播": "book/02_feedforward/03_backprop.html",
    "im2col": "book/04_cnn/01_convolution.html",
}


def search(browser: Any, book_html: Path, term: str) -> tuple[list[str], list[str]]:
    """The result pages of ``term`` in display order, and the outside requests made."""
    outside: list[str] = []
    context = browser.new_context(offline=True)
    try:

        def block(route: Any) -> None:
            outside.append(route.request.url)
            route.abort()

        context.route("http*://**", block)
        page = context.new_page()
        page.goto((book_html / "search.html").as_uri() + "?q=" + quote(term))
        # Sphinx writes the status line only when the search has finished (`Search` is a
        # top-level const of searchtools.js, not a property of window).
        page.wait_for_function(
            "() => typeof Search !== 'undefined' && !!Search.status"
            " && Search.status.innerText.length > 0",
            timeout=120000,
        )
        hrefs = page.eval_on_selector_all(
            "#search-results ul.search > li > a:first-of-type", "links => links.map(a => a.href)"
        )
    finally:
        context.close()
    root = book_html.resolve().as_posix()
    pages = [unquote(urlsplit(h).path).removeprefix(root + "/") for h in hrefs]
    return pages, outside


@pytest.mark.parametrize("term", sorted(EXPECTED))
def test_search_finds_the_chapter(term: str, browser: Any, book_html: Path) -> None:
    pages, outside = search(browser, book_html, term)
    assert outside == []
    assert pages, f"searching {term!r} found nothing"
    assert pages[0] == EXPECTED[term], f"searching {term!r}: first results {pages[:5]}"


def test_chinese_prose_is_indexed(browser: Any, book_html: Path) -> None:
    """链式法则 (the chain rule) is in no page title: only an index of the Chinese prose finds
    it (Sphinx segments Chinese with jieba; without it no Chinese word is indexed at all)."""
    pages, _ = search(browser, book_html, "链式法则")
    assert "book/02_feedforward/03_backprop.html" in pages, pages


def test_search_of_an_absent_word_finds_nothing(browser: Any, book_html: Path) -> None:
    pages, _ = search(browser, book_html, "zyxwvutsrq")
    assert pages == []
