"""Tests of ``dlcourse/grading/impl.py``: which tree is imported, and how."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from dlcourse.grading import load_impl, repo_root, resolve_impl


def test_repo_root_and_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo_root()
    assert (root / "solutions").is_dir() and (root / "tests" / "exercises").is_dir()
    monkeypatch.delenv("DLCOURSE_IMPL", raising=False)
    assert resolve_impl() == root / "solutions"
    monkeypatch.setenv("DLCOURSE_IMPL", "exercises")
    assert resolve_impl() == root / "exercises"
    monkeypatch.setenv("DLCOURSE_ROOT", "/nonexistent/dlcourse")
    with pytest.raises(FileNotFoundError, match="DLCOURSE_ROOT"):
        repo_root()


def test_both_trees_coexist_and_imports_are_fresh() -> None:
    sol, ex = load_impl("lab1", "solutions"), load_impl("lab1", "exercises")
    assert sol is not load_impl("lab1", "solutions")
    assert sol.__name__ != ex.__name__ and sol.__file__ != ex.__file__
    assert sol.Linear(3, 2).forward(sol.np.ones((1, 3))).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="exercise lab1.linear_forward"):
        ex.Linear(3, 2).forward(ex.np.ones((1, 3)))


def test_path_trees_and_errors(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("VALUE = 42\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    assert load_impl("good", tmp_path).VALUE == 42
    assert load_impl("good", str(tmp_path)).VALUE == 42
    with pytest.raises(ImportError, match=r"broken\.py failed: SyntaxError"):
        load_impl("broken", tmp_path)
    with pytest.raises(FileNotFoundError, match="no file"):
        load_impl("missing", tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_impl("good", tmp_path / "nope")
    with pytest.raises(ValueError, match="module"):
        load_impl("../good", tmp_path)


def test_base_exceptions_at_import_name_the_module_but_a_real_ctrl_c_passes(
    tmp_path: Path,
) -> None:
    (tmp_path / "exits.py").write_text("import sys\n\nsys.exit(3)\n", encoding="utf-8")
    (tmp_path / "interrupts.py").write_text("raise KeyboardInterrupt\n", encoding="utf-8")
    (tmp_path / "ctrl_c.py").write_text(
        "import os, signal, time\n\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportError, match=r"exits\.py failed: it called sys\.exit\(3\)"):
        load_impl("exits", tmp_path)
    with pytest.raises(ImportError, match=r"interrupts\.py failed: it raised KeyboardInterrupt"):
        load_impl("interrupts", tmp_path)
    # A shell's background job (`cmd &`, as CI may run pytest) starts with SIGINT ignored:
    # install Python's own handler for this test so that the signal means Ctrl-C.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            load_impl("ctrl_c", tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not isinstance(info.value, ImportError)
