"""CI gates that prove the grading is real (issue 2, section 4). Not graded themselves.

1. ``solutions/`` scores 100 %.
2. The generated ``exercises/`` score 0, with every graded test failing.
3. A tree where only exercise X is stubbed fails exactly X's tests and those of the exercises
   that (transitively) declare X in ``depends``; every other test of X's module passes.
4. Mutants (typical student bugs) lose the points of their exercise.
5. Hostile student code (infinite loops, exceptions, prints, input mutation, syntax errors,
   ``os._exit``, a whole-run timeout) gives FAIL lines and a complete report, not a crash;
   the ``dlcourse grade`` command works end to end.

The grader runs pytest in subprocesses; independent runs go through a thread pool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dlcourse.grading import exercise_ids, repo_root, stub_only
from dlcourse.grading.runner import GradeRun, run_grade

ROOT = repo_root()
WORKERS = max(2, min(4, os.cpu_count() or 2))


def _grade(impl: str | Path, json_path: Path, target: str | None = None, **kw: Any) -> GradeRun:
    kw.setdefault("timeout", 300.0)
    return run_grade(target, impl, json_path=json_path, root=ROOT, **kw)


def _parallel(jobs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: fut.result() for key, fut in futures.items()}


def _tests(run: GradeRun) -> dict[str, dict[str, Any]]:
    assert run.report is not None, f"grading {run.status}:\n{run.output[-3000:]}"
    return run.report["tests"]


def _rows(run: GradeRun) -> dict[str, Any]:
    return {r.exercise: r for r in run.results}


def _mutated_tree(dest: Path, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of solutions/ with ``(file, old, new)`` replacements (each must apply)."""
    shutil.copytree(ROOT / "solutions", dest)
    for name, old, new in edits:
        text = (dest / name).read_text(encoding="utf-8")
        assert old in text, f"mutation target not found in solutions/{name}: {old!r}"
        (dest / name).write_text(text.replace(old, new), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeRun]:
    tmp = tmp_path_factory.mktemp("full")
    return _parallel(
        {tree: (lambda t=tree: _grade(t, tmp / f"{t}.json")) for tree in ("solutions", "exercises")}
    )


