"""The built PDF holds the book: every page's title, Chinese prose, formulas and figures.

The expected content comes from the sources, not from the PDF: the pages listed in the table
of contents the PDF was built from (``--pdf-toc``), their titles, the figures their code cells
draw (the cells with alt text) and their captions. The text is read with poppler's
``pdftotext`` and normalised with NFKC, which maps unicode-math's italic letters (U+1D44E …)
back to ASCII, so a formula typeset as $y = xW + b$ reads ``y=xW+b`` once spaces are dropped.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.test_notebook_style import _cells, _source

pytestmark = pytest.mark.pdf

ROOT = Path(__file__).resolve().parents[2]
HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
MATH_ALPHANUMERIC = re.compile(r"[\U0001d400-\U0001d7ff]")

# Formulas whose typeset text is known, by page: (docname, the formula's text in the PDF with
# spaces removed, as the TeX source says it). Checked when the page is in the PDF.
FORMULAS = (
    ("book/01_basics/02_linear_models", "y=xW+b"),  # the affine map
    ("book/02_feedforward/01_neurons_activations", "tanh(x)=exp(x)−exp(−x)"),  # (2.2)'s numerator
    ("book/04_cnn/01_convolution", "s(t)=(x∗w)(t)=∑x(a)w(t−a)"),  # the discrete convolution
)


def toc_docs(toc_file: Path) -> list[str]:
    """The docnames a Jupyter Book table of contents lists (root first)."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    docs = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                docs.append(str(entry["file"]))
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return docs


def source(doc: str) -> Path:
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{doc}{suffix}").is_file():
            return ROOT / f"{doc}{suffix}"
    raise FileNotFoundError(doc)


def notebook_cells(path: Path) -> list[dict]:
    return _cells(path) if path.suffix == ".ipynb" else []


def title(doc: str) -> str:
    """The page's ``# `` heading."""
    path = source(doc)
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
    else:
        text = "\n".join(_source(c) for c in notebook_cells(path) if c["cell_type"] == "markdown")
    return next(line[2:] for line in text.splitlines() if line.startswith("# "))


def longest_run(text: str) -> str:
    return max(HAN_RUN.findall(text), key=len)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@cache
def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@cache
def pdf_images(pdf: Path) -> list[tuple[int, int, int]]:
    """(page, width, height) of each image, from ``pdfimages -list``."""
    out = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    return [(int(r[0]), int(r[3]), int(r[4])) for r in rows if r[2] == "image"]


def drawn_figures(build: Path, docs: list[str]) -> list[tuple[dict, int]]:
    """(source cell, images it output in the build's executed copy) of each figure cell.

    What a cell draws can depend on the data present (without CIFAR-10 the CIFAR page skips
    its image figures), so the count comes from the executed notebooks the PDF was built from.
    """
    found = []
    for doc in docs:
        cells = [c for c in notebook_cells(source(doc)) if c["cell_type"] == "code"]
        if not cells:
            continue
        executed = build / "jupyter_execute" / f"{doc}.ipynb"
        assert executed.is_file(), f"no executed copy {executed}: was the PDF built here?"
        outputs = {
            c.get("id"): c.get("outputs", [])
            for c in json.loads(executed.read_text(encoding="utf-8"))["cells"]
        }
        assert any(outputs.values()), (
            f"{executed} has no outputs: a PDF-only build keeps none; build the HTML book "
            "first in the same mode (make book or make quick), then make pdf"
        )
        for cell in cells:
            if cell.get("metadata", {}).get("mystnb", {}).get("image"):
                images = sum("image/png" in o.get("data", {}) for o in outputs[cell.get("id")])
                found.append((cell, images))
    return found


def test_every_page_title_is_in_the_pdf(book_pdf: Path, pdf_toc: Path) -> None:
    text = squeeze(pdf_text(book_pdf))
    docs = toc_docs(pdf_toc)[1:]  # the root page's title becomes the book's own title
    missing = []
    for doc in docs:
        runs = HAN_RUN.findall(title(doc))
        if runs and longest_run(title(doc)) not in text:
            missing.append(f"{doc}: {title(doc)!r}")
    assert missing == [], "pages missing from the PDF (or their Chinese text is garbled)"


