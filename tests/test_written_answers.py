"""The written answers live twice: in the book (collapsed) and beside the code in solutions/.

Each exercise's question and reference answer in ``book/<NN>_<chapter>/exercises.md`` must
appear verbatim in ``solutions/ch<NN>.md``, so the two copies cannot drift apart. The one
allowed difference: a cross-reference role of the book (``{doc}`...` ``) may be plain text in
solutions/, where Sphinx roles do not resolve.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").glob("[0-9][0-9]_*/exercises.md"))

# A MyST directive fenced by 3 or more backticks: ```{exercise} title / ````{solution} label
BLOCK = re.compile(
    r"^(?P<fence>`{3,})\{(?P<kind>exercise|solution)\}[ \t]*(?P<arg>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
ROLE = re.compile(r"\{(?:doc|ref|numref|eq)\}`[^`]*`")


def as_pattern(body: str) -> re.Pattern[str]:
    """``body`` matched literally, except that each cross-reference role matches any text."""
    return re.compile(".+?".join(re.escape(part) for part in ROLE.split(body)))


def blocks(page: Path) -> list[tuple[str, str, str]]:
    """(kind, argument, body without the :option: lines) for every exercise/solution block."""
    found = []
    for m in BLOCK.finditer(page.read_text(encoding="utf-8")):
        body = "\n".join(
            line for line in m["body"].splitlines() if not re.match(r"^:\w+:", line)
        ).strip()
        found.append((m["kind"], m["arg"].strip(), body))
    return found


def test_every_chapter_with_exercises_has_written_answers() -> None:
    assert PAGES, "no book/*/exercises.md found"
    for page in PAGES:
        assert (ROOT / "solutions" / f"ch{page.parent.name[:2]}.md").exists(), page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.parent.name)
def test_book_answers_match_solutions(page: Path) -> None:
    answers = (ROOT / "solutions" / f"ch{page.parent.name[:2]}.md").read_text(encoding="utf-8")
    found = blocks(page)
    assert any(kind == "solution" for kind, _, _ in found), f"{page}: no solution blocks"
    for kind, arg, body in found:
        if kind == "exercise":
            assert f"## {arg}" in answers, f"{page.name}: heading '## {arg}' missing"
        assert as_pattern(body).search(answers), (
            f"{page.parent.name}/{page.name}: {kind} {arg!r} differs from solutions/"
        )
