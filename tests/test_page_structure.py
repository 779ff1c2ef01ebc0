"""Every chapter's pages share one shape (issue 16, part 2), checked on the sources.

* A chapter's index and each of its section pages start with what the reader will learn: a
  ``{admonition} 学习目标`` box with at least two items, before the page's first ``##``.
* Each section page ends with ``## 小结`` followed by ``## 练习``; the exercises section points
  to at least one exercise of the chapter's ``exercises.md`` by its label (``{ref}`ch04-tdnn```)
  and to the chapter's lab on the labs page (``{ref}`... <labs-lab3>```).
* The index ends with ``## 本章的实验``, which links the labs page's entry for the lab.
* In ``exercises.md`` every exercise has a solution and every solution is collapsed
  (``:class: dropdown``).
* Every figure a code cell draws has a caption (``{"mystnb": {"figure": {"caption": ...}}}``
  in the cell's metadata; myst-nb wraps the cell's images in a numbered ``<figure>``); the
  browser suite checks the rendered ``<figcaption>``.

Chapters that have no section yet (the placeholders of the chapters being written) are
checked only for their lab link.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_notebook_style import HAN, NO_OUTPUT, _cells, _source, draws_figure

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(p for p in BOOK.glob("0[0-9]_*") if (p / "index.md").is_file())
WRITTEN = [c for c in CHAPTERS if (c / "exercises.md").is_file()]
SECTIONS = sorted(p for c in WRITTEN for p in c.glob("*.ipynb"))

GOALS = re.compile(r"^(`{3,}|:{3,})\{admonition\}\s*学习目标\s*$", re.MULTILINE)
H2 = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
REF = re.compile(r"\{(?:ref|numref)\}`(?:[^`<]*<)?([\w-]+)>?`")
LAB_LABEL = re.compile(r"^labs-lab[1-7]$")
EXERCISE_LABEL = re.compile(r"^(`{3,}|:{3,})\{exercise\}.*\n:label:\s*([\w-]+)", re.MULTILINE)
SOLUTION = re.compile(r"^(`{3,}|:{3,})\{solution\}\s*([\w-]+)\s*\n((?::[\w-]+:.*\n)*)", re.M)


def markdown_text(path: Path) -> str:
    """The page's prose: a Markdown file's text, or a notebook's Markdown cells joined."""
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = _cells(path)
    return "\n\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")


def goals_problem(text: str) -> str | None:
    """Why the page does not start with its learning goals (None when it does)."""
    match = GOALS.search(text)
    if match is None:
        return "no ```{admonition} 学习目标 box"
    first_h2 = H2.search(text)
    if first_h2 is not None and first_h2.start() < match.start():
        return f"the 学习目标 box comes after the first section ({first_h2.group(1)!r})"
    body = text[match.end() :].split(match.group(1), 1)[0]
    items = [line for line in body.splitlines() if re.match(r"\s*(?:[-*]|\d+\.)\s+\S", line)]
    if len(items) < 2:
        return f"the 学习目标 box lists {len(items)} item(s); list what the reader will learn"
    return None


def sections(text: str) -> list[tuple[str, str]]:
    """``(title, body)`` of each ``##`` section, in order."""
    heads = list(H2.finditer(text))
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return [(h.group(1), text[h.end() : end]) for h, end in zip(heads, ends, strict=True)]


def exercise_labels(chapter: Path) -> set[str]:
    text = (chapter / "exercises.md").read_text(encoding="utf-8")
    return {m.group(2) for m in EXERCISE_LABEL.finditer(text)}


def ending_problem(text: str, labels: set[str]) -> str | None:
    """Why a section page does not end with 小结 then 练习 pointing to exercises and a lab."""
    titles = [title for title, _ in sections(text)]
    if titles[-2:] != ["小结", "练习"]:
        return f"the page's last sections are {titles[-2:]}, not ['小结', '练习']"
    summary, exercises = sections(text)[-2][1], sections(text)[-1][1]
    if len(summary.strip()) < 40:
        return "the 小结 section is (nearly) empty"
    refs = set(REF.findall(exercises))
    if not refs & labels:
        return f"the 练习 section refers to none of the chapter's exercises {sorted(labels)}"
    if not any(LAB_LABEL.match(r) for r in refs):
        return "the 练习 section does not link the chapter's lab ({ref}`... <labs-labN>`)"
    return None