def test_chinese_prose_is_text_not_boxes(book_pdf: Path) -> None:
    text = pdf_text(book_pdf)
    han = sum(len(run) for run in HAN_RUN.findall(text))
    assert han > 2000, f"only {han} Han characters extracted: is the CJK font embedded?"
    assert "\ufffd" not in text, "replacement characters: a glyph has no Unicode mapping"


def test_formulas_are_typeset(book_pdf: Path, pdf_toc: Path) -> None:
    raw = pdf_text(book_pdf)
    assert len(MATH_ALPHANUMERIC.findall(raw)) > 100, "few math italic letters: formulas missing"
    text = squeeze(raw)
    docs = set(toc_docs(pdf_toc))
    checked = [(doc, formula) for doc, formula in FORMULAS if doc in docs]
    assert checked, "no known formula's page is in this PDF"
    missing = [(doc, formula) for doc, formula in checked if squeeze(formula) not in text]
    assert missing == []


def test_every_figure_is_in_the_pdf_with_its_caption(
    book_pdf: Path, pdf_toc: Path, book_build: Path
) -> None:
    figures = drawn_figures(book_build, toc_docs(pdf_toc))
    expected = sum(images for _, images in figures)
    big = [image for image in pdf_images(book_pdf) if min(image[1:]) >= 100]
    assert expected > 0 and len(big) >= expected, f"{len(big)} images for {expected} drawn"
    text = squeeze(pdf_text(book_pdf))
    captions = [
        c["metadata"]["mystnb"].get("figure", {}).get("caption", "") for c, n in figures if n
    ]
    lost = [c for c in captions if HAN_RUN.findall(c) and longest_run(c) not in text]
    assert lost == [], "figure captions missing from the PDF"


def test_a_page_with_a_figure_renders(book_pdf: Path, tmp_path: Path) -> None:
    """pdftoppm draws the first page that holds a figure: ink on paper, not a blank page."""
    page = pdf_images(book_pdf)[0][0]
    out = tmp_path / "page"
    subprocess.run(
        [
            "pdftoppm",
            "-gray",
            "-r",
            "40",
            "-f",
            str(page),
            "-l",
            str(page),
            str(book_pdf),
            str(out),
        ],
        check=True,
    )
    (pgm,) = tmp_path.glob("page*.pgm")
    data = pgm.read_bytes()
    header = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
    width, height = int(header[1]), int(header[2])
    pixels = np.frombuffer(data[-width * height :], dtype=np.uint8)
    ink = float(np.mean(pixels < 128))
    assert 0.005 < ink < 0.6, f"page {page} is {ink:.1%} ink"


def test_latex_log_has_no_missing_glyph_or_reference(book_pdf: Path) -> None:
    log = book_pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log)))
    assert missing == [], f"characters no font of the PDF has: {missing}"
    assert "There were undefined references" not in log


def test_exercises_are_numbered_per_chapter_as_on_the_web(book_pdf: Path, pdf_toc: Path) -> None:
    """练习 <chapter>.<k>, the HTML's numbers (book/_ext/latex_exercise_refs.py), not the
    LaTeX build's <chapter>.<page>.<k>."""
    text = squeeze(pdf_text(book_pdf))
    chapters = [d for d in toc_docs(pdf_toc)[1:] if re.fullmatch(r"book/0\d_\w+/index", d)]
    expected = []
    for number, index in enumerate(chapters, start=1):
        exercises = ROOT / index.replace("index", "exercises.md")
        if exercises.is_file():
            count = len(re.findall(r"^`{3,}\{exercise\}", exercises.read_text(), re.MULTILINE))
            expected += [f"练习{number}.{k}" for k in range(1, count + 1)]
    if not expected:
        pytest.skip("no numbered chapter with exercises in this PDF (a one-chapter build)")
    assert [e for e in expected if e not in text] == []
    assert re.findall(r"练习\d+\.\d+\.\d+", text) == []
