"""The book's two reader-facing Sphinx extensions, without a build (these run in plain pytest).

``book/_ext/theme_fixes.py`` (each inline script once per page) and ``book/_ext/search_terms.py``
(the course's terms in the Chinese search index); the built book's checks of the same are
``test_book_pages.py::test_no_javascript_errors`` and ``test_book_search.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.builders.html._assets import _JavaScript

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import search_terms  # noqa: E402
import theme_fixes  # noqa: E402

DICTIONARY = ROOT / "book" / "_ext" / "search_dict.txt"


def test_an_inline_script_registered_twice_is_kept_once() -> None:
    """jupyter-book's two copies of sphinx-thebe's script: file name "" and None, same body."""
    builder_copy = _JavaScript("", body="const THEBE_JS_URL = 1")
    registry_copy = _JavaScript(None, body="const THEBE_JS_URL = 1")  # type: ignore[arg-type]
    other = _JavaScript("", body="const other = 2")
    early = _JavaScript("_static/doctools.js", priority=200)
    kept = theme_fixes.unique_scripts([builder_copy, other, registry_copy, early])
    assert kept == [early, builder_copy, other]


def test_page_context_gets_the_unique_scripts() -> None:
    scripts = [_JavaScript("", body="x"), _JavaScript(None, body="x")]  # type: ignore[arg-type]
    context = {"script_files": scripts}
    theme_fixes.dedupe_page_scripts(SimpleNamespace(), "page", "page.html", context, None)  # type: ignore[arg-type]
    assert len(context["script_files"]) == 1


def test_dictionary_is_one_course_term_a_line() -> None:
    lines = DICTIONARY.read_text(encoding="utf-8").splitlines()
    terms = [line for line in lines if line]
    assert len(terms) == len(set(terms)), "a term listed twice"
    assert all(len(t.split()) == 1 and not t.startswith("#") for t in terms)
    assert 50 <= len(terms) <= 150
    for term in (
        "反向传播",
        "梯度下降",
        "随机梯度下降",
        "卷积神经网络",
        "批量归一化",
        "交叉熵",
        "激活函数",
        "汇聚",
        "池化",
        "残差网络",
    ):
        assert term in terms
    assert search_terms.read_terms(DICTIONARY) == terms


def test_relative_dict_path_resolves_against_the_book_root(tmp_path: Path) -> None:
    app = SimpleNamespace(srcdir=str(ROOT))
    config = SimpleNamespace(html_search_options={"dict": "book/_ext/search_dict.txt"})
    search_terms.resolve_dict_path(app, config)  # type: ignore[arg-type]
    assert config.html_search_options == {"dict": str(DICTIONARY)}
    app = SimpleNamespace(srcdir=str(tmp_path))  # a root without the file
    config = SimpleNamespace(html_search_options={"dict": "book/_ext/search_dict.txt"})
    with pytest.raises(FileNotFoundError, match=r"html_search_options\['dict'\].*search_dict"):
        search_terms.resolve_dict_path(app, config)  # type: ignore[arg-type]


def test_index_words_keep_the_terms_whole() -> None:
    language = search_terms.CourseChinese({"dict": str(DICTIONARY)})
    words = language.split("用反向传播计算梯度，再用随机梯度下降更新参数。")
    assert "反向传播" in words
    assert "随机梯度下降" in words
    assert "梯度下降" in words  # inside 随机梯度下降: jieba alone would not emit it
    import jieba

    assert "反向传播" in jieba.lcut("用反向传播计算梯度")  # the dictionary reached jieba
