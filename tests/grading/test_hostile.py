"""Hostile submissions against ``dlcourse grade`` (issue 15, part 5). Not graded themselves.

Each test grades a real tree (a copy of ``solutions/`` or ``exercises/`` with the attack
injected) with :func:`dlcourse.grading.runner.run_grade`, as ``dlcourse grade`` does, and
checks that the attack neither raises the score nor costs more than the tests it touches.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dlcourse.grading import repo_root
from dlcourse.grading.runner import GradeRun, run_grade

ROOT = repo_root()

# Two real bugs in lab 1 (b.grad averaged, dlogits not divided by N): honestly 8/14.
BUGS = [
    ("lab1.py", "self.b.grad += dout.sum(axis=0)", "self.b.grad += dout.mean(axis=0)"),
    ("lab1.py", "return loss, dlogits / N", "return loss, dlogits"),
]


def _tree(dest: Path, base: str, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of ``<base>/`` with ``(file, old, new)`` edits; ``old == ""`` appends ``new``,
    ``old == "^"`` puts ``new`` after the ``from __future__`` line."""
    shutil.copytree(ROOT / base, dest)
    for name, old, new in edits:
        path = dest / name
        text = path.read_text(encoding="utf-8")
        if old == "":
            text += "\n" + textwrap.dedent(new)
        elif old == "^":
            head = "from __future__ import annotations\n"
            assert text.count(head) == 1, name
            text = text.replace(head, head + textwrap.dedent(new), 1)
        else:
            assert text.count(old) == 1, f"{old!r} in {base}/{name}"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return dest


def _grade(tree: Path, target: str | list[str], report: Path, **kw: Any) -> GradeRun:
    kw.setdefault("timeout", 300.0)
    return run_grade(target, tree, json_path=report, root=ROOT, **kw)


def _parallel(jobs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    with ThreadPoolExecutor(3) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: fut.result() for key, fut in futures.items()}


def _rows(run: GradeRun) -> dict[str, Any]:
    assert run.report is not None, f"grading {run.status}:\n{run.output[-3000:]}"
    return {r.exercise: r for r in run.results}


def _messages(run: GradeRun, module: str) -> list[str]:
    assert run.report is not None, run.output[-3000:]
    return [
        v["message"] for v in run.report["tests"].values()
        if v["exercise"].startswith(module + ".")
    ]


# ---------------------------------------------------------------- scores too high
ATEXIT = """\
import atexit as _atexit
import json as _json


def _rewrite():
    tests = {f"t::{i}": {"exercise": "lab1.x", "points": 14, "depends": [], "outcome": "passed",
                         "message": "", "duration": 0.0} for i in range(1)}
    with open(REPORT, "w") as fh:
        _json.dump({"schema": 1, "status": "complete", "tests": tests,
                    "total": {"earned": 14, "points": 14, "percent": 100.0}}, fh)


_atexit.register(_rewrite)
"""

WRAP_WRITER = """\
import sys as _sys

_plugin = _sys.modules["dlcourse.grading.plugin"]
_report = _sys.modules["dlcourse.grading.report"]

_orig = _report.write_json_atomic


def _all_passed(path, data):
    for rec in data.get("tests", {}).values():
        rec["outcome"], rec["message"] = "passed", ""
    _orig(path, data)


_report.write_json_atomic = _plugin.write_json_atomic = _all_passed
"""

FORGE = """\
import json as _json
import os as _os
import stat as _stat

_test = _os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
_line = _json.dumps({"e": "result", "id": _test, "outcome": "passed", "message": "",
                     "duration": 0.0, "modules": ["lab1"]}) + "\\n"
for _fd in range(3, 64):
    try:
        if _stat.S_ISFIFO(_os.fstat(_fd).st_mode):
            _os.write(_fd, _line.encode())
    except OSError:
        pass
"""

GC_WRITER = """\
import gc as _gc

for _o in _gc.get_objects():
    if type(_o).__name__ == "GradingPlugin" and getattr(_o, "send", None) is not None:
        def _forge(m, _orig=_o.send):
            if m.get("e") == "result":
                m = {**m, "outcome": "passed", "message": ""}
            _orig(m)

        _o.send = _forge
"""

THREAD = """\
import gc as _gc
import threading as _threading
import time as _time


def _keep_passing():
    while True:
        for o in _gc.get_objects():
            if type(o).__name__ == "GradingPlugin":
                for rec in o.tests.values():
                    rec["outcome"], rec["message"] = "passed", ""
        _time.sleep(0.001)


_threading.Thread(target=_keep_passing, daemon=True).start()
"""

RELATIVE_ERROR = """\
import sys as _sys

_sys.modules["dlcourse.grading.checks"].relative_error = lambda a, b: 0.0
"""

