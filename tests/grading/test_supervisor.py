"""Tests of the grader's parent side without a child: the event checks, crash bookkeeping,
the bounded tail, messages and the CLI's help (``supervisor.py``, ``child.py``, ``report.py``,
``impl.public_name``, ``cli.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dlcourse.grading.child import Tail, describe_exit
from dlcourse.grading.guard import Snapshot
from dlcourse.grading.impl import public_name
from dlcourse.grading.report import format_table, summarize
from dlcourse.grading.supervisor import Supervisor

A, B = "tests/exercises/test_m.py::test_a", "tests/exercises/test_m.py::test_b"
INFO = {"exercise": "m.a", "points": 1, "depends": [], "forbid": []}


def _sup() -> Supervisor:
    sup = Supervisor(Path("/repo"), 30.0, None)
    sup.handle({"e": "collected", "tests": {A: INFO, B: {**INFO, "exercise": "m.b"}}})
    return sup


def _result(nid: str, outcome: str = "passed") -> dict:
    return {"e": "result", "id": nid, "outcome": outcome, "message": "", "duration": 0.1,
            "modules": ["m"]}


def test_results_must_belong_to_the_running_test_once() -> None:
    sup = _sup()
    assert sup.handle({"e": "start", "id": A}) is None
    assert sup.handle(_result(A)) is None
    assert sup.tests is not None and sup.tests[A]["outcome"] == "passed"
    assert sup.handle(_result(A)) == ("a second result for test_a", A)
    assert sup.handle(_result(B)) == ("a result for test_b, which is not running", B)
    assert sup.handle(_result("t.py::nope"))[0] == "a result for an unknown test 't.py::nope'"
    assert sup.handle({"e": "start", "id": A}) == ("a second run of test_a", A)
    assert sup.handle({"e": "bogus"}) == ("an unknown event 'bogus'", None)


def test_a_forged_result_then_an_exit_does_not_count() -> None:
    sup = _sup()
    sup.handle({"e": "start", "id": A})
    sup.handle(_result(A))
    assert sup.after("eof", 0, progress=True, timeout=60) is None  # restart for test_b
    assert sup.tests is not None and sup.tests[A]["outcome"] == "failed"
    assert "result does not count" in sup.tests[A]["message"]


def test_a_crash_costs_the_running_test_and_a_hung_import_is_remembered() -> None:
    sup = _sup()
    sup.handle({"e": "start", "id": A})
    sup.handle({"e": "import", "phase": "start", "path": "/repo/exercises/m.py"})
    assert sup.after("test timeout", -9, progress=False, timeout=60) is None
    assert sup.tests is not None
    assert sup.tests[A]["message"] == "importing exercises/m.py did not finish within 30 s"
    assert sup.imports == {"/repo/exercises/m.py": sup.tests[A]["message"]}
    sup.handle({"e": "start", "id": B})
    assert sup.after("eof", -9, progress=False, timeout=60) == "complete"
    assert sup.tests[B]["message"] == "crashed: the test process killed by SIGKILL during this test"


def test_a_flag_fails_the_test_whatever_the_child_says() -> None:
    sup = _sup()
    sup.handle({"e": "start", "id": A})
    sup.handle({"e": "flag", "id": A, "message": "read the reference solutions"})
    sup.handle(_result(A, "passed"))
    assert sup.tests is not None and sup.tests[A]["outcome"] == "failed"
    assert sup.tests[A]["message"] == "read the reference solutions"


def test_tail_and_exit_descriptions() -> None:
    tail = Tail(1024)
    for _ in range(1000):
        tail.add(b"x" * 100_000)
    assert tail.total == 100_000_000 and len(tail.text()) == 1024
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with status 3 (os._exit or similar)"


def test_snapshot_sees_a_patched_function_and_a_replaced_attribute() -> None:
    import types

    mod = types.ModuleType("fake")
    exec("def f():\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n", vars(mod))
    snap = Snapshot([mod])
    assert snap.changes() == []
    mod.f.__code__ = (lambda: 3).__code__
    mod.C.extra = 1
    mod.new_name = 1  # a new module attribute (e.g. a submodule) is allowed
    assert snap.changes() == ["fake.C.extra", "fake.f"]


def test_messages_name_the_cause_first_and_no_private_module() -> None:
    assert public_name("module '_dlcourse_impl_0a1b2c3d_ch02_feedforward_12' has no") == (
        "module 'ch02_feedforward' has no"
    )
    report = {"tests": {
        "t::a": {"exercise": "m.a", "points": 1, "depends": [], "outcome": "failed",
                 "message": "boom"},
        "t::b": {"exercise": "m.b", "points": 1, "depends": ["m.a"], "outcome": "failed",
                 "message": "error in setup: ImportError: importing exercises/m.py failed: "
                            "SyntaxError: invalid syntax (m.py, line 3)"},
        "t::c": {"exercise": "m.c", "points": 1, "depends": ["m.a"], "outcome": "failed",
                 "message": "wrong"},
        "t::d": {"exercise": "m.d", "points": 1, "depends": [], "outcome": "pending",
                 "message": "not run (earlier crash in test_x)"},
    }}
    rows = {r.exercise: r for r in summarize(report)}
    assert rows["m.b"].message.endswith("(m.py, line 3); needs m.a (FAIL)")
    assert rows["m.c"].message == "needs m.a (FAIL); wrong"
    assert rows["m.d"].message == "not run (earlier crash in test_x)"
    table = format_table(list(rows.values()), width=60)
    assert max(len(line) for line in table.splitlines()) <= 60
    assert "line 3); needs m.a" in " ".join(table.split())


def test_cli_help_explains_scoring_and_lists_the_exercises() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "grade", "--help"],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert "all or nothing" in out and '"needs X (FAIL); ..."' in out
    assert "--memory-limit MB" in out and "--timeout-per-test SECONDS" in out
    assert "lab1: linear_backward, linear_forward" in out
