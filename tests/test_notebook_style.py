"""The book's notebooks as a reader meets them, checked without building or executing them.

Two rules of issue 16 that a browser would find only after a full build:

* every figure a code cell draws has alt text: the cell's metadata carries
  ``{"mystnb": {"image": {"alt": "<a Chinese sentence>"}}}``, which myst-nb puts on each image
  the cell outputs (without it the alt is the image's file path); the browser suite
  (tests/browser/test_book_pages.py) checks the rendered pages, this test catches a new
  figure without alt text before any build;
* no line of a code cell shown on a page is wider than the page's code column
  (``CODE_COLUMNS``), so the reader never scrolls code sideways.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)

CODE_COLUMNS = 88
"""The widest code line (in monospace columns) that the rendered book shows without scrolling.

Measured in headless Chromium on the built book (sphinx-book-theme on pydata-sphinx-theme): a
code cell's ``<pre>`` is 786 px wide at a 1440 px or wider window (the article's maximum width),
754 px inside its padding; the code font is 14 px and the first installed face of the theme's
monospace stack here, DejaVu Sans Mono, advances 8.43 px per character: 754 / 8.43 = 89.5
columns. 88 leaves a spare column, and is also black's and ruff-format's default width, so
``ruff format --line-length 88`` re-wraps code to fit. (Narrower windows shrink the column:
77 columns at 1280 px, where the side bar takes room; the pages are written for a full-width
reading window, as the issue asks.) Han and other wide characters count as two columns
(``unicodedata.east_asian_width`` W/F): the CJK fallback font draws them 1 em = 14 px wide,
1.66 monospace columns, so two is on the safe side.
"""

HIDDEN_INPUT = {"remove-input", "hide-input", "remove-cell"}
NO_OUTPUT = {"remove-output", "remove-cell"}

# A call that draws a figure in a cell: pyplot's show/figure/subplots, the package's plotting
# helpers (dlcourse.plot.*, dlcourse.widgets' draw_/plot_ functions), or a displayed Figure.
PLOTTING = re.compile(
    r"plt\.show\(|plt\.subplots?\(|plt\.figure\(|\bshow_images\(|\bplot_\w+\(|\bdraw_\w+\("
    r"|\bdecision_regions\(|\bdisplay\(\s*fig\b|\bfig\.show\("
)
HAN = re.compile(r"[\u4e00-\u9fff]")
FILE_NAME = re.compile(
    r"\.(png|jpe?g|svg|gif)\b|_images/|^[\w-]*[/.][\w./-]*$", re.IGNORECASE | re.ASCII
)


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell: dict[str, Any]) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def draws_figure(source: str) -> bool:
    """True when the code calls a plotting function (comments are ignored)."""
    code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
    return bool(PLOTTING.search(code))


def display_width(line: str) -> int:
    """Monospace columns of ``line``: wide (W) and full-width (F) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def alt_text(cell: dict[str, Any]) -> str | None:
    """The alt text myst-nb gives the cell's images, or None when the cell sets none."""
    image = cell.get("metadata", {}).get("mystnb", {}).get("image", {})
    alt = image.get("alt") if isinstance(image, dict) else None
    return alt if isinstance(alt, str) else None


def alt_problem(alt: str | None) -> str | None:
    """Why ``alt`` does not describe a figure (None when it does)."""
    if alt is None or not alt.strip():
        return "no mystnb.image.alt in the cell's metadata"
    if FILE_NAME.search(alt.strip()):
        return f"alt {alt!r} is a file name or path, not a description"
    if not HAN.search(alt):
        return f"alt {alt!r} is not a Chinese sentence"
    if len(alt.strip()) < 12:
        return f"alt {alt!r} is too short to describe a figure"
    return None


def test_the_book_has_notebooks() -> None:
    assert len(NOTEBOOKS) >= 20


def test_plotting_calls_are_recognised() -> None:
    assert draws_figure("fig, ax = plt.subplots()\nax.plot(x)\nplt.show()")
    assert draws_figure("show_images(X[:16], ncols=8)")
    assert draws_figure("ax = plot_layer_norms(norms)")
    assert draws_figure("draw_optimizer_trajectory('Adam', 0.1, 0.9, ax=ax)")
    assert not draws_figure("loss = model(x)\nprint(loss)")
    assert not draws_figure("x = 1  # plt.show() is called later")
    assert not draws_figure("data_plot_ready = True")


def test_alt_text_rules() -> None:
    assert alt_problem(None) is not None
    assert alt_problem("  ") is not None
    assert alt_problem("_images/0a1b2c.png") is not None
    assert alt_problem("loss curve") is not None  # not Chinese
    assert alt_problem("一幅图") is not None  # too short to say what it shows
    assert alt_problem("训练损失与验证损失随训练轮数变化的两条曲线。") is None
    assert alt_problem("训练损失与验证损失随训练轮数变化的两条曲线") is None  # no punctuation


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("abc") == 3
    assert display_width("# 训练") == 6
    assert display_width("ｘ") == 2  # full-width Latin
    assert display_width("±×–") == 3  # ambiguous / narrow symbols take one column


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_figure_has_alt_text(path: Path) -> None:
    missing = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or _tags(cell) & NO_OUTPUT:
            continue
        if draws_figure(_source(cell)):
            problem = alt_problem(alt_text(cell))
            if problem:
                missing.append(f"cell {index} (id {cell.get('id')}): {problem}")
    assert missing == [], "figures without alt text; add {'mystnb': {'image': {'alt': ...}}}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_alt_text_only_on_cells_that_draw(path: Path) -> None:
    """Alt text on a cell that draws nothing is a stale description (the plot moved away)."""
    stale = [
        f"cell {index} (id {cell.get('id')})"
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        and alt_text(cell) is not None
        and not draws_figure(_source(cell))
    ]
    assert stale == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shown_code_fits_the_code_column(path: Path) -> None:
    wide = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or _tags(cell) & HIDDEN_INPUT:
            continue
        for number, line in enumerate(_source(cell).splitlines(), start=1):
            if display_width(line) > CODE_COLUMNS:
                wide.append(f"cell {index} line {number} ({display_width(line)}): {line}")
    assert wide == [], (
        f"code lines wider than {CODE_COLUMNS} columns scroll sideways on the page; "
        f"re-wrap them (ruff format --line-length {CODE_COLUMNS}, then split long strings and "
        "comments by hand)"
    )
