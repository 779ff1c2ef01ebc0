"""Grade in a child process; the parent (this module) owns the score.

``run_grade`` is the parent. It starts ``python -m pytest tests/exercises`` as a child
(:class:`dlcourse.grading.child.Child`: its own session, a pipe for the plugin's events passed
with ``pass_fds``, stdout/stderr drained into a bounded tail) and follows the events
(:mod:`dlcourse.grading.plugin`): the tests collected, which test starts, which student module
is being imported, each result. It checks each result against the test that is running (a
result for an unknown test, for a test that is not running, or a second one = "report
tampered", that test fails) and writes ``grade_report.json`` itself at the end: the child is
never told where the report goes, and nothing it writes there counts.

A child that dies (``os._exit``, a signal, the memory limit), hangs past the per-test limit
(pytest-timeout first; the parent kills the child ``max(3, T/4)`` s later, e.g. when a bare
``except:`` swallowed pytest-timeout's exception) or stops itself after a tampered test costs
only the running test: the parent starts a new child for the tests that did not run yet. A
student module whose import hung or crashed is remembered and fails at once in the next
children ("importing exercises/lab1.py did not finish within 30 s"), so it is reported once
and not paid for again per test. A whole-run timeout kills the child (unfinished tests:
"timed out / not run"); a Ctrl-C in the parent stops the run with status ``interrupted``.
POSIX only (``pass_fds``, process groups, ``resource``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import TextIO

from dlcourse.grading.child import Child
from dlcourse.grading.impl import TREES, impl_label, repo_root
from dlcourse.grading.report import (
    SCHEMA,
    ExerciseResult,
    format_table,
    summarize,
    with_summary,
    write_json_atomic,
)
from dlcourse.grading.supervisor import Supervisor

__all__ = ["GradeRun", "run_grade", "print_run"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class GradeRun:
    """What :func:`run_grade` found.

    Attributes:
        status: ``complete`` (every test has a result, crashes included); ``timed out`` (the
            whole-run timeout); ``interrupted`` (Ctrl-C in the parent); ``crashed`` (the
            child died before collecting the tests, or without running any further test);
            ``usage error`` (unknown target, bad marker).
        results: one row per exercise (empty unless the tests were collected).
        report: the final JSON report (also written to ``json_path``), or ``None``.
        returncode: the last child's exit status.
        output: the last 16 KB of the children's combined stdout/stderr.
        notes: warnings about the grading itself (e.g. no per-test timeout available).
        impl: the tree graded (``exercises``, ``solutions`` or a path).
        restarts: how many times a new child had to be started.
    """

    status: str
    results: list[ExerciseResult] = field(default_factory=list)
    report: dict | None = None
    returncode: int | None = None
    output: str = ""
    notes: list[str] = field(default_factory=list)
    impl: str = ""
    restarts: int = 0

    @property
    def earned(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)


def _impl_arg(impl: str | os.PathLike[str]) -> str:
    """``solutions``/``exercises`` unchanged; a path made absolute (the run's cwd is the root)."""
    if isinstance(impl, str) and impl in TREES:
        return impl
    path = Path(impl).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"impl: expected 'exercises', 'solutions' or a folder, got {impl}")
    return str(path)


def _select(target: str | Sequence[str] | None) -> str:
    """``"lab1,lab2.relu"`` from ``"lab1,lab2.relu"``, ``["lab1", "lab2.relu"]`` or ``None``."""
    if target is None:
        return ""
    parts = [target] if isinstance(target, str) else list(target)
    if not all(isinstance(p, str) for p in parts):
        raise TypeError(f"target: expected a str or a list of str, got {target!r}")
    names = [t.strip() for p in parts for t in p.split(",") if t.strip()]
    return ",".join(dict.fromkeys(names))


def _test_files(root: Path, select: str) -> list[str]:
    """The graded test files to collect: only the targets' modules when each has its file
    (a child starts faster), else the whole folder (the plugin then names the unknown target).
    Sound because ``depends`` never crosses modules (a test loads only its own module)."""
    folder = root / "tests" / "exercises"
    modules = dict.fromkeys(t.split(".", 1)[0] for t in select.split(",") if t)
    files = [folder / f"test_{m}.py" for m in modules]
    if files and all(f.is_file() for f in files):
        return [str(f) for f in files]
    return [str(folder)]


