"""The book's search page, offline: a Chinese and an English term each find their chapter.

Sphinx's search runs in the page from the prebuilt index (``searchindex.js``): nothing is
asked of a server, so it must work from ``file://`` with the network off. The expected pages
are the chapters that teach each term (their titles and the course outline say so).

A Chinese term must be found as a *word* of the index, not only because it is part of a page
title (Sphinx's search also matches titles by substring, which finds 反向传播 even when jieba
splits it into 反向 + 传播). Which pages say a term in their prose, and not in any of their
headings, is read here from the built HTML with ``html.parser`` (``_book_text.py``); those
pages can only be found through the body text, so the search must list them, and the index
must hold the term as a word for them. The course's terms are kept whole by the book's jieba
dictionary (book/_ext/search_dict.txt, loaded by book/_ext/search_terms.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from _book_text import article_text

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


# The dictionary of course terms the index must keep whole (book/_ext/search_dict.txt).
DICTIONARY = Path(__file__).resolve().parents[2] / "book" / "_ext" / "search_dict.txt"


def load_index(book_html: Path) -> dict[str, Any]:
    """``searchindex.js`` as data (the file is ``Search.setIndex({...})``)."""
    text = (book_html / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def indexed_pages(index: dict[str, Any], word: str) -> set[str]:
    """The pages for which ``word`` is a word of the index (in the body or in a heading)."""
    pages: set[str] = set()
    for mapping in (index["terms"], index["titleterms"]):
        found = mapping.get(word, [])
        pages.update(index["docnames"][i] for i in (found if isinstance(found, list) else [found]))
    return {f"{p}.html" for p in pages}


def pages_saying(book_html: Path, word: str) -> tuple[set[str], set[str]]:
    """The pages whose prose says ``word``, and those of them with ``word`` in no heading."""
    prose, body_only = set(), set()
    root = book_html.resolve()
    for html in sorted((root / "book").rglob("*.html")):
        text = article_text(html)
        if word in text.prose:
            name = html.relative_to(root).as_posix()
            prose.add(name)
            if word not in text.headings:
                body_only.add(name)
    return prose, body_only


def test_backprop_found_through_the_body_text(browser: Any, book_html: Path) -> None:
    """反向传播 is a word of the index for its chapter, and the search lists the pages that say
    it only in their prose (no heading of theirs has it), so no title match can pass for it."""
    word = "反向传播"
    _, body_only = pages_saying(book_html, word)
    assert "book/02_feedforward/04_autodiff.html" in body_only, sorted(body_only)
    index = load_index(book_html)
    assert EXPECTED[word] in indexed_pages(index, word)
    assert body_only <= indexed_pages(index, word), sorted(body_only - indexed_pages(index, word))
    pages, _ = search(browser, book_html, word)
    assert pages[0] == EXPECTED[word]
    assert body_only <= set(pages), f"not found by their text: {sorted(body_only - set(pages))}"


def test_course_terms_are_words_of_the_index(book_html: Path) -> None:
    """Every course term of the dictionary that a page's prose says is a word of the index for
    that page (without the dictionary jieba splits most of them: 梯度下降 -> 梯度 + 下降)."""
    terms = [line.split()[0] for line in DICTIONARY.read_text("utf-8").splitlines() if line.strip()]
    assert len(terms) >= 50 and "反向传播" in terms
    index = load_index(book_html)
    missing, checked = {}, 0
    for term in terms:
        prose, _ = pages_saying(book_html, term)
        checked += bool(prose)
        lost = prose - indexed_pages(index, term)
        if lost:
            missing[term] = sorted(lost)
    assert checked >= 40, f"only {checked} dictionary terms appear in the book's prose"
    assert missing == {}


def test_chinese_prose_is_indexed(browser: Any, book_html: Path) -> None:
    """链式法则 (the chain rule) is in no page title: only an index of the Chinese prose finds
    it (Sphinx segments Chinese with jieba; without it no Chinese word is indexed at all)."""
    pages, _ = search(browser, book_html, "链式法则")
    assert "book/02_feedforward/03_backprop.html" in pages, pages


def test_search_of_an_absent_word_finds_nothing(browser: Any, book_html: Path) -> None:
    pages, _ = search(browser, book_html, "zyxwvutsrq")
    assert pages == []
