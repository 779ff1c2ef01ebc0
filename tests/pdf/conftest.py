"""The PDF of the book, checked after it is built (issue 16, part 3).

Every test here carries the ``pdf`` marker and runs only when asked for, after a PDF build:

    make pdf && pytest -m pdf tests/pdf                    # the whole book, _build/latex
    pytest -m pdf tests/pdf --book-build X/_build --pdf-toc toc.yml   # one chapter's PDF

A plain ``pytest`` skips them. Asked for with ``-m pdf`` but lacking the PDF or poppler's
``pdftotext``/``pdfimages``/``pdftoppm``, the run stops with an error instead of skipping.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests._on_request import run_on_request

TOOLS = ("pdftotext", "pdfimages", "pdftoppm", "pdfinfo")


def pdf_path(config: pytest.Config) -> Path:
    """``<--book-build>/latex/dlcourse.pdf`` (``latex_documents.targetname`` in _config.yml)."""
    build = config.getoption("book_build", default=None) or "_build"
    return Path(build).resolve() / "latex" / "dlcourse.pdf"


def _missing(config: pytest.Config) -> list[str]:
    problems = [
        f"no {tool} (apt-get install poppler-utils)" for tool in TOOLS if not shutil.which(tool)
    ]
    if not pdf_path(config).is_file():
        problems.append(f"no PDF: {pdf_path(config)} does not exist (run `make pdf` first)")
    return problems


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_on_request(
        config,
        items,
        "pdf",
        "the PDF tests run on request, after `make pdf`: pytest -m pdf tests/pdf",
        _missing,
    )


@pytest.fixture(scope="session")
def book_pdf(pytestconfig: pytest.Config) -> Path:
    return pdf_path(pytestconfig)


@pytest.fixture(scope="session")
def book_build(pytestconfig: pytest.Config) -> Path:
    """The build folder (``--book-build``) holding ``latex/`` and ``jupyter_execute/``."""
    return pdf_path(pytestconfig).parents[1]


@pytest.fixture(scope="session")
def pdf_toc(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("pdf_toc")).resolve()
