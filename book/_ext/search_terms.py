"""The course's terms in the book's Chinese search index (a local Sphinx extension).

Sphinx indexes Chinese prose with jieba's ``cut_for_search``, whose general dictionary splits
most course terms: 反向传播 becomes 反向 + 传播, so searching 反向传播 matched only page
titles. ``search_dict.txt`` (next to this file) lists the course's terms, one per line in
jieba's user-dictionary format (``word [freq] [tag]``; no frequency: jieba picks one that keeps
the word whole; the format has no comments). ``_config.yml`` names it::

    html_search_options: {dict: book/_ext/search_dict.txt}

Three things here, all needed:

1. ``config-inited``: a relative ``dict`` path is made absolute against the book's root
   (``app.srcdir``). Sphinx's :class:`~sphinx.search.zh.SearchChinese` checks the path with
   ``os.path.isfile`` relative to the current directory and silently skips a missing file, so
   a build started from another folder (or a one-chapter build with a config written
   elsewhere, ``tools/toc_subset.py --config-out``) would lose the terms without a word. A
   ``dict`` that does not exist is an error here instead.
2. :class:`CourseChinese` replaces Sphinx's Chinese search language (``app.add_search_language``,
   same ``lang``): it loads the dictionary into jieba as Sphinx does (from a file it closes)
   and also indexes every dictionary term that a text contains. jieba's ``cut_for_search``
   emits the 2- and 3-character words inside a long word but not the 4-character ones, so once
   随机梯度下降 is one word, a page that says only 随机梯度下降 would no longer be found by
   梯度下降; this keeps it found.
3. ``build-finished``: the page titles in ``searchindex.js`` lose their section number
   (``<span class="section-number">2.7. </span>反向传播`` -> ``反向传播``). Sphinx 7.4's search
   ranks a page whose own title is the query one point above a section with that title, by
   comparing the page's title with the section's, which never matches in a numbered book; so
   反向传播 listed the exercises page (a section "[编程] 反向传播算法的执行过程", same score,
   "2.11" sorting before "2.7") before the backprop chapter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.search.zh import JIEBA, SearchChinese

if JIEBA:
    import jieba


def read_terms(path: str | Path) -> list[str]:
    """The words of a jieba user dictionary (the first field of each non-empty line)."""
    lines = Path(path).read_text(encoding="utf-8").lstrip("\ufeff").splitlines()
    return [line.split()[0] for line in lines if line.strip()]


class CourseChinese(SearchChinese):
    """Sphinx's Chinese search, plus every course term that a text contains."""

    terms: tuple[str, ...] = ()

    def init(self, options: dict[str, str]) -> None:
        # Sphinx's init loads the dictionary by its path and jieba leaves that file open (a
        # ResourceWarning); the dictionary is loaded here from a file that is closed after.
        path = options.get("dict")
        super().init({k: v for k, v in options.items() if k != "dict"})
        self.terms = tuple(read_terms(path)) if path else ()
        if path and JIEBA:
            with open(path, "rb") as userdict:
                jieba.load_userdict(userdict)

    def split(self, input: str) -> list[str]:  # noqa: A002 (Sphinx's signature)
        words = super().split(input)
        return words + [term for term in self.terms if term in input]


def resolve_dict_path(app: Sphinx, config: Config) -> None:
    """Make ``html_search_options['dict']`` absolute (against the book root) and check it."""
    options = dict(config.html_search_options or {})
    path = options.get("dict")
    if not path:
        return
    resolved = Path(path) if Path(path).is_absolute() else Path(app.srcdir) / path
    if not resolved.is_file():
        raise FileNotFoundError(
            f"html_search_options['dict']: expected a jieba user dictionary, "
            f"got {path!r} ({resolved} does not exist)"
        )
    options["dict"] = str(resolved.resolve())
    config.html_search_options = options


_SECTION_NUMBER = re.compile(r'<span class="section-number">[^<]*</span>')


def unnumbered_titles(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: drop the section numbers from the titles in ``searchindex.js``."""
    path = Path(app.outdir) / "searchindex.js"
    if exception is not None or app.builder.format != "html" or not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    prefix, suffix = "Search.setIndex(", ")"
    if not (text.startswith(prefix) and text.rstrip().endswith(suffix)):
        return  # not the format this was written for: leave the index alone
    index = json.loads(text[len(prefix) : text.rstrip().rindex(suffix)])
    index["titles"] = [_SECTION_NUMBER.sub("", title) for title in index["titles"]]
    dumped = json.dumps(index, separators=(",", ":"), sort_keys=True)
    path.write_text(prefix + dumped + suffix, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_search_language(CourseChinese)
    app.connect("config-inited", resolve_dict_path)
    app.connect("build-finished", unnumbered_titles)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