def run_grade(
    target: str | Sequence[str] | None = None,
    impl: str | os.PathLike[str] = "exercises",
    *,
    timeout_per_test: float = 30.0,
    timeout: float = 600.0,
    memory_limit: float = 2048.0,
    json_path: str | os.PathLike[str] = "grade_report.json",
    root: Path | None = None,
    stream: TextIO | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> GradeRun:
    """Grade ``target`` (modules such as ``lab1``, exercise ids, or ``None`` for all).

    Args:
        target: a module or exercise id, several (a list, or comma-separated), or ``None``.
        impl: ``"exercises"``, ``"solutions"`` or a folder holding the same modules.
        timeout_per_test: seconds per test (0 disables): pytest-timeout stops the test, and
            the parent kills the child if the test is still running a few seconds later.
        timeout: seconds for the whole run; then the child is killed.
        memory_limit: megabytes of address space for the child (``RLIMIT_AS``; 0 disables).
        json_path: where the parent writes the report at the end.
        root: the repository (default :func:`repo_root`).
        stream: if given, the child's output is copied there as it runs (verbose mode).
        cwd: the child's working directory (default ``root``; teacher mode gives each
            submission its own).

    Returns:
        A :class:`GradeRun`; never raises for anything the graded code does. A Ctrl-C stops
        the run with status ``interrupted`` (finished tests keep their results).

    Raises:
        FileNotFoundError: ``impl`` is not a tree or folder.
        TypeError: ``target`` is not a str or a list of str.
        OSError: not a POSIX system.
    """
    if os.name != "posix":
        raise OSError(
            "dlcourse grade needs a POSIX system (Linux, macOS, WSL): it runs the tests in a "
            f"child process group with an inherited pipe; this is {os.name!r}"
        )
    root = repo_root() if root is None else Path(root).resolve()
    json_path = Path(json_path).resolve()
    json_path.unlink(missing_ok=True)
    select = _select(target)
    tree = _impl_arg(impl)
    tree_path = root / tree if tree in TREES else Path(tree)
    cmd = [
        sys.executable, "-m", "pytest", *_test_files(root, select),
        "-p", "no:cacheprovider", "-o", "addopts=", "-q", "-rN", "--color=no", "-s",
        f"--tb={'short' if stream is not None else 'no'}", f"--rootdir={root}",
    ]
    notes = []
    if timeout_per_test and find_spec("pytest_timeout") is None:
        notes.append("no per-test timeout inside pytest: pytest-timeout is not installed")
    elif timeout_per_test:
        cmd += ["-p", "pytest_timeout", f"--timeout={timeout_per_test:g}",
                "--timeout-method=signal"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLCOURSE_GRADE_")}
    for var in _THREAD_VARS:
        env.setdefault(var, "1")
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", DLCOURSE_IMPL=tree, DLCOURSE_GRADE_SELECT=select,
        DLCOURSE_ROOT=str(root), PYTHONDONTWRITEBYTECODE="1",
        DLCOURSE_GRADE_MEMORY_MB=f"{memory_limit:g}" if memory_limit else "0",
    )
    if tree_path.resolve() != (root / "solutions").resolve():
        env["DLCOURSE_GRADE_FORBID_DIR"] = str(root / "solutions")
    sup = Supervisor(root, timeout_per_test, stream)
    deadline = time.monotonic() + timeout
    status: str | None = None
    code: int | None = None
    restarts = -1
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as tmp:
        resume = Path(tmp) / "resume.json"
        try:
            while status is None:
                restarts += 1
                write_json_atomic(resume, {"skip": sorted(sup.done), "imports": sup.imports})
                before = len(sup.done)
                child = Child(cmd, {**env, "DLCOURSE_GRADE_RESUME": str(resume)}, str(cwd or root),
                              sup.on_output)
                end = "interrupted"
                try:
                    end = sup.watch(child, deadline)
                finally:
                    if end != "eof":
                        child.kill()
                    code = child.close()
                status = sup.after(end, code, len(sup.done) > before, timeout)
        except KeyboardInterrupt:
            status = "interrupted"
            for nid in [n for n in sup.tests or {} if n not in sup.done]:
                sup.tests[nid]["message"] = "not run (interrupted)"  # type: ignore[index]
    output = sup.output.text()
    if sup.tests is None:
        json_path.unlink(missing_ok=True)  # nothing the child wrote there counts
        return GradeRun(status, returncode=code, output=output, notes=notes,
                        impl=impl_label(tree_path))
    report = {
        "schema": SCHEMA, "impl": impl_label(tree_path), "select": select, "status": status,
        "tests": sup.tests, "restarts": restarts,
        "limits": {"timeout_per_test": timeout_per_test, "timeout": timeout,
                   "memory_mb": memory_limit},
    }
    final = with_summary(report, status)
    write_json_atomic(json_path, final)
    return GradeRun(status, summarize(report), final, code, output, notes,
                    impl_label(tree_path), restarts)


def print_run(
    run: GradeRun, json_path: str | os.PathLike[str], out: TextIO, source: str = ""
) -> None:
    """Print which tree was graded, then the table (or why there is none).

    ``source`` says where the tree came from, e.g. ``$DLCOURSE_IMPL``.
    """
    tree = f"{run.impl}/" if run.impl in TREES else run.impl
    print(f"graded: {tree}" + (f" (from {source})" if source else ""), file=out)
    for note in run.notes:
        print(f"note: {note}", file=out)
    if not run.results:
        tail = "\n".join(run.output.strip().splitlines()[-30:])
        print(f"grading {run.status}; pytest said:\n{tail}", file=out)
        return
    width = shutil.get_terminal_size((160, 24)).columns
    print(format_table(run.results, width=max(60, width)), file=out)
    if run.status == "timed out":
        print("the whole run timed out: unfinished tests count as failed", file=out)
    elif run.status == "interrupted":
        print("grading was interrupted: unfinished tests count as failed", file=out)
    elif run.status == "crashed":
        print("the test process kept stopping: unfinished tests count as failed", file=out)
    print(f"report: {json_path}", file=out)