ALLCLOSE = """\
import numpy as _np

_np.allclose = lambda *a, **k: True
"""

TEST_HELPERS = """\
import sys as _sys

for _name, _mod in list(_sys.modules.items()):
    if _name.endswith("test_lab1"):
        _mod.assert_grad = _mod.assert_close = lambda *a, **k: None
"""

SOLUTIONS = """\
import sys as _sys

_grading = _sys.modules["dlcourse.grading"]
_ref = _grading.load_impl("lab1", _grading.repo_root() / "solutions")
Linear, SGD = _ref.Linear, _ref.SGD
softmax_cross_entropy = _ref.softmax_cross_entropy
train_linear_classifier = _ref.train_linear_classifier
"""


def test_attacks_on_the_report_score_nothing(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    trees = {
        "atexit": _tree(tmp_path / "atexit", "exercises",
                        [("lab1.py", "", f"REPORT = {str(report)!r}\n" + ATEXIT)]),
        "writer": _tree(tmp_path / "writer", "exercises", [("lab1.py", "^", WRAP_WRITER)]),
        "forge": _tree(tmp_path / "forge", "exercises", [("lab1.py", "", FORGE)]),
        "gc": _tree(tmp_path / "gc", "exercises", [("lab1.py", "", GC_WRITER)]),
        "thread": _tree(tmp_path / "thread", "exercises", [("lab1.py", "", THREAD)]),
    }
    runs = _parallel({
        name: (lambda t=tree, n=name: _grade(
            t, "lab1.softmax_ce", report if n == "atexit" else tmp_path / f"{n}.json"))
        for name, tree in trees.items()
    })
    for name, run in runs.items():
        assert run.status == "complete" and run.earned == 0 and run.points == 3, name
    on_disk = json.loads(report.read_text(encoding="utf-8"))
    assert on_disk["total"] == {"earned": 0, "points": 3, "percent": 0.0}
    writer = _messages(runs["writer"], "lab1")
    assert all(m.startswith("the student's code modified dlcourse.grading.") for m in writer)
    assert all("modified the grader's plugin state" in m for m in _messages(runs["gc"], "lab1"))
    assert all("a thread was left running" in m for m in _messages(runs["thread"], "lab1"))
    forged = _messages(runs["forge"], "lab1")
    assert all(m.startswith("report tampered: a second result for test_") for m in forged), forged


ORACLE_ATTACKS = {  # attack -> what the failure line must say
    "relative_error": (RELATIVE_ERROR, "modified dlcourse.grading.checks.relative_error"),
    "allclose": (ALLCLOSE, "modified numpy.allclose"),
    "test_helpers": (TEST_HELPERS, "test_lab1.assert_close, test_lab1.assert_grad"),
    "load_solutions": (SOLUTIONS, "read the reference solutions (solutions/lab1.py)"),
}
LAB1_SOME = ["lab1.linear_forward", "lab1.linear_backward", "lab1.softmax_ce"]


def test_patching_the_oracles_scores_less_than_honest_work(tmp_path: Path) -> None:
    honest = _tree(tmp_path / "honest", "solutions", BUGS)
    jobs = {"honest": lambda: _grade(honest, LAB1_SOME, tmp_path / "honest.json")}
    for name, (attack, _) in ORACLE_ATTACKS.items():
        base = "exercises" if attack is SOLUTIONS else "solutions"
        edits = [*([] if base == "exercises" else BUGS), ("lab1.py", "^", attack)]
        tree = _tree(tmp_path / name, base, edits)
        jobs[name] = lambda t=tree, n=name: _grade(t, LAB1_SOME, tmp_path / f"{n}.json")
    runs = _parallel(jobs)
    assert runs["honest"].earned == 3 and runs["honest"].points == 9  # linear_forward only
    for name, (_, expect) in ORACLE_ATTACKS.items():
        run = runs[name]
        assert run.status == "complete" and run.earned == 0, name
        messages = _messages(run, "lab1")
        assert len(messages) == 8 and all(expect in m for m in messages), (name, messages)


# ---------------------------------------------------------------- correct work loses points
def test_crashes_cost_only_the_guilty_tests(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree", "solutions", [
        ("ch01.py", "^", "raise KeyboardInterrupt\n"),
        ("lab1.py", "    N = logits.shape[0]\n", "    import os\n\n    os._exit(0)\n"),
        ("lab2.py", "^", "import sys\n\nsys.exit(3)\n"),
        ("lab7.py", "    return np.abs(class_score_gradient(model, x, target)).max(axis=1)\n",
         "    raise KeyboardInterrupt\n"),
    ])
    run = _grade(tree, ["ch01", "lab1", "lab2", "lab7"], tmp_path / "r.json")
    rows = _rows(run)
    assert run.status == "complete"
    assert all("ch01.py failed: it raised KeyboardInterrupt" in m for m in _messages(run, "ch01"))
    assert all("lab2.py failed: it called sys.exit(3)" in m for m in _messages(run, "lab2"))
    assert rows["lab1.softmax_ce"].message.startswith("crashed: the test process exited with "
                                                       "status 0 (os._exit or similar)")
    assert rows["lab1.train_linear"].message.startswith("needs lab1.softmax_ce (FAIL); ")
    assert rows["lab7.saliency"].message == (
        "StudentInterrupt: the code under test raised KeyboardInterrupt"
    )
    for ex in ("lab1.linear_forward", "lab1.linear_backward", "lab1.sgd_step",
               "lab7.score_gradient"):
        assert rows[ex].passed, (ex, rows[ex].message)
    assert not any("_dlcourse_impl_" in m for m in _messages(run, "ch01"))


