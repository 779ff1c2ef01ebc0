"""Tests of ``dlcourse/grading/make_exercises.py``: markers, stubs, staleness, ``stub_only``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlcourse.grading import repo_root
from dlcourse.grading.make_exercises import (
    MarkerError,
    exercise_ids,
    generate,
    main,
    make_stub_source,
    parse_regions,
    stale_files,
    stub_only,
)

GOOD = textwrap.dedent(
    '''\
    """A module."""


    class Layer:
        def forward(self, x):
            """Docstring stays."""
            y = 2
            # BEGIN SOLUTION mod.layer
            out = x * y
            return out
            # END SOLUTION

        def backward(self, dout):
            # BEGIN SOLUTION mod.layer
            return dout * 2
            # END SOLUTION


    def f(x):
        # BEGIN SOLUTION mod.f
        return x + 1
        # END SOLUTION
    '''
)


def _make_root(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "solutions").mkdir(parents=True)
    (tmp_path / "exercises").mkdir()
    for name, text in files.items():
        (tmp_path / "solutions" / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_parse_regions_of_a_good_file() -> None:
    regions = parse_regions(GOOD, "mod.py")
    assert [(r.exercise_id, r.owner, r.indent) for r in regions] == [
        ("mod.layer", "Layer", " " * 8),
        ("mod.layer", "Layer", " " * 8),
        ("mod.f", "f", " " * 4),
    ]


def test_stub_replaces_regions_keeps_the_rest_and_compiles() -> None:
    out = make_stub_source(GOOD, "mod.py")
    assert out.startswith("# GENERATED from solutions/mod.py by")
    assert "edit solutions/, not this file" in out
    assert '        raise NotImplementedError("exercise mod.layer")\n' in out
    assert '    raise NotImplementedError("exercise mod.f")\n' in out
    assert "BEGIN SOLUTION" not in out and "x * y" not in out and "x + 1" not in out
    assert '"""Docstring stays."""' in out and "y = 2" in out
    compile(out, "mod.py", "exec")
    namespace: dict = {}
    exec(compile(out, "mod.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="exercise mod.f"):
        namespace["f"](1)


def test_stub_only_some_ids_and_crlf() -> None:
    out = make_stub_source(GOOD, "mod.py", {"mod.f"}, header=False)
    assert "x * y" in out and "# BEGIN SOLUTION mod.layer" in out
    assert 'raise NotImplementedError("exercise mod.f")' in out
    crlf = make_stub_source(GOOD.replace("\n", "\r\n"), "mod.py")
    assert "\r\n" in crlf and "\n" not in crlf.replace("\r\n", "")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("def f():\n    # BEGIN SOLUTION mod.f\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    # END SOLUTION\n", "without a matching BEGIN"),
        (
            "def f():\n    # BEGIN SOLUTION mod.f\n    # BEGIN SOLUTION mod.g\n"
            "    # END SOLUTION\n    # END SOLUTION\n",
            "nested",
        ),
        ("def f():\n    # BEGIN SOLUTION other.f\n    # END SOLUTION\n", "expected 'mod.<name>'"),
        ("def f():\n    # BEGIN SOLUTION f\n    # END SOLUTION\n", "exercise id"),
        ("def f():\n    # BEGIN SOLUTION mod.Bad\n    # END SOLUTION\n", "exercise id"),
        ("def f():\n    # BEGIN SOLUTION mod.f extra\n    # END SOLUTION\n", "malformed"),
        ("def f():\n    #BEGIN SOLUTION mod.f\n    # END SOLUTION\n", "malformed"),
        (
            "def f():\n    # BEGIN SOLUTION mod.f\n    # END SOLUTION\n"
            "def g():\n    # BEGIN SOLUTION mod.f\n    # END SOLUTION\n",
            "duplicate exercise id 'mod.f'",
        ),
    ],
)
def test_marker_errors(text: str, match: str) -> None:
    with pytest.raises(MarkerError, match=match):
        parse_regions(text, "mod.py")


def test_generate_is_idempotent_and_check_detects_staleness(tmp_path: Path) -> None:
    root = _make_root(tmp_path, {"mod.py": GOOD})
    assert main(["--check", "--root", str(root)]) == 1  # nothing generated yet
    assert generate(root) == [root / "exercises" / "mod.py"]
    assert generate(root) == []
    assert stale_files(root) == []
    assert main(["--check", "--root", str(root)]) == 0
    # editing a solution makes the exercise stale
    (root / "solutions" / "mod.py").write_text(GOOD.replace("x + 1", "x + 2"), encoding="utf-8")
    assert main(["--check", "--root", str(root)]) == 0  # answers changed, stubs did not
    (root / "solutions" / "mod.py").write_text(GOOD.replace("y = 2", "y = 3"), encoding="utf-8")
    assert stale_files(root) == [root / "exercises" / "mod.py"]
    assert main(["--check", "--root", str(root)]) == 1
    # an orphaned generated file is stale and gets removed; hand-written files are left alone
    generate(root)
    (root / "solutions" / "mod.py").rename(root / "solutions" / "new.py")
    (root / "exercises" / "notes.py").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(MarkerError):  # ids of new.py must start with 'new.'
        stale_files(root)
    (root / "solutions" / "new.py").write_text(GOOD.replace("mod.", "new."), encoding="utf-8")
    assert set(stale_files(root)) == {root / "exercises" / "new.py", root / "exercises" / "mod.py"}
    generate(root)
    assert sorted(p.name for p in (root / "exercises").iterdir()) == ["new.py", "notes.py"]


def test_main_reports_marker_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _make_root(tmp_path, {"mod.py": "# BEGIN SOLUTION mod.f\n"})
    assert main(["--root", str(root)]) == 2
    assert "mod.py:1: BEGIN SOLUTION 'mod.f' is never closed" in capsys.readouterr().err


def test_stub_only(tmp_path: Path) -> None:
    root = _make_root(tmp_path / "repo", {"mod.py": GOOD, "answers.md": "# written\n"})
    assert exercise_ids(root) == {"mod.layer": "mod.py", "mod.f": "mod.py"}
    dest = stub_only("mod.f", tmp_path / "tree", root=root)
    text = (dest / "mod.py").read_text(encoding="utf-8")
    assert 'raise NotImplementedError("exercise mod.f")' in text and "x * y" in text
    assert (dest / "answers.md").read_text(encoding="utf-8") == "# written\n"
    with pytest.raises(KeyError, match="mod.nope"):
        stub_only("mod.nope", tmp_path / "other", root=root)


def test_repository_exercises_are_up_to_date() -> None:
    root = repo_root()
    stale = [str(p.relative_to(root)) for p in stale_files(root)]
    assert not stale, f"stale {stale}: run `python -m dlcourse.grading.make_exercises`"


def test_command_line_check_on_the_repository() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlcourse.grading.make_exercises", "--check"],
        capture_output=True, text=True, cwd=repo_root(), timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr
