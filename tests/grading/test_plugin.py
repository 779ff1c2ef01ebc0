"""Tests of ``dlcourse/grading/plugin.py`` and ``report.py``: marker checks, guards, report.

Each case writes a tiny graded test suite into a temporary folder and runs pytest on it in a
subprocess with ``DLCOURSE_GRADE_REPORT`` set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlcourse.grading.report import format_table, read_report, summarize

CONFTEST = """\
from dlcourse.grading.plugin import GradingPlugin


def pytest_configure(config):
    GradingPlugin.install(config)
"""


def _run(
    tmp_path: Path, tests: str, select: str = "", impl: Path | None = None
) -> tuple[int, str, dict | None]:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_graded.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "DLCOURSE_GRADE_REPORT": str(report),
        "DLCOURSE_GRADE_SELECT": select,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    if impl is not None:
        env["DLCOURSE_IMPL"] = str(impl)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr, read_report(report)


def test_report_outcomes_and_skip_xfail_guard(tmp_path: Path) -> None:
    code, out, report = _run(
        tmp_path,
        """
        import pytest

        ex = pytest.mark.exercise

        @ex("m.a", points=2)
        def test_pass():
            print("students may print")

        @ex("m.a", points=1)
        def test_fail():
            raise NotImplementedError("exercise m.a")

        @ex("m.e", points=1)
        def test_check_fails():
            assert 1 + 1 == 3, "sum: expected 3, got 2"

        @ex("m.b", points=1, depends=["m.a"])
        def test_skip():
            pytest.skip("no thanks")

        @ex("m.c", points=1)
        def test_xfail():
            pytest.xfail("later")

        @pytest.fixture
        def broken():
            raise ImportError("cannot import student code")

        @ex("m.d", points=1)
        def test_setup_error(broken):
            pass

        def test_ungraded():
            pass
        """,
    )
    assert code == 1, out
    assert report is not None and report["status"] == "complete"
    tests = {k.rsplit("::", 1)[1]: v for k, v in report["tests"].items()}
    assert "test_ungraded" not in tests
    assert tests["test_pass"]["outcome"] == "passed"
    assert tests["test_fail"]["message"] == "NotImplementedError: exercise m.a"
    assert tests["test_check_fails"]["message"] == "sum: expected 3, got 2"
    assert tests["test_skip"]["outcome"] == "failed"
    assert "may not be skipped" in tests["test_skip"]["message"]
    assert tests["test_xfail"]["outcome"] == "failed"
    assert "may not xfail" in tests["test_xfail"]["message"]
    assert tests["test_setup_error"]["message"].startswith("error in setup: ImportError")
    rows = {r.exercise: r for r in summarize(report)}
    assert (rows["m.a"].points, rows["m.a"].earned, rows["m.a"].passed) == (3, 0, False)
    assert rows["m.b"].message.startswith("needs m.a (FAIL); ")
    table = format_table(list(rows.values()))
    assert table.splitlines()[0].split(maxsplit=3) == [
        "m.a", "0/3", "FAIL", "NotImplementedError: exercise m.a  [test_fail]"
    ]
    assert table.splitlines()[-1].split() == ["TOTAL", "0/7", "(0%)"]


def test_selection_by_module_and_id(tmp_path: Path) -> None:
    suite = """
        import pytest

        @pytest.mark.exercise("m.a", points=1)
        def test_a():
            pass

        @pytest.mark.exercise("m.b", points=1)
        def test_b():
            pass

        @pytest.mark.exercise("n.c", points=1)
        def test_c():
            pass
        """
    _, _, report = _run(tmp_path, suite, select="m.b,n")
    assert report is not None
    assert sorted(v["exercise"] for v in report["tests"].values()) == ["m.b", "n.c"]
    code, out, _ = _run(tmp_path, suite, select="m.zzz")
    assert code == 4 and "unknown exercise or module 'm.zzz'" in out


@pytest.mark.parametrize(
    ("marker", "match"),
    [
        ('"Bad.id", points=1', "exercise id"),
        ('"m.a", points=0', "points: expected a positive int"),
        ('"m.a", points=1, depends=["m.nope"]', "depends on unknown exercises"),
        ('"m.a", points=1, depends="m.a"', "depends: expected a list"),
        ('"m.a", points=1, depends=["m.a"]', "cannot depend on itself"),
        ('"m.a", points=1, forbid="dlcourse.optim.Adam"', "forbid: expected a list"),
        ('"m.a", points=1, forbid=["dlcourse.optim.Adamm"]', "'dlcourse.optim.Adamm' names no"),
    ],
)
def test_malformed_markers_are_usage_errors(tmp_path: Path, marker: str, match: str) -> None:
    code, out, _ = _run(
        tmp_path,
        f"""
        import pytest

        @pytest.mark.exercise({marker})
        def test_x():
            pass
        """,
    )
    assert code == 4 and match in out, out


def test_forbid_applies_to_every_test_of_the_exercise(tmp_path: Path) -> None:
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "m.py").write_text(
        "from dlcourse import losses, optim\n\n\n"
        "def ce(z, y):\n    return losses.softmax_cross_entropy(z, y)[0]\n\n\n"
        "def adam(params):\n    return optim.Adam(params)\n",
        encoding="utf-8",
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    code, out, report = _run(
        suite,
        """
        import numpy as np
        import pytest

        from dlcourse import losses
        from dlcourse.grading import load_impl
        from dlcourse.nn import Parameter

        Z, Y = np.zeros((2, 3)), np.array([0, 1])


        @pytest.mark.exercise("m.ce", points=1,
                              forbid=["dlcourse.losses.softmax_cross_entropy"])
        def test_ce_named():
            load_impl("m").ce(Z, Y)


        @pytest.mark.exercise("m.ce", points=1)
        def test_ce_unmarked_test_of_the_same_exercise():
            load_impl("m").ce(Z, Y)


        @pytest.mark.exercise("m.ce", points=1)
        def test_the_test_keeps_the_real_function():
            load_impl("m")
            assert losses.softmax_cross_entropy(Z, Y)[0] == pytest.approx(np.log(3))


        @pytest.mark.exercise("m.adam", points=1)
        def test_other_exercise_is_not_affected():
            load_impl("m").ce(Z, Y)
            load_impl("m").adam([Parameter(np.zeros(2))])
        """,
        impl=impl,
    )
    assert report is not None, out
    tests = {k.rsplit("::", 1)[1]: v for k, v in report["tests"].items()}
    forbidden = (
        "ForbiddenError: implement this yourself: exercise m.ce may not call "
        "dlcourse.losses.softmax_cross_entropy"
    )
    assert tests["test_ce_named"]["message"] == forbidden
    assert tests["test_ce_unmarked_test_of_the_same_exercise"]["message"] == forbidden
    assert tests["test_the_test_keeps_the_real_function"]["outcome"] == "passed"
    assert tests["test_other_exercise_is_not_affected"]["outcome"] == "passed"
    assert tests["test_ce_named"]["forbid"] == ["dlcourse.losses.softmax_cross_entropy"]
    assert tests["test_other_exercise_is_not_affected"]["forbid"] == []


def test_skip_marks_on_graded_tests_are_usage_errors(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path,
        """
        import pytest

        @pytest.mark.xfail
        @pytest.mark.exercise("m.a", points=1)
        def test_x():
            pass
        """,
    )
    assert code == 4 and "may not carry a 'xfail' mark" in out


def test_summarize_unfinished_tests() -> None:
    report = {
        "schema": 1,
        "tests": {
            "t.py::a": {"exercise": "m.a", "points": 1, "depends": [], "outcome": "passed"},
            "t.py::b": {"exercise": "m.b", "points": 2, "depends": [], "outcome": "running"},
            "t.py::c": {"exercise": "m.c", "points": 1, "depends": [], "outcome": "pending"},
        },
    }
    rows = summarize(report)
    assert [(r.exercise, r.earned, r.passed) for r in rows] == [
        ("m.a", 1, True), ("m.b", 0, False), ("m.c", 0, False)
    ]
    assert rows[1].message.startswith("no result: the run stopped during this test")
    assert rows[2].message == "timed out / not run"
    assert format_table(rows).splitlines()[-1].split() == ["TOTAL", "1/4", "(25%)"]
