"""Run the graded tests in a subprocess and turn the report into a score table.

``run_grade`` starts ``python -m pytest tests/exercises`` in its own process group with

- ``DLCOURSE_IMPL`` (the tree to grade), ``DLCOURSE_GRADE_SELECT`` (the target) and
  ``DLCOURSE_GRADE_REPORT`` (where the plugin writes the JSON after every test);
- a per-test timeout (pytest-timeout, ``signal`` method on POSIX so a test that loops forever
  fails and the run goes on; ``thread`` elsewhere);
- a whole-run timeout after which the process group is killed: finished tests keep their
  results and the others are reported as "timed out / not run".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import BinaryIO, TextIO

from dlcourse.grading.impl import TREES, repo_root
from dlcourse.grading.report import (
    ExerciseResult,
    format_table,
    read_report,
    summarize,
    with_summary,
    write_json_atomic,
)

__all__ = ["GradeRun", "run_grade"]

#: pytest's exit codes for "usage error" and "no tests collected".
_USAGE_CODES = (4, 5)


@dataclass
class GradeRun:
    """What :func:`run_grade` found.

    Attributes:
        status: ``complete``; ``timed out`` (the whole-run timeout killed pytest);
            ``interrupted`` (pytest died before the end); ``crashed`` (pytest failed before
            reporting any test); ``usage error`` (unknown target, bad marker).
        results: one row per exercise (empty unless the tests were collected).
        report: the final JSON report (also written to ``json_path``), or ``None``.
        returncode: pytest's exit code (``None`` if it was killed).
        output: pytest's combined stdout/stderr.
        notes: warnings about the grading itself (e.g. no per-test timeout available).
    """

    status: str
    results: list[ExerciseResult] = field(default_factory=list)
    report: dict | None = None
    returncode: int | None = None
    output: str = ""
    notes: list[str] = field(default_factory=list)

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


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_grade(
    target: str | None = None,
    impl: str | os.PathLike[str] = "exercises",
    *,
    timeout_per_test: float = 30.0,
    timeout: float = 600.0,
    json_path: str | os.PathLike[str] = "grade_report.json",
    root: Path | None = None,
    stream: TextIO | None = None,
) -> GradeRun:
    """Grade ``target`` (a module such as ``lab1``, an exercise id, or ``None`` for all).

    Args:
        target: comma-separated modules/exercise ids, or ``None`` for every exercise.
        impl: ``"exercises"``, ``"solutions"`` or a folder holding the same modules.
        timeout_per_test: seconds per test (0 disables); needs pytest-timeout.
        timeout: seconds for the whole run; then the process group is killed.
        json_path: the report, rewritten after every test and completed at the end.
        root: the repository (default :func:`repo_root`).
        stream: if given, pytest's output is copied there as it runs (verbose mode).

    Returns:
        A :class:`GradeRun`; never raises for anything the graded code does.
    """
    root = repo_root() if root is None else Path(root).resolve()
    json_path = Path(json_path).resolve()
    json_path.unlink(missing_ok=True)
    # A fixed, minimal set of plugins (no auto-loaded nbval/hypothesis: faster, and the
    # project's addopts for the full test suite do not apply to grading).
    cmd = [
        sys.executable, "-m", "pytest", str(root / "tests" / "exercises"),
        "-p", "no:cacheprovider", "-o", "addopts=", "-q", "-rN", "--color=no",
        f"--rootdir={root}",
    ]
    notes = []
    if timeout_per_test and find_spec("pytest_timeout") is None:
        notes.append("no per-test timeout: pytest-timeout is not installed")
    elif timeout_per_test:
        method = "signal" if hasattr(signal, "SIGALRM") else "thread"
        cmd += ["-p", "pytest_timeout", f"--timeout={timeout_per_test:g}"]
        cmd += [f"--timeout-method={method}"]
    env = dict(os.environ)
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        DLCOURSE_IMPL=_impl_arg(impl),
        DLCOURSE_GRADE_REPORT=str(json_path),
        DLCOURSE_GRADE_SELECT=target or "",
        DLCOURSE_ROOT=str(root),
        PYTHONDONTWRITEBYTECODE="1",
    )
    timed_out = False
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stream is not None else log, stderr=subprocess.STDOUT,
            start_new_session=(os.name == "posix"),
        )
        pump = _pump(proc, log, stream) if stream is not None else None
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        if pump is not None:
            pump.join(10)
        log.seek(0)
        output = log.read().decode("utf-8", errors="replace")
    code = None if timed_out else proc.returncode
    report = read_report(json_path)
    if report is None or not report.get("tests"):
        if code in _USAGE_CODES:
            status = "usage error"
        else:
            status = "timed out" if timed_out else "crashed"
        return GradeRun(status, report=report, returncode=code, output=output, notes=notes)
    if timed_out:
        status = "timed out"
    elif report.get("status") != "complete":
        status = "interrupted"  # pytest died (e.g. os._exit in graded code) before the end
    else:
        status = "complete"
    final = with_summary(report, status)
    write_json_atomic(json_path, final)
    return GradeRun(status, summarize(report), final, code, output, notes)


def _pump(proc: subprocess.Popen[bytes], log: BinaryIO, stream: TextIO) -> threading.Thread:
    """Copy the child's output to ``stream`` and ``log`` line by line (verbose mode)."""

    def copy() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(raw)
            stream.write(raw.decode("utf-8", errors="replace"))
            stream.flush()

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def print_run(run: GradeRun, json_path: str | os.PathLike[str], out: TextIO) -> None:
    """Print the table (or why there is none) for a finished :class:`GradeRun`."""
    for note in run.notes:
        print(f"note: {note}", file=out)
    if not run.results:
        tail = "\n".join(run.output.strip().splitlines()[-30:])
        print(f"grading {run.status}; pytest said:\n{tail}", file=out)
        return
    print(format_table(run.results), file=out)
    if run.status == "timed out":
        print("the whole run timed out: unfinished tests count as failed", file=out)
    elif run.status == "interrupted":
        print("pytest stopped before the end: unfinished tests count as failed", file=out)
    print(f"report: {json_path}", file=out)
