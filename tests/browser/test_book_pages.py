"""Every page of the built book, as a reader meets it offline in Chromium.

Each page is loaded once (file://, network off) and six checks read the same report: no
JavaScript error, every formula typeset and no raw TeX left visible, no request leaving the
machine, every image loaded and described, Chinese drawn with a CJK font, and a launch
button that names this repository and the page's own notebook. New chapters are covered
without editing this file: the pages are whatever the build produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from _book_browser import (
    HAN,
    PageReport,
    book_pages,
    broken_images,
    cjk_glyphs_drawn,
    html_dir,
    undescribed_images,
    visit,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
_REPORTS: dict[str, PageReport | Exception] = {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "page" in metafunc.fixturenames:
        folder = html_dir(metafunc.config)
        metafunc.parametrize("page", book_pages(folder) if folder.is_dir() else [])


@pytest.fixture
def report(page: str, browser: Any, book_html: Path) -> PageReport:
    """The page's report, made by the first check that needs it (a failed visit is not retried:
    the page's other checks report the same error at once)."""
    if page not in _REPORTS:
        try:
            _REPORTS[page] = visit(browser, book_html / page)
        except Exception as error:  # any browser error fails all the page's checks
            _REPORTS[page] = error
    got = _REPORTS[page]
    if isinstance(got, Exception):
        pytest.fail(f"could not load {page}: {got}", pytrace=False)
    return got


def test_no_javascript_errors(report: PageReport) -> None:
    """Any console error fails, the themes' included (book/_ext/theme_fixes.py and
    ``html_context.default_mode`` in _config.yml removed the two they used to log)."""
    assert report.console_errors == []


def test_every_formula_typeset(report: PageReport) -> None:
    if report.math_in_source:
        assert report.mathjax_loaded, f"{report.math_in_source} formulas, but no MathJax"
    assert report.math_untypeset == []
    assert report.math_typeset == report.math_in_source
    assert report.math_errors == [], "MathJax could not typeset these formulas"


def test_no_raw_tex_visible(report: PageReport) -> None:
    assert report.raw_math_text == [], "TeX delimiters left as text in the prose"


def test_no_request_outside_the_machine(report: PageReport) -> None:
    assert report.external_requests == []


def test_images_load_and_have_alt_text(report: PageReport) -> None:
    """Figures drawn by notebook cells included: their alt text comes from the cell's metadata,
    {"mystnb": {"image": {"alt": "..."}}} (without it myst-nb's alt is the image's own path);
    tests/test_notebook_style.py checks that metadata without a build."""
    assert broken_images(report) == [], "images that did not load"
    assert undescribed_images(report) == [], "images without alt text"


def test_chinese_drawn_with_a_cjk_font(report: PageReport) -> None:
    assert report.cjk_text, "no Chinese text found on the page (not even the book's title)"
    need = len(HAN.findall(report.cjk_text))
    fonts = [f"{f['familyName']} ({f['glyphCount']} glyphs)" for f in report.cjk_fonts]
    assert cjk_glyphs_drawn(report) >= need, (
        f"{report.cjk_text!r}: {need} Han characters, drawn with {fonts}"
    )


def _launch_settings() -> dict[str, str]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo_url = config["repository"]["url"].rstrip("/")
    return {
        "binderhub": config["launch_buttons"]["binderhub_url"].rstrip("/"),
        "repo": "/".join(repo_url.split("/")[-2:]),
        "branch": config["repository"].get("branch", "main"),
    }


def test_launch_button_opens_this_notebook(page: str, report: PageReport) -> None:
    expected = _launch_settings()
    prefix = f"{expected['binderhub']}/v2/gh/{expected['repo']}/{expected['branch']}"
    for link in report.binder_links:
        assert link == prefix or link.startswith(prefix + "?"), f"{link} is not {prefix}"
        for target in parse_qs(urlsplit(link).query).get("urlpath", []):
            path = target.split("/tree/", 1)[-1]
            assert (ROOT / path).is_file(), f"{link} opens {path}, not a file of the repository"
    notebook = Path(page).with_suffix(".ipynb").as_posix()
    if (ROOT / notebook).is_file():
        opened = [
            target.split("/tree/", 1)[-1]
            for link in report.binder_links
            for target in parse_qs(urlsplit(link).query).get("urlpath", [])
        ]
        assert opened, f"{page} is a notebook page without a Binder launch button"
        assert set(opened) == {notebook}, f"the launch button opens {opened}, not {notebook}"
