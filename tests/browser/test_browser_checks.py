"""The page checks can fail: a page made with every fault the book tests look for is caught.

A test that never fails proves nothing; this page has an outside script, a console error, an
uncaught exception, raw TeX in the prose, a formula MathJax never saw, an image that does not
load and one whose alt text is its file name. It needs Chromium but not the book.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from _book_browser import (
    HAN,
    PageReport,
    broken_images,
    cjk_glyphs_drawn,
    undescribed_images,
    visit,
)

pytestmark = pytest.mark.browser

# A 1×1 PNG (written out by hand: signature, IHDR, IDAT, IEND).
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/"
    "q8tHRQAAAABJRU5ErkJggg=="
)

_FAULTY = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<script src="https://cdn.example.org/mathjax/tex-chtml.js"></script></head>
<body>
<h1>反向传播</h1>
<p>Raw display math $$x^2$$, an inline $a_b$ and \\(y\\) left as text.</p>
<p><span class="math notranslate nohighlight">\\(z\\)</span></p>
<pre>prices in code are fine: $5 and $6, \\(regex\\)</pre>
<img src="missing.png" alt="a picture that is not there">
<img src="dot.png" alt="dot.png">
<img src="dot.png" alt="one black dot">
<script>console.error("boom"); notDefinedAnywhere();</script>
</body></html>
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> PageReport:
    folder = tmp_path_factory.mktemp("faulty")
    (folder / "dot.png").write_bytes(_PNG)
    page = folder / "page.html"
    page.write_text(_FAULTY, encoding="utf-8")
    return visit(browser, page, timeout_ms=10000)


def test_outside_request_is_blocked_and_recorded(faulty: PageReport) -> None:
    assert faulty.external_requests == ["https://cdn.example.org/mathjax/tex-chtml.js"]


def test_console_error_and_uncaught_exception_are_recorded(faulty: PageReport) -> None:
    text = "\n".join(faulty.console_errors)
    assert "boom" in text
    assert "notDefinedAnywhere" in text


def test_formula_not_typeset_is_found(faulty: PageReport) -> None:
    assert not faulty.mathjax_loaded
    assert faulty.math_in_source == 1
    assert faulty.math_typeset == 0
    assert faulty.math_untypeset == ["\\(z\\)"]


def test_raw_tex_in_prose_is_found_but_not_in_code(faulty: PageReport) -> None:
    found = " | ".join(faulty.raw_math_text)
    for raw in ("$$x^2$$", "$a_b$", "\\(y\\)", "\\(z\\)"):
        assert raw in found
    assert "regex" not in found and "$5" not in found


def test_broken_and_undescribed_images_are_found(faulty: PageReport) -> None:
    assert broken_images(faulty) == ["missing.png"]
    assert undescribed_images(faulty) == ["dot.png (alt='dot.png')"]


def test_chinese_heading_is_probed_and_drawn_in_a_cjk_font(faulty: PageReport) -> None:
    assert faulty.cjk_text == "反向传播"
    assert cjk_glyphs_drawn(faulty) >= len(HAN.findall(faulty.cjk_text)) == 4


def test_latin_fallback_font_does_not_count_as_cjk() -> None:
    report = PageReport(url="x", cjk_text="反向传播")
    report.cjk_fonts = [{"familyName": "DejaVu Sans", "glyphCount": 4, "isCustomFont": False}]
    assert cjk_glyphs_drawn(report) == 0


def test_page_list_skips_assets(tmp_path: Path) -> None:
    from _book_browser import book_pages

    for name in ("index.html", "book/a.html", "_static/x.html", "_sources/b.html"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<p></p>", encoding="utf-8")
    assert book_pages(tmp_path) == ["book/a.html", "index.html"]
