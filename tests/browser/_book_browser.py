"""Loading one page of the built book in headless Chromium and recording what a reader meets.

The book is opened as a reader opens it offline: ``file://.../_build/html/<page>.html``, in a
browser context with the network switched off (``offline=True``) and every http(s) request
aborted and recorded. :func:`visit` returns a :class:`PageReport`; the tests in this folder
assert on it. What is expected comes from the page's own HTML file, read here with Python's
``html.parser`` (how many formulas Sphinx wrote), and from the book's ``_config.yml`` (which
repository the launch buttons must name), never from the browser.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

ROOT = Path(__file__).resolve().parents[2]

# Local URL schemes: anything else (http, https, ws, ...) is a request outside the machine.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Raw TeX a reader must never see in prose: display/inline delimiters, environments, and
# `$...$` that the Markdown parser left as text (MathJax only typesets `.math` elements).
RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$\n]{0,80}\$")

# Font families that hold the Han ideographs (fontconfig's choice differs between systems).
CJK_FAMILY = re.compile(
    r"CJK|Source Han|WenQuanYi|Droid Sans Fallback|AR PL|YaHei|SimSun|SimHei|PingFang"
    r"|Hiragino|Heiti|Songti|Noto (Sans|Serif) (SC|TC|HK|JP|KR)",
    re.IGNORECASE,
)
IMAGE_FILE = re.compile(r"\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
_REFRESH = re.compile(r"<meta[^>]+http-equiv=[\"']?refresh", re.IGNORECASE)
_OUTPUT_NAME = re.compile(r"_images/[0-9a-f]{64}\.(png|jpg|svg)$")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


class _MathCounter(HTMLParser):
    """Counts the elements Sphinx writes for formulas: ``class="math ..."`` spans and divs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("span", "div") and "math" in classes:
            self.count += 1


def count_math_in_source(html_file: Path) -> int:
    """The number of formulas in a built page's HTML, before any JavaScript runs."""
    parser = _MathCounter()
    parser.feed(html_file.read_text(encoding="utf-8"))
    return parser.count


def html_dir(config: Any) -> Path:
    """The built book's HTML folder: ``<--book-build>/html`` (default ``./_build/html``).

    ``--book-build`` is the repository conftest's option (the build folder of
    ``jupyter-book build . --path-output X`` is ``X/_build``).
    """
    build = config.getoption("book_build", default=None) or str(ROOT / "_build")
    return Path(build).resolve() / "html"


def book_pages(html_dir: Path) -> list[str]:
    """Every HTML page of a build, as paths relative to ``html_dir`` (assets excluded)."""
    skip = ("_static", "_sources", "_images", "_downloads", "jupyter_execute")
    return sorted(
        p.relative_to(html_dir).as_posix()
        for p in html_dir.rglob("*.html")
        if p.relative_to(html_dir).parts[0] not in skip
    )


