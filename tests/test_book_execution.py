"""Notebooks are executed once: by the book build, whose records let pytest skip nbval.

Tests ``book/_ext/executed_notebooks.py`` (the Sphinx extension and the freshness rule) and the
root ``conftest.py`` that uses it. The expected behaviour comes from the rule itself, written
down in ARCHITECTURE.md ("Commands"): a copy stands in for nbval only if it was executed with
the same code cells, mode, package and data settings, every cell ran, and none raised.
"""

from __future__ import annotations

import copy as copy_module
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXT_DIR = ROOT / "book" / "_ext"


def _load_ext() -> ModuleType:
    name = "_test_executed_notebooks"
    spec = importlib.util.spec_from_file_location(name, EXT_DIR / "executed_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ext = _load_ext()


def _notebook(*sources: str, tags: dict[int, list[str]] | None = None) -> dict[str, Any]:
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "id": "m0", "metadata": {}, "source": "# Title"}
    ]
    for i, src in enumerate(sources):
        cells.append(
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {"tags": (tags or {}).get(i, [])},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
        )
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _executed(nb: dict[str, Any]) -> dict[str, Any]:
    """What a successful execution makes of ``nb``: counts and a stream output per cell."""
    run = copy_module.deepcopy(nb)
    count = 0
    for cell in run["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).strip():
            count += 1
            cell["execution_count"] = count
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    return run


def _write(path: Path, obj: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


KEY = ext.ExecutionKey("quick", "f" * 64)


def _record(key: Any = KEY, succeeded: bool = True) -> dict[str, Any]:
    return {"mode": key.mode, "fingerprint": key.fingerprint, "succeeded": succeeded}


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A source notebook, the path of its executed copy, and the source's JSON."""
    nb = _notebook("x = 1", "", "print(x)")
    source = _write(tmp_path / "book" / "ch" / "nb.ipynb", nb)
    copy = ext.executed_copy_path(tmp_path / "_build", "book/ch/nb")
    return source, copy, nb


def _build(copy: Path, nb: dict[str, Any], record: dict[str, Any] | None) -> None:
    _write(copy, nb)
    if record is not None:
        _write(ext.record_path(copy), record)


def test_paths_follow_myst_nb_layout(tmp_path: Path) -> None:
    copy = ext.executed_copy_path(tmp_path, "book/01_basics/03_metrics")
    assert copy == tmp_path / "jupyter_execute" / "book" / "01_basics" / "03_metrics.ipynb"
    assert ext.record_path(copy).name == "03_metrics.execution.json"


def test_fresh_copy_is_accepted(pair: tuple[Path, Path, dict[str, Any]]) -> None:
    source, copy, nb = pair
    _build(copy, _executed(nb), _record())
    assert ext.check_executed_copy(source, copy, KEY) == []


@pytest.mark.parametrize(
    "what, expected",
    [
        ("no build", "no executed copy"),
        ("no record", "no executed copy"),
        ("other mode", "ran in full mode"),
        ("other fingerprint", "changed since the build"),
        ("failed", "did not succeed"),
        ("code changed", "code cells changed"),
        ("cell added", "code cells changed"),
        ("not executed", "code cell 2 was not executed"),
        ("error output", "code cell 0 raised ZeroDivisionError"),
    ],
)
def test_stale_or_failed_copy_is_rejected(
    pair: tuple[Path, Path, dict[str, Any]], what: str, expected: str
) -> None:
    source, copy, nb = pair
    run, record = _executed(nb), _record()
    if what == "no build":
        record = None
        run = None
    elif what == "no record":
        record = None
    elif what == "other mode":
        record = _record(ext.ExecutionKey("full", KEY.fingerprint))
    elif what == "other fingerprint":
        record = _record(ext.ExecutionKey("quick", "0" * 64))
    elif what == "failed":
        record = _record(succeeded=False)
    elif what == "code changed":
        _write(source, _notebook("x = 2", "", "print(x)"))
    elif what == "cell added":
        _write(source, _notebook("x = 1", "", "print(x)", "x"))
    elif what == "not executed":
        run["cells"][3]["execution_count"] = None
    elif what == "error output":
        run["cells"][1]["outputs"] = [
            {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "", "traceback": []}
        ]
    if run is not None:
        _build(copy, run, record)
    problems = ext.check_executed_copy(source, copy, KEY)
    assert problems, what
    assert expected in problems[0]


def test_expected_errors_and_skipped_cells_are_allowed(tmp_path: Path) -> None:
    nb = _notebook("1 / 0", "print('never')", tags={0: ["raises-exception"], 1: ["skip-execution"]})
    source = _write(tmp_path / "nb.ipynb", nb)
    run = _executed(nb)
    run["cells"][1]["outputs"] = [
        {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "", "traceback": []}
    ]
    run["cells"][2]["execution_count"] = None
    run["cells"][2]["outputs"] = []
    copy = tmp_path / "_build" / "jupyter_execute" / "nb.ipynb"
    _build(copy, run, _record())
    assert ext.check_executed_copy(source, copy, KEY) == []


def test_fingerprint_tracks_package_results_and_data_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ext.FINGERPRINT_ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dlcourse" / "nn").mkdir(parents=True)
    module = tmp_path / "dlcourse" / "nn" / "linear.py"
    module.write_text("A = 1\n")
    (tmp_path / "book" / "results").mkdir(parents=True)
    (tmp_path / "book" / "results" / "lab.json").write_text("{}")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    base = ext.fingerprint(tmp_path)
    assert ext.fingerprint(tmp_path) == base

    # Byte-code, checkpoints and unrelated files do not count.
    (tmp_path / "dlcourse" / "nn" / "__pycache__").mkdir()
    (tmp_path / "dlcourse" / "nn" / "__pycache__" / "linear.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / "README.md").write_text("words")
    assert ext.fingerprint(tmp_path) == base

    changes = {
        "package file": lambda: module.write_text("A = 2\n"),
        "new package file": lambda: (tmp_path / "dlcourse" / "new.py").write_text(""),
        "recorded result": lambda: (tmp_path / "book" / "results" / "lab.json").write_text("[]"),
        "requirements": lambda: (tmp_path / "requirements.txt").write_text("numpy==2\n"),
        "DLCOURSE_DATA": lambda: monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path)),
        "DLCOURSE_OFFLINE": lambda: monkeypatch.setenv("DLCOURSE_OFFLINE", "1"),
    }
    seen = {base}
    for what, change in changes.items():
        change()
        now = ext.fingerprint(tmp_path)
        assert now not in seen, what
        seen.add(now)


def test_execution_key_mode_follows_dlcourse_quick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    assert ext.ExecutionKey.current(tmp_path).mode == "quick"
    monkeypatch.setenv("DLCOURSE_QUICK", "0")
    assert ext.ExecutionKey.current(tmp_path).mode == "full"
    monkeypatch.delenv("DLCOURSE_QUICK")
    assert ext.ExecutionKey.current(tmp_path).mode == "full"


def test_cache_is_emptied_only_when_the_fingerprint_changes(tmp_path: Path) -> None:
    cache = tmp_path / "quick"
    assert ext._prepare_cache(cache, KEY) is False
    (cache / "global.db").write_text("executed outputs")
    assert ext._prepare_cache(cache, KEY) is False
    assert (cache / "global.db").exists()
    assert ext._prepare_cache(cache, ext.ExecutionKey("quick", "0" * 64)) is True
    assert not (cache / "global.db").exists()


def test_copy_taken_from_the_cache_gets_its_outputs_back(tmp_path: Path) -> None:
    """myst-nb writes a cache hit's copy without outputs; the build puts the cached ones back."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    source = nbformat.v4.new_notebook()
    source.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("1 + 1")]
    executed = copy_module.deepcopy(source)
    executed.cells[1].execution_count = 1
    executed.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    ]
    cache = tmp_path / "cache"
    get_cache(str(cache)).cache_notebook_bundle(
        CacheBundleIn(executed, "x.ipynb"),
        check_validity=False,
    )
    copy = tmp_path / "x.ipynb"
    copy.write_text(nbformat.writes(source), encoding="utf-8")  # what myst-nb 1.4 writes
    assert ext.restore_cached_outputs(copy, cache) is True
    restored = nbformat.read(copy, as_version=4).cells[1]
    assert restored.execution_count == 1 and restored.outputs[0]["data"]["text/plain"] == "2"
    assert ext.restore_cached_outputs(copy, cache) is False  # a copy with outputs is kept
    other = tmp_path / "y.ipynb"
    source.cells[1].source = "2 + 2"  # not in the cache: left alone
    other.write_text(nbformat.writes(source), encoding="utf-8")
    assert ext.restore_cached_outputs(other, cache) is False


# --------------------------------------------------------------------------------------------
# The conftest collector, run as pytest runs it (collection only: no notebook executes).
# --------------------------------------------------------------------------------------------

SAMPLE = "book/02_feedforward/04_autodiff.ipynb"


def _collect(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", SAMPLE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_conftest_reuses_a_fresh_copy_and_falls_back_to_nbval(tmp_path: Path) -> None:
    build = tmp_path / "_build"
    source = ROOT / SAMPLE
    nb = json.loads(source.read_text(encoding="utf-8"))
    copy = ext.executed_copy_path(build, SAMPLE.removesuffix(".ipynb"))
    # The subprocess computes the key the same way: same files, same environment.
    key = ext.ExecutionKey("quick" if ext.quick_mode() else "full", ext.fingerprint(ROOT))
    _build(copy, _executed(nb), _record(key))

    reused = _collect(f"--book-build={build}")
    assert f"{SAMPLE}::executed by the book build" in reused
    assert "::Cell " not in reused

    # The copy is still fresh, but the reader asked for nbval (stale copies: tests above).
    forced = _collect(f"--book-build={build}", "--execute-notebooks")
    assert f"{SAMPLE}::Cell 0" in forced
    assert "executed by the book build" not in forced


# --------------------------------------------------------------------------------------------
# The Sphinx extension inside a real (tiny) jupyter-book build.
# --------------------------------------------------------------------------------------------

TINY_CONFIG = f"""\
title: tiny
only_build_toc_files: true
execute:
  execute_notebooks: cache
  stderr_output: warn
sphinx:
  local_extensions:
    executed_notebooks: {EXT_DIR}
"""
TINY_TOC = "format: jb-book\nroot: index\nchapters:\n  - file: nb\n"
TINY_CELL = (
    "import os, pathlib\n"
    "print('mode=' + os.environ.get('DLCOURSE_QUICK', 'unset'))\n"
    "print('package=' + pathlib.Path('requirements.txt').read_text().strip())\n"
)


def _jupyter_book(book: Path, quick: bool) -> str:
    exe = shutil.which("jupyter-book")
    if exe is None:
        pytest.skip("jupyter-book is not installed (it comes with requirements.txt)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DLCOURSE_"))}
    if quick:
        env["DLCOURSE_QUICK"] = "1"
    result = subprocess.run(
        [exe, "build", str(book), "-W", "--keep-going"],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return (book / "_build" / "html" / "nb.html").read_text(encoding="utf-8")


def test_build_records_each_mode_apart_and_reexecutes_after_a_package_change(
    tmp_path: Path,
) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "requirements.txt").write_text("one\n")  # part of the fingerprint
    (book / "_config.yml").write_text(TINY_CONFIG)
    (book / "_toc.yml").write_text(TINY_TOC)
    (book / "index.md").write_text("# Tiny\n\nA page.\n")
    nb = _notebook(TINY_CELL)
    _write(book / "nb.ipynb", nb)
    copy = ext.executed_copy_path(book / "_build", "nb")

    html = _jupyter_book(book, quick=True)
    assert "mode=1" in html and "package=one" in html
    record = json.loads(ext.record_path(copy).read_text())
    assert record["mode"] == "quick" and record["succeeded"] is True

    # A full-mode build after a quick one must not show the quick outputs (its own cache).
    html = _jupyter_book(book, quick=False)
    assert "mode=unset" in html and "mode=1" not in html
    assert json.loads(ext.record_path(copy).read_text())["mode"] == "full"

    # A changed fingerprint (package, requirements) re-executes instead of serving cached outputs.
    (book / "requirements.txt").write_text("two\n")
    html = _jupyter_book(book, quick=True)
    assert "package=two" in html and "package=one" not in html
    record = json.loads(ext.record_path(copy).read_text())
    assert record["mode"] == "quick"
    out = json.loads(copy.read_text())
    assert "package=two" in "".join(out["cells"][1]["outputs"][0]["text"])