def test_rules_accept_a_good_page_and_reject_bad_ones() -> None:
    good = (
        "# 卷积\n\n```{admonition} 学习目标\n:class: tip\n- 卷积的定义\n- 填充与步幅\n```\n\n"
        "## 卷积\n正文\n\n## 小结\n" + "卷积用局部连接和权重共享减少参数。" * 3 + "\n\n"
        "## 练习\n- {ref}`ch04-tdnn`\n- 实验：{ref}`实验 3 <labs-lab3>`\n"
    )
    labels = {"ch04-tdnn"}
    assert goals_problem(good) is None
    assert ending_problem(good, labels) is None
    assert goals_problem(good.replace("学习目标", "目标")) is not None
    late = good.replace("```{admonition} 学习目标", "## 先说\n\n```{admonition} 学习目标")
    assert goals_problem(late) is not None
    assert goals_problem(good.replace("- 填充与步幅\n", "")) is not None  # one item only
    assert ending_problem(good.replace("## 练习", "## 习题"), labels) is not None
    assert ending_problem(good.replace("ch04-tdnn", "ch03-adam"), labels) is not None
    assert ending_problem(good.replace("<labs-lab3>", "<labs>"), labels) is not None
    swapped = (
        good.replace("## 小结", "## X").replace("## 练习", "## 小结").replace("## X", "## 练习")
    )
    assert ending_problem(swapped, labels) is not None


def test_every_written_chapter_is_checked() -> None:
    assert len(WRITTEN) >= 4 and len(SECTIONS) >= 20


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_index_starts_with_goals_and_ends_with_its_lab(chapter: Path) -> None:
    text = (chapter / "index.md").read_text(encoding="utf-8")
    if chapter in WRITTEN:
        assert goals_problem(text) is None, goals_problem(text)
    last_title, last_body = sections(text)[-1]
    assert last_title == "本章的实验"
    assert any(LAB_LABEL.match(r) for r in REF.findall(last_body)), "no link to the labs page"


@pytest.mark.parametrize("path", SECTIONS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_section_page_starts_with_goals_and_ends_with_summary_exercises_lab(path: Path) -> None:
    text = markdown_text(path)
    problems = [goals_problem(text), ending_problem(text, exercise_labels(path.parent))]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("chapter", WRITTEN, ids=lambda p: p.name)
def test_every_exercise_has_a_collapsed_solution(chapter: Path) -> None:
    text = (chapter / "exercises.md").read_text(encoding="utf-8")
    solutions = {m.group(2): m.group(3) for m in SOLUTION.finditer(text)}
    assert exercise_labels(chapter) and exercise_labels(chapter) == set(solutions)
    shown = [label for label, options in solutions.items() if ":class: dropdown" not in options]
    assert shown == [], "solutions shown open; add :class: dropdown"


def caption(cell: dict[str, Any]) -> str | None:
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
    text = figure.get("caption") if isinstance(figure, dict) else None
    return text if isinstance(text, str) else None


@pytest.mark.parametrize("path", SECTIONS, ids=lambda p: p.relative_to(BOOK).as_posix())
def test_every_figure_has_a_caption(path: Path) -> None:
    missing = []
    for index, cell in enumerate(_cells(path)):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & NO_OUTPUT or not draws_figure(_source(cell)):
            continue
        text = caption(cell)
        if text is None or not HAN.search(text) or len(text.strip()) < 6:
            missing.append(f"cell {index} (id {cell.get('id')}): caption {text!r}")
    assert missing == [], "figures without a caption; add {'mystnb': {'figure': {'caption': ...}}}"


EXERCISE_REF = re.compile(r"\{ref\}`(?:[^`<]*<)?([\w-]+)>?`")


@pytest.mark.parametrize(
    "path",
    sorted(BOOK.glob("0*/*.ipynb")) + sorted(BOOK.glob("0*/*.md")) + [BOOK / "labs.md"],
    ids=lambda p: p.relative_to(BOOK).as_posix(),
)
def test_exercises_are_referenced_with_numref(path: Path) -> None:
    """``{ref}`` to an exercise renders in HTML but is a dead link in the PDF: sphinx-exercise
    labels exercises ``exercise:<label>`` in LaTeX and resolves only ``{numref}`` to them."""
    labels = set().union(*(exercise_labels(c) for c in WRITTEN))
    text = markdown_text(path)
    bad = sorted({m.group(0) for m in EXERCISE_REF.finditer(text) if m.group(1) in labels})
    assert bad == [], "use {numref} for exercises"
    titled = re.findall(r"\{numref\}`([^`<]+)<", text)
    untitled = [t for t in titled if "{number}" not in t and "%s" not in t]
    assert untitled == [], "a {numref} title needs {number} (Sphinx: invalid numfig_format)"