@dataclass
class PageReport:
    """What the browser saw on one page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    math_in_source: int = 0
    math_typeset: int = 0  # `.math` elements holding an mjx-container
    math_untypeset: list[str] = field(default_factory=list)  # text of `.math` left raw
    math_errors: list[str] = field(default_factory=list)  # MathJax's own error boxes
    mathjax_loaded: bool = False
    raw_math_text: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    cjk_text: str = ""
    cjk_fonts: list[dict[str, Any]] = field(default_factory=list)
    binder_links: list[str] = field(default_factory=list)
    seconds: float = 0.0


# Runs in the page once it has loaded: waits for MathJax's first typesetting pass and for
# every image, then reports. Text inside code, preformatted output and rendered math is not
# prose and is not searched for raw TeX.
_COLLECT_JS = r"""
async (rawMath) => {
  const out = {};
  out.mathjaxLoaded = !!(window.MathJax && MathJax.startup && MathJax.startup.promise);
  if (out.mathjaxLoaded) { await MathJax.startup.promise; }
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map((img) => img.complete ? null :
    new Promise((done) => { img.addEventListener("load", done); img.addEventListener("error", done);
                            setTimeout(done, 5000); })));
  out.images = [...document.images].map((img) => ({
    src: img.getAttribute("src"), alt: img.getAttribute("alt"),
    complete: img.complete, naturalWidth: img.naturalWidth }));
  const maths = [...document.querySelectorAll("span.math, div.math")];
  out.mathTypeset = maths.filter((m) => m.querySelector("mjx-container")).length;
  out.mathUntypeset = maths.filter((m) => !m.querySelector("mjx-container"))
                           .map((m) => m.textContent.trim().slice(0, 80));
  out.mathErrors = [...document.querySelectorAll("mjx-merror")]
                     .map((e) => (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 80));
  const re = new RegExp(rawMath, "g");
  const skip = "pre, code, script, style, textarea, mjx-container, mjx-assistive-mml";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  out.rawMath = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    for (const m of n.textContent.matchAll(re)) {
      const s = n.textContent; const i = m.index;
      out.rawMath.push(s.slice(Math.max(0, i - 30), i + m[0].length + 30).trim());
    }
  }
  // The first text with Han characters, in the page title (h1) if it has any, else anywhere
  // in headings, the site title or the prose; its element is marked for the font query.
  const han = /[\u3400-\u4dbf\u4e00-\u9fff]/;
  out.cjkText = "";
  for (const sel of ["h1", "h2, h3, .navbar-brand, .site-navigation", "p, li"]) {
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      const el = n.parentElement;
      if (han.test(n.textContent) && el.closest(sel) && !el.closest(skip)
          && el.checkVisibility()) {
        el.setAttribute("data-cjk-probe", "1"); out.cjkText = n.textContent.trim(); break;
      }
    }
    if (out.cjkText) break;
  }
  out.binderLinks = [...document.querySelectorAll("a[href*='/v2/gh/']")].map((a) => a.href);
  return out;
}
"""


def _platform_fonts(page: Any, selector: str) -> list[dict[str, Any]]:
    """The fonts Chromium used to draw the text of the element ``selector`` (DevTools CSS)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            return []
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def visit(browser: Any, html_file: Path, query: str = "", timeout_ms: int = 120000) -> PageReport:
    """Open ``html_file`` offline in a fresh browser context and report what it shows."""
    start = time.perf_counter()
    url = html_file.resolve().as_uri() + query
    report = PageReport(url=url, math_in_source=count_math_in_source(html_file))
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    try:

        def outside(route: Any) -> None:
            record(route.request.url)
            route.abort()

        def record(url: str) -> None:
            if not url.startswith(LOCAL_SCHEMES) and url not in report.external_requests:
                report.external_requests.append(url)

        def console(message: Any) -> None:
            if message.type == "error":
                report.console_errors.append(f"console.error: {message.text}")

        context.route(re.compile(r"^(https?|wss?|ftp):"), outside)
        page = context.new_page()
        page.on("request", lambda request: record(request.url))
        page.on("console", console)
        page.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
        page.goto(url, wait_until="load", timeout=timeout_ms)
        if _REFRESH.search(html_file.read_text(encoding="utf-8")):  # index.html redirects
            page.wait_for_url(lambda now: now != url, timeout=timeout_ms)
            page.wait_for_load_state("load", timeout=timeout_ms)
            report.url = page.url
            target = Path(url2pathname(urlsplit(page.url).path))
            if target.is_file():
                report.math_in_source = count_math_in_source(target)
        got = page.evaluate(_COLLECT_JS, RAW_MATH.pattern)
        report.mathjax_loaded = got["mathjaxLoaded"]
        report.images = got["images"]
        report.math_typeset = got["mathTypeset"]
        report.math_untypeset = got["mathUntypeset"]
        report.math_errors = got["mathErrors"]
        report.raw_math_text = got["rawMath"]
        report.cjk_text = got["cjkText"]
        report.binder_links = got["binderLinks"]
        if report.cjk_text:
            report.cjk_fonts = _platform_fonts(page, "[data-cjk-probe]")
        page.wait_for_timeout(100)  # late console errors of asynchronous scripts
    finally:
        context.close()
    report.seconds = time.perf_counter() - start
    return report


def cjk_glyphs_drawn(report: PageReport) -> int:
    """How many glyphs of the probed text a CJK font drew (0: tofu or a Latin fallback)."""
    return sum(f["glyphCount"] for f in report.cjk_fonts if CJK_FAMILY.search(f["familyName"]))


def broken_images(report: PageReport) -> list[str]:
    """The images that did not load (``naturalWidth`` 0)."""
    return [img["src"] for img in report.images if not img["naturalWidth"]]


def undescribed_images(report: PageReport, outputs: bool = True) -> list[str]:
    """The images without alt text; a file name or the image's own URL is no description.

    ``outputs=False`` leaves out the figures that notebook cells drew (``_images/<hash>``
    with myst-nb's default alt, the file's path): see ``is_cell_output_figure``.
    """
    bad = []
    for img in report.images:
        alt = (img["alt"] or "").strip()
        if not alt or IMAGE_FILE.search(alt) or alt == img["src"]:
            if outputs or not is_cell_output_figure(img):
                bad.append(f"{img['src']} (alt={img['alt']!r})")
    return bad


def is_cell_output_figure(img: dict[str, Any]) -> bool:
    """A figure drawn by a notebook cell, shown with myst-nb's default alt (its own path)."""
    src = img["src"] or ""
    return "_images/" in src and img["alt"] == src and bool(_OUTPUT_NAME.search(src))
