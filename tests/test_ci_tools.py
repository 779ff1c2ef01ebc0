"""The helpers that .ci/run uses: the README's commands, and a one-chapter table of contents."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


readme = _tool("readme_commands")
toc_subset = _tool("toc_subset")


def test_readme_holds_the_two_commands_ci_runs() -> None:
    setup, test = readme.readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert setup.startswith("pip install -r requirements.txt && jupyter-book build .")
    assert "-W" in setup.split() and "--keep-going" in setup.split()
    assert test.split()[0] == "pytest"


def test_comments_are_dropped_and_only_the_first_block_counts() -> None:
    text = (
        "# Title\n\n```bash\n"
        "pip install -r requirements.txt && make book   # build -> _build/html\n"
        "\n# a comment line\n"
        "pytest -q      # tests\n```\n\n```bash\nrm -rf /\n```\n"
    )
    assert readme.readme_commands(text) == [
        "pip install -r requirements.txt && make book",
        "pytest -q",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "no code at all",
        "```bash\npip install -r requirements.txt\n```\n",
        "```bash\npytest\npip install -r requirements.txt\n```\n",
        "```bash\npip install -r requirements.txt\npytest\nmake book\n```\n",
    ],
    ids=["no block", "one command", "wrong order", "three commands"],
)
def test_an_unexpected_readme_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="README.md"):
        readme.readme_commands(text)


def test_chapter_toc_keeps_the_chapter_sections_in_order() -> None:
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "parts": [
            {
                "caption": "A",
                "chapters": [
                    {"file": "book/01_x/index", "sections": [{"file": "book/01_x/b"}]},
                    {
                        "file": "book/02_y/index",
                        "sections": [{"file": "book/02_y/s1"}, {"file": "book/02_y/s2"}],
                    },
                ],
            }
        ],
    }
    sub = toc_subset.chapter_toc(toc, "book/02_y/")
    assert sub["root"] == "book/02_y/index"
    assert sub["parts"][0]["chapters"] == [{"file": "book/02_y/s1"}, {"file": "book/02_y/s2"}]
    with pytest.raises(ValueError, match="chapter"):
        toc_subset.chapter_toc(toc, "book/03_z")


def test_chapter_one_of_the_real_book_can_be_built_alone() -> None:
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    sub = toc_subset.chapter_toc(toc, "book/01_basics")
    files = [c["file"] for c in sub["parts"][0]["chapters"]]
    assert any("lab1" in f for f in files), files  # the page that loads MNIST
    for entry in [sub["root"], *files]:
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), entry



def test_chapter_config_suppresses_only_cross_chapter_references(tmp_path: Path) -> None:
    config = {"title": "t", "sphinx": {"local_extensions": {"ext": "book/_ext"},
                                       "config": {"suppress_warnings": ["a.b"], "x": 1}}}
    out = toc_subset.chapter_config(config, tmp_path)
    assert out["sphinx"]["config"] == {"suppress_warnings": ["a.b", "ref.doc", "ref.ref"], "x": 1}
    assert out["sphinx"]["local_extensions"] == {"ext": str((tmp_path / "book/_ext").resolve())}
    assert config["sphinx"]["config"]["suppress_warnings"] == ["a.b"]  # the input is unchanged

notebook_times = _tool("notebook_times")


def test_notebook_times_lists_the_build_records_slowest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "jupyter_execute" / "book" / "ch"
    base.mkdir(parents=True)
    for name, runtime in [("fast", 1.5), ("slow", 130.0), ("unknown", None)]:
        (base / f"{name}.execution.json").write_text(
            f'{{"mode": "quick", "runtime_s": {"null" if runtime is None else runtime}}}'
        )
    rows = notebook_times.notebook_times(tmp_path)
    assert [r[0] for r in rows] == ["book/ch/slow", "book/ch/fast", "book/ch/unknown"]
    assert notebook_times.main([str(tmp_path), "--budget", "120"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "OVER the 120 s budget" in out[0] and "book/ch/slow" in out[0]
    assert "OVER" not in out[1]
    assert out[-1].split()[:2] == ["131.5", "s"]
