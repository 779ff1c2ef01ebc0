"""The "实验 (Labs)" page (``book/labs.md``) agrees with the grader and is linked from the book.

- ``tools/labs_page.py --check`` regenerates the page from the graded tests' markers (collected
  with the grading plugin) and fails when the committed page differs;
- independently of that tool and of the grading plugin, the exercise ids, points and test
  counts of every lab are read from the test files' decorators (ast) and pytest's plain list of
  collected tests, and compared with the page's tables;
- the tool refuses a lab list that disagrees with the registry (planned lab with graded tests,
  a lab module without tests, a graded ``labN`` that no lab claims);
- the page is in ``_toc.yml``, every chapter index links its lab and the page, and every page
  the labs page links to exists.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "labs.md"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("labs_page_tool", ROOT / "tools" / "labs_page.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_page_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "tools/labs_page.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _page_rows(text: str, module: str) -> dict[str, tuple[int, int]]:
    """``id -> (points, tests)`` from the page's exercise tables."""
    rows = re.findall(rf"^\| `({module}\.[a-z0-9_]+)` \| (\d+) \| (\d+) \|", text, re.M)
    return {ex: (int(points), int(tests)) for ex, points, tests in rows}


def _source_markers(path: Path) -> dict[str, tuple[str, int]]:
    """``test function -> (exercise id, points)`` from the file's decorators, read with ast."""
    markers = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            func = dec.func if isinstance(dec, ast.Call) else None
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name == "exercise":
                points = next((k.value.value for k in dec.keywords if k.arg == "points"), 1)
                markers[node.name] = (dec.args[0].value, points)
    return markers


def test_page_numbers_match_the_test_sources() -> None:
    """An independent count: the markers as written in tests/exercises/test_labN.py (ast), one
    per test that pytest collects (a parametrised test counts once per case)."""
    text = PAGE.read_text(encoding="utf-8")
    files = sorted((ROOT / "tests" / "exercises").glob("test_lab*.py"))
    assert len(files) >= 5
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *[str(f.relative_to(ROOT)) for f in files]],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    nodeids = [line for line in result.stdout.splitlines() if "::" in line]
    for path in files:
        module = path.stem.removeprefix("test_")
        markers = _source_markers(path)
        expected: dict[str, tuple[int, int]] = {}
        for nodeid in nodeids:
            if nodeid.startswith(f"tests/exercises/{path.name}::"):
                ex, points = markers[nodeid.split("::")[-1].split("[")[0]]
                p, n = expected.get(ex, (0, 0))
                expected[ex] = (p + points, n + 1)
        assert expected, f"{path.name}: no graded test found"
        assert _page_rows(text, module) == expected, module
        total = sum(p for p, _ in expected.values())
        assert f"`dlcourse grade {module}`，{total} 分" in text, module


def test_every_lab_of_the_outline_is_listed() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for n in range(1, 8):
        assert f"(labs-lab{n})=\n## 实验 {n}\n" in text
    for n in (4, 6):  # planned: no grade command
        section = text.split(f"## 实验 {n}\n")[1].split("\n## ")[0]
        assert "计划中" in section and "dlcourse grade" not in section
    assert "!dlcourse grade lab1" in text  # how to grade from a notebook cell in Binder


def test_every_linked_page_exists() -> None:
    text = PAGE.read_text(encoding="utf-8")
    docs = re.findall(r"\{doc\}`[^`<]*<([^>]+)>`", text)
    assert docs
    for doc in docs:
        assert any((ROOT / "book" / f"{doc}{ext}").exists() for ext in (".md", ".ipynb")), doc


def test_toc_and_chapter_indexes_link_the_labs() -> None:
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- file: book/labs\s*$", toc, re.M)
    tool = _tool()
    for index in sorted((ROOT / "book").glob("0[0-9]_*/index.md")):
        text = index.read_text(encoding="utf-8")
        assert "{doc}`实验 (Labs) <../labs>`" in text, index
        chapter = index.parent.name
        labs = [lab.number for lab in tool.LABS
                if any(doc.startswith(f"{chapter}/") for doc, _ in lab.chapters[:1])]
        for n in labs:
            assert f"<labs-lab{n}>" in text, (index, n)
        assert "<labs-lab" in text, index


def _registry(tool: ModuleType, modules: list[str]) -> dict[str, list]:
    return {m: [tool.Exercise(f"{m}.a", points=2, tests=1)] for m in modules}


def test_tool_refuses_a_registry_that_disagrees() -> None:
    tool = _tool()
    ok = ["lab1", "lab2", "lab3", "lab5", "lab7", "ch01"]
    page = tool.render(_registry(tool, ok))
    assert "| `lab1.a` | 2 | 1 | — |" in page
    # lab 4 gets graded tests while the page still lists it as planned
    with pytest.raises(ValueError, match="lab 4: listed as planned"):
        tool.render(_registry(tool, [*ok, "lab4"]))
    # a written lab loses its tests
    with pytest.raises(ValueError, match="lab 3: module 'lab3' has no graded test"):
        tool.render(_registry(tool, [m for m in ok if m != "lab3"]))
    # the lab list itself marks a graded lab as planned
    labs = tuple(dataclasses.replace(lab, module=None) if lab.number == 7 else lab
                 for lab in tool.LABS)
    with pytest.raises(ValueError, match="lab 7: listed as planned"):
        tool.render(_registry(tool, ok), labs=labs)
    # a graded lab module no lab claims
    with pytest.raises(ValueError, match=r"belong to no lab"):
        tool.render(_registry(tool, [*ok, "lab9"]))
