"""Repository hygiene checks that belong to the test command (see README)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    result = subprocess.run(
        [*cmd, "check", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_book_has_notebooks() -> None:
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name}: stored with outputs"
            assert cell.get("execution_count") is None, f"{path.name}: execution counts stored"


def test_every_toc_entry_exists() -> None:
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    entries = [line.split("file:")[1].strip() for line in toc.splitlines() if "file:" in line]
    entries.append("book/intro")
    for entry in entries:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


def test_no_line_breaks_inside_chinese_sentences() -> None:
    """A newline between two CJK characters shows up as a stray space in the rendered page."""
    result = subprocess.run(
        [sys.executable, "tools/cjk_lines.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, "run `python tools/cjk_lines.py --fix`:\n" + result.stdout
