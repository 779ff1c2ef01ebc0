"""The browser tests of the built book: when they run, and the browser they share.

Every test here carries the ``browser`` marker and runs only when asked for:

    pytest -m browser tests/browser                      # the book in ./_build/html
    pytest -m browser tests/browser --book-build /tmp/x/_build   # a build made with --path-output

(``--book-build`` is the repository conftest's option: the build folder holding ``html/``.)
A plain ``pytest`` skips them and says how to run them, so CI, which runs them as a step of
their own right after the book build, does not open every page twice. Asked for with
``-m browser`` but lacking the built book, Chromium or Playwright, the run stops with an error
instead of skipping: CI must not pass without having looked at the pages.

Chromium is the system's (Debian ``chromium``, or ``$DLCOURSE_CHROMIUM``), driven by
Playwright through its executable path: no browser is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _book_browser import html_dir

from tests._on_request import run_on_request

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """``$DLCOURSE_CHROMIUM``, else the first Chromium on the PATH, else None."""
    explicit = os.environ.get("DLCOURSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(config: pytest.Config) -> list[str]:
    problems = []
    index = html_dir(config) / "index.html"
    if not index.is_file():
        problems.append(f"no built book: {index} does not exist (build it first)")
    if chromium_path() is None:
        problems.append("no Chromium: apt-get install chromium (or set DLCOURSE_CHROMIUM)")
    if importlib.util.find_spec("playwright") is None:
        problems.append("no playwright: pip install -r requirements-test.txt")
    return problems


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_on_request(
        config,
        items,
        "browser",
        "browser tests of the built book run on request, after a book build: "
        "pytest -m browser tests/browser [--book-build DIR]",
        _missing,
    )


@pytest.fixture(scope="session")
def book_html(pytestconfig: pytest.Config) -> Path:
    """The folder of the built book's HTML pages."""
    return html_dir(pytestconfig)


@pytest.fixture(scope="session")
def browser() -> Generator[Any, None, None]:
    """One headless system Chromium for the whole session (each page gets its own context)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    assert executable is not None, "no Chromium (checked at collection)"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",  # CI runs as root
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()
