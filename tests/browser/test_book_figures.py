"""Every figure a notebook cell draws is a numbered figure with a caption on the built page.

The sources promise it (``tests/test_page_structure.py``: a drawing cell carries
``{"mystnb": {"figure": {"caption": ...}}}``); this checks what the reader gets. Each image a
cell outputs (``_images/<sha256>.png``) must sit in a ``<figure>`` whose ``<figcaption>`` holds
the number Sphinx gives it (图 N.M) and a Chinese caption, and a figure holds exactly one image.
Read with ``html.parser`` from the build, no browser needed (a second or two).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _book_browser import HAN, book_pages

pytestmark = pytest.mark.browser  # needs the built book, runs in the same CI step

OUTPUT_IMAGE = re.compile(r"_images/[0-9a-f]{64}\.(?:png|jpg|svg)")


class _Figures(HTMLParser):
    """Cell-output images, each with the caption text of the figure around it (or None)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[dict] = []  # open and closed <figure>s: images, caption text
        self.stack: list[dict] = []
        self.in_caption = 0
        self.loose: list[str] = []  # output images outside any figure

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "figure":
            self.stack.append({"images": [], "caption": ""})
        elif tag == "figcaption":
            self.in_caption += 1
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            if OUTPUT_IMAGE.search(src):
                (self.stack[-1]["images"] if self.stack else self.loose).append(src)

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure" and self.stack:
            self.figures.append(self.stack.pop())
        elif tag == "figcaption":
            self.in_caption -= 1

    def handle_data(self, data: str) -> None:
        if self.in_caption and self.stack:
            self.stack[-1]["caption"] += data


def figure_problems(html: str) -> list[str]:
    parser = _Figures()
    parser.feed(html)
    problems = [f"{src}: not in a <figure>" for src in parser.loose]
    for figure in parser.figures:
        if not figure["images"]:
            continue
        first = figure["images"][0]
        if len(figure["images"]) > 1:
            problems.append(f"{first}: one <figure> holds {len(figure['images'])} images")
        caption = figure["caption"].strip()
        if not re.match(r"图\s*\d+(\.\d+)*", caption):
            problems.append(f"{first}: caption {caption[:40]!r} has no figure number")
        if len(HAN.findall(caption)) < 6:
            problems.append(f"{first}: caption {caption[:40]!r} is not a Chinese sentence")
    return problems


def test_figure_rules_catch_missing_and_shared_captions() -> None:
    img = '<img alt="x" src="../_images/' + "a" * 64 + '.png" />'
    caption = (
        "<figcaption><p><span>图 1.1 </span><span>训练损失随轮数下降的曲线</span></p></figcaption>"
    )
    good = f"<figure>{img}{caption}</figure>"
    assert figure_problems(good) == []
    assert figure_problems(f"<div>{img}</div>") != []  # no figure
    assert figure_problems(good.replace("图 1.1 ", "")) != []  # no number
    assert figure_problems(good.replace("训练损失随轮数下降的曲线", "loss")) != []
    assert figure_problems(good.replace(img, img + img)) != []  # two images share a caption


def test_every_cell_figure_has_a_numbered_caption(book_html: Path) -> None:
    pages = book_pages(book_html)
    problems = {
        page: found
        for page in pages
        if (found := figure_problems((book_html / page).read_text(encoding="utf-8")))
    }
    counted = sum(
        len(OUTPUT_IMAGE.findall((book_html / page).read_text(encoding="utf-8"))) for page in pages
    )
    assert counted > 50, f"only {counted} cell figures found in the build"
    assert problems == {}