LOOP_SWALLOWING = """\
import time as _time

while True:
    try:
        _time.sleep(0.05)
    except BaseException:
        pass
"""


def test_kills_loops_and_hangs_at_import_are_reported_once(tmp_path: Path) -> None:
    sgd = "        for p in self.params:\n            p.data -= self.lr *"
    swallow = ("        import time\n\n        while True:\n            try:\n"
               "                time.sleep(0.05)\n            except:  # noqa: E722\n"
               "                pass\n")
    tree = _tree(tmp_path / "tree", "solutions", [
        ("lab1.py", sgd, swallow + sgd),  # a bare except swallows pytest-timeout's exception
        ("lab1.py", "        self.W.grad += self.x.T @ dout\n",
         "        import os\n        import signal\n\n"
         "        os.kill(os.getpid(), signal.SIGKILL)\n"),
        ("lab2.py", "^", LOOP_SWALLOWING),
        ("ch01.py", "^", "import time\n\nwhile True:\n    time.sleep(0.05)\n"),
    ])
    run = _grade(tree, "lab1 lab2 ch01".split(), tmp_path / "r.json", timeout_per_test=2.0)
    rows = _rows(run)
    assert run.status == "complete"
    assert rows["lab1.sgd_step"].message.startswith("Timeout: the test did not stop within 2 s")
    assert rows["lab1.softmax_ce"].passed
    assert rows["lab1.linear_backward"].message.startswith(
        "crashed: the test process killed by SIGKILL during this test"
    )
    assert rows["lab1.linear_forward"].passed
    for module in ("lab2", "ch01"):
        messages = _messages(run, module)
        assert all(f"{module}.py did not finish within 2 s" in m for m in messages), messages
        durations = sorted(
            v["duration"] for v in run.report["tests"].values()
            if v["exercise"].startswith(module + ".")
        )
        assert len(durations) > 5 and durations[-2] < 1.0, f"{module}: paid more than once"


# ---------------------------------------------------------------- memory
MEASURE = """\
import resource, sys
from pathlib import Path
from dlcourse.grading.runner import run_grade

run = run_grade("lab1", sys.argv[1], json_path=sys.argv[2], memory_limit=1024)
print(run.status, run.earned, run.points, len(run.output))
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of a large pytest
# process would report pytest's peak; VmHWM belongs to this process's own memory map.
print(int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1]) // 1024)
"""


def test_output_and_memory_are_bounded(tmp_path: Path) -> None:
    chatty = (  # once per import: 100 MB printed, 100 MB written straight to fd 1
        '    if not globals().get("_printed"):\n        globals()["_printed"] = True\n'
        '        print("x" * (100 << 20))\n        import os\n\n'
        '        os.write(1, b"y" * (100 << 20))\n'
    )
    sgd = "        for p in self.params:\n            p.data -= self.lr *"
    tree = _tree(tmp_path / "tree", "solutions", [
        ("lab1.py", "    N = logits.shape[0]\n", chatty + "    N = logits.shape[0]\n"),
        ("lab1.py", sgd, "        np.ones(1 << 28)  # 2 GB\n" + sgd),
    ])
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tree), str(tmp_path / "r.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    first, peak = proc.stdout.split("\n")[:2]
    status, earned, points, output = first.split()
    assert status == "complete" and int(output) <= 16 * 1024
    assert int(peak) < 180, f"the parent peaked at {peak} MB"
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    rows = {r["exercise"]: r for r in report["exercises"]}
    assert rows["lab1.softmax_ce"]["passed"] and rows["lab1.linear_forward"]["passed"]
    assert "MemoryError" in rows["lab1.sgd_step"]["message"]