def _dependents(tests: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Exercise -> every exercise that depends on it, directly or transitively."""
    direct: dict[str, set[str]] = {}
    for rec in tests.values():
        for dep in rec["depends"]:
            direct.setdefault(dep, set()).add(rec["exercise"])
    closure: dict[str, set[str]] = {}
    for ex in {rec["exercise"] for rec in tests.values()}:
        seen: set[str] = set()
        stack = list(direct.get(ex, ()))
        while stack:
            d = stack.pop()
            if d not in seen:
                seen.add(d)
                stack.extend(direct.get(d, ()))
        closure[ex] = seen
    return closure


# ---------------------------------------------------------------- gates 1 and 2
def test_gate1_solutions_score_100(full_runs: dict[str, GradeRun]) -> None:
    run = full_runs["solutions"]
    failing = {k: v["message"] for k, v in _tests(run).items() if v["outcome"] != "passed"}
    assert not failing, f"the reference fails graded tests: {failing}"
    assert run.status == "complete" and run.report["total"]["percent"] == 100.0
    graded = set(_rows(run))
    assert graded == set(exercise_ids(ROOT)), "every exercise region needs graded tests and v.v."
    wrong = {
        k: v["modules"] for k, v in _tests(run).items()
        if v["modules"] != [v["exercise"].split(".")[0]]
    }
    assert not wrong, f"graded tests must load_impl() their own module, and only it: {wrong}"


def test_gate2_stubs_score_0_and_every_test_fails(full_runs: dict[str, GradeRun]) -> None:
    run = full_runs["exercises"]
    tests = _tests(run)
    passing = [k for k, v in tests.items() if v["outcome"] != "failed"]
    assert not passing, f"graded tests that do not fail on the stubs: {passing}"
    assert run.status == "complete" and run.earned == 0 and run.points > 0
    for ex in _rows(run):
        own = [v["message"] for v in tests.values() if v["exercise"] == ex]
        assert any(f"exercise {ex}" in m for m in own), f"{ex}: no test fails on its own stub"


# ---------------------------------------------------------------- gate 3
def _batches(ids: list[str], dependents: dict[str, set[str]]) -> list[list[str]]:
    """Group ids so that one run checks several: at most one id per module, and no two ids
    related by ``depends`` or sharing a dependent (their failures stay attributable).
    Sound because a graded test imports only its own module (checked by gate 1)."""
    batches: list[list[str]] = []
    for ex in ids:
        for batch in batches:
            if all(
                ex.split(".")[0] != other.split(".")[0]
                and ex not in dependents[other] and other not in dependents[ex]
                and not dependents[ex] & dependents[other]
                for other in batch
            ):
                batch.append(ex)
                break
        else:
            batches.append([ex])
    return batches


def test_gate3_one_stub_fails_exactly_its_tests_and_dependents(
    full_runs: dict[str, GradeRun], tmp_path: Path
) -> None:
    reference = _tests(full_runs["solutions"])
    dependents = _dependents(reference)
    batches = _batches(sorted(exercise_ids(ROOT)), dependents)

    def job(k: int) -> GradeRun:
        tree = stub_only(batches[k], tmp_path / f"b{k}" / "tree")
        modules = sorted({ex.split(".")[0] for ex in batches[k]})
        return _grade(tree, tmp_path / f"b{k}" / "report.json", target=",".join(modules))

    runs = _parallel({str(k): (lambda k=k: job(k)) for k in range(len(batches))})
    problems = []
    for k, batch in enumerate(batches):
        run = runs[str(k)]
        tests, rows = _tests(run), _rows(run)
        modules = {ex.split(".")[0] for ex in batch}
        expected = {n for n, v in reference.items() if v["exercise"].split(".")[0] in modules}
        if set(tests) != expected:
            problems.append(f"{batch}: ran {len(tests)} tests, expected {len(expected)}")
        allowed = set(batch).union(*(dependents[ex] for ex in batch))
        for nodeid, rec in tests.items():
            owner = rec["exercise"]
            stub_failure = rec["outcome"] == "failed" and f"exercise {owner}" in rec["message"]
            if owner in batch and not stub_failure:
                problems.append(f"{owner}: its test {nodeid} does not fail on its stub: {rec}")
            elif owner not in allowed and rec["outcome"] != "passed":
                problems.append(f"{batch}: unrelated test {nodeid} fails: {rec['message']}")
        for ex in batch:
            for dep in dependents[ex]:
                if dep in rows and rows[dep].passed:
                    problems.append(f"{dep} declares depends on {ex} but passes with {ex} stubbed")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- gate 4
MUTANTS: list[tuple[str, str, str, str]] = [
    # (exercise that must lose points, file, original code, mutated code)
    ("lab1.linear_backward", "lab1.py",
     "self.b.grad += dout.sum(axis=0)", "self.b.grad += dout.mean(axis=0)"),
    ("lab1.linear_backward", "lab1.py",
     "self.W.grad += self.x.T @ dout", "self.W.grad = self.x.T @ dout"),
    ("lab1.linear_forward", "lab1.py",
     "return x @ self.W.data + self.b.data", "return x @ self.W.data"),
    ("lab1.softmax_ce", "lab1.py", "return loss, dlogits / N", "return loss, dlogits"),
    ("lab1.softmax_ce", "lab1.py",
     "z = logits - logits.max(axis=1, keepdims=True)", "z = logits"),
    ("lab1.sgd_step", "lab1.py",
     "p.data -= self.lr * (p.grad + self.weight_decay * p.data)", "p.data -= self.lr * p.grad"),
    ("lab1.train_linear", "lab1.py", "lr=lr)\n", "lr=lr * 1e-3)\n"),
    ("lab2.relu", "lab2.py", "return dout * (self.x > 0)", "return dout * (dout > 0)"),
    ("lab2.relu", "lab2.py", "return np.maximum(x, 0.0)", "return np.maximum(x, 0.0, out=x)"),
    ("lab2.sigmoid", "lab2.py",
     "self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
     "self.out = 1.0 / (1.0 + np.exp(-x))"),
    ("lab2.tanh", "lab2.py", "return dout * (1.0 - self.out**2)", "return dout * (1.0 - self.out)"),
    ("lab2.adam_step", "lab2.py", "M_hat = M / (1.0 - beta1**self.t)", "M_hat = M"),
    ("lab2.build_mlp", "lab2.py", "if i > 0:\n", "if True:\n"),
]


def test_gate4_mutants_lose_points(tmp_path: Path) -> None:
    def job(i: int) -> GradeRun:
        ex, name, old, new = MUTANTS[i]
        tree = _mutated_tree(tmp_path / f"m{i}" / "tree", [(name, old, new)])
        return _grade(tree, tmp_path / f"m{i}" / "report.json", target=ex)

    runs = _parallel({str(i): (lambda i=i: job(i)) for i in range(len(MUTANTS))})
    survivors = []
    for i, (ex, _, old, new) in enumerate(MUTANTS):
        row = _rows(runs[str(i)])[ex]
        if row.passed or "ImportError" in row.message:
            survivors.append(f"{ex}: {old!r} -> {new!r}: {row}")
    assert not survivors, "mutants that keep their points (or do not import):\n" + "\n".join(
        survivors
    )


# ---------------------------------------------------------------- gate 5
LOOP = "        import time\n\n        while True:\n            time.sleep(0.05)\n"


def test_gate5_hostile_code_gives_fail_lines(tmp_path: Path) -> None:
    sgd = "        for p in self.params:\n            p.data -= self.lr *"
    chatty = '    print("chatty " * 5000)\n'
    hostile = _mutated_tree(tmp_path / "hostile", [
        ("lab1.py", sgd, LOOP + sgd),  # loops forever
        ("lab1.py", "self.W.grad += self.x.T @ dout", 'raise ValueError("boom")'),
        ("lab1.py", "    N = logits.shape[0]\n", chatty + "    N = logits.shape[0]\n"),
        ("lab2.py", "return np.maximum(x, 0.0)", "return np.maximum(x, 0.0, out=x)"),
    ])
    crashing = _mutated_tree(tmp_path / "crashing", [
        ("lab1.py", "return x @ self.W.data + self.b.data", "return x @@ self.W.data"),
        ("lab2.py", "    model = build_mlp(", "    os._exit(3)\n    model = build_mlp("),
        ("lab2.py", "import numpy as np\n", "import os\n\nimport numpy as np\n"),
    ])
    looping = _mutated_tree(tmp_path / "looping", [("lab1.py", sgd, LOOP + sgd)])
    runs = _parallel({
        "hostile": lambda: _grade(hostile, tmp_path / "h.json", "lab1,lab2", timeout_per_test=2.0),
        "crashing": lambda: _grade(crashing, tmp_path / "c.json", "lab1,lab2"),
        "looping": lambda: _grade(
            looping, tmp_path / "l.json", "lab1", timeout_per_test=0, timeout=10.0
        ),
    })
    rows = _rows(runs["hostile"])
    assert runs["hostile"].status == "complete"
    assert "Timeout" in rows["lab1.sgd_step"].message and not rows["lab1.sgd_step"].passed
    assert "ValueError: boom" in rows["lab1.linear_backward"].message
    assert rows["lab1.softmax_ce"].passed and rows["lab1.linear_forward"].passed
    assert "modified its input x" in rows["lab2.relu"].message
    assert rows["lab2.adam_step"].passed and rows["lab2.sigmoid"].passed

    rows = _rows(runs["crashing"])
    assert runs["crashing"].status == "interrupted"
    for ex in ("lab1.linear_forward", "lab1.softmax_ce", "lab1.train_linear"):
        assert "ImportError" in rows[ex].message and "SyntaxError" in rows[ex].message
    assert rows["lab2.relu"].passed and rows["lab2.build_mlp"].passed
    assert rows["lab2.train_mlp"].message.startswith("needs") is False
    assert "run stopped during this test" in rows["lab2.train_mlp"].message

    run = runs["looping"]
    rows = _rows(run)
    assert run.status == "timed out" and run.report["status"] == "timed out"
    assert set(rows) == {e for e in exercise_ids(ROOT) if e.startswith("lab1.")}
    assert "run stopped during this test" in rows["lab1.sgd_step"].message
    assert rows["lab1.softmax_ce"].message == "timed out / not run"
    assert run.report["total"]["points"] == run.points > 0


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "grade", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


def test_gate5_cli_end_to_end(tmp_path: Path) -> None:
    report = tmp_path / "out" / "grade.json"
    procs = _parallel({
        "solutions": lambda: _cli("lab1.softmax_ce", "--impl", "solutions", "--json", str(report),
                                  cwd=tmp_path),
        "exercises": lambda: _cli("lab1.softmax_ce", "--impl", "exercises", "--json",
                                  str(tmp_path / "ex.json"), cwd=tmp_path),
        "unknown": lambda: _cli("lab1.nope", "--json", str(tmp_path / "u.json"), cwd=tmp_path),
        "bad impl": lambda: _cli("--impl", str(tmp_path / "missing"), cwd=tmp_path),
    })
    ok = procs["solutions"]
    assert ok.returncode == 0, ok.stdout + ok.stderr
    m = re.search(r"^lab1\.softmax_ce\s+(\d+)/(\d+)\s+PASS$", ok.stdout, re.MULTILINE)
    assert m and m.group(1) == m.group(2), ok.stdout
    assert re.search(r"^TOTAL\s+\d+/\d+\s+\(100%\)$", ok.stdout, re.MULTILINE), ok.stdout
    assert report.is_file() and '"status": "complete"' in report.read_text(encoding="utf-8")
    ex = procs["exercises"]
    assert ex.returncode == 0 and "FAIL  NotImplementedError: exercise lab1.softmax_ce" in ex.stdout
    assert re.search(r"^TOTAL\s+0/\d+\s+\(0%\)$", ex.stdout, re.MULTILINE), ex.stdout
    assert procs["unknown"].returncode == 2
    assert "unknown exercise or module 'lab1.nope'" in procs["unknown"].stdout
    assert procs["bad impl"].returncode == 2 and "missing" in procs["bad impl"].stderr
