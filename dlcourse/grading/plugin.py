"""The pytest side of the grader: the ``exercise`` marker, selection, guards and the report.

``tests/exercises/conftest.py`` installs it::

    from dlcourse.grading.plugin import GradingPlugin

    def pytest_configure(config):
        GradingPlugin.install(config)

A graded test is marked ``@pytest.mark.exercise("lab1.linear_forward", points=2,
depends=["lab1.sgd_step"], forbid=["dlcourse.nn.Linear"])``. The plugin

- validates every marker at collection (id format, positive integer points, known
  dependencies, no ``skip``/``skipif``/``xfail`` marks) and stops with a usage error otherwise;
- keeps only the targets named in ``$DLCOURSE_GRADE_SELECT`` (comma-separated module names
  such as ``lab1`` or exercise ids such as ``lab1.linear_forward``), if set;
- turns a graded test that skips or xfails at run time into a failure (graded tests must
  pass or fail, so that stubs provably score 0);
- runs every test of an exercise inside :func:`dlcourse.grading.forbid.forbidding` with the
  union of the ``forbid`` lists of that exercise's tests (checked at collection: each name
  must resolve), so the student's module sees those references as stand-ins that raise
  ``ForbiddenError`` (see :mod:`dlcourse.grading.forbid`);
- under the grader (``$DLCOURSE_GRADE_FD``: a pipe from :func:`dlcourse.grading.runner.run_grade`)
  streams ``collected``, ``start``, ``import``, ``flag``, ``result`` and ``finish`` events to
  the parent as JSON lines; the parent, not this process, keeps the score and writes the
  report. In that mode it also deselects the tests the parent already has
  (``$DLCOURSE_GRADE_RESUME``), applies the memory limit (``$DLCOURSE_GRADE_MEMORY_MB``,
  ``RLIMIT_AS``), turns a ``KeyboardInterrupt`` or ``pytest.exit`` raised by a test into that
  test's failure (no terminal reaches the child: the parent owns Ctrl-C), fails a test after
  which a trusted module changed (:class:`dlcourse.grading.guard.Snapshot`) and then exits so
  that the parent restarts a clean child, and refuses reads of ``solutions/``
  (``$DLCOURSE_GRADE_FORBID_DIR``, :func:`dlcourse.grading.guard.install_solutions_guard`);
- when ``$DLCOURSE_GRADE_REPORT`` names a file (pytest run by hand), rewrites the JSON report
  (see :mod:`dlcourse.grading.report`) atomically at collection, when each test starts and
  after each test.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Generator
from typing import Any

import pytest

from dlcourse.grading import guard, impl
from dlcourse.grading.forbid import forbidding
from dlcourse.grading.impl import LOADED, impl_label, resolve_impl
from dlcourse.grading.marker import ID_PATTERN, MARKER_HELP, exercise_info
from dlcourse.grading.marker import first_line as _first_line
from dlcourse.grading.marker import selected as _selected
from dlcourse.grading.report import SCHEMA, write_json_atomic

__all__ = ["GradingPlugin", "exercise_info", "ID_PATTERN"]

#: Exit status of a child that stops itself after a tampered test (the parent restarts it).
RESTART_STATUS = 75


class StudentInterrupt(Exception):
    """A test raised ``KeyboardInterrupt`` or called ``pytest.exit`` (the grader's child only)."""


class GradingPlugin:
    """Hooks of the grader; one instance per pytest session (see :meth:`install`)."""

    NAME = "dlcourse-grading"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.report_path = os.environ.get("DLCOURSE_GRADE_REPORT") or None
        select = os.environ.get("DLCOURSE_GRADE_SELECT", "")
        self.targets = [t.strip() for t in select.split(",") if t.strip()]
        self.info: dict[str, dict[str, Any]] = {}
        self.tests: dict[str, dict[str, Any]] = {}
        self.forbid: dict[str, list[str]] = {}  # exercise -> union of its tests' forbid lists
        fd = os.environ.pop("DLCOURSE_GRADE_FD", "")
        self.send = guard.make_sender(int(fd)) if fd else None
        self.skip: set[str] = set()
        try:
            self.tree = os.path.realpath(resolve_impl()) + os.sep
        except FileNotFoundError:
            self.tree = ""
        self.current: str | None = None
        self.tampered: dict[str, str] = {}
        if self.send is not None:
            self._setup_child()

    def _setup_child(self) -> None:
        """Resume file, memory limit, import listener and the solutions guard (grader only)."""
        resume = os.environ.pop("DLCOURSE_GRADE_RESUME", "")
        if resume:
            with open(resume, encoding="utf-8") as fh:
                state = json.load(fh)
            self.skip = set(state.get("skip", []))
            impl.FAILED_IMPORTS.update(state.get("imports", {}))
        megabytes = float(os.environ.pop("DLCOURSE_GRADE_MEMORY_MB", "0") or 0)
        if megabytes > 0:
            import resource

            limit = int(megabytes * 2**20)
            try:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            except (ValueError, OSError) as err:  # e.g. macOS refuses RLIMIT_AS
                print(f"dlcourse grade: no memory limit ({err})", file=sys.stderr)
        send = self.send
        assert send is not None

        def on_import(event: str, path: str, message: str) -> None:
            send({"e": "import", "phase": event, "path": path, "message": message})

        impl.IMPORT_LISTENER = on_import
        solutions = os.environ.pop("DLCOURSE_GRADE_FORBID_DIR", "")
        if solutions:

            root = os.path.realpath(solutions)

            def on_read(path: str) -> None:
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel.startswith("__pycache__/"):  # lab1.cpython-311.pyc: name the source
                    rel = rel.split("/", 1)[1].split(".", 1)[0] + ".py"
                message = f"the student's code read the reference solutions (solutions/{rel})"
                if self.current is not None:
                    self.tampered.setdefault(self.current, message)
                send({"e": "flag", "id": self.current, "message": message})

            guard.install_solutions_guard(solutions, on_read, lambda: self.current is not None)

    @classmethod
    def install(cls, config: pytest.Config) -> None:
        """Register the marker and (once per session) the plugin's hooks."""
        config.addinivalue_line("markers", MARKER_HELP)
        if not config.pluginmanager.has_plugin(cls.NAME):
            config.pluginmanager.register(cls(config), cls.NAME)

    # ------------------------------------------------------------------ report
    def _write(self, status: str = "running") -> None:
        if self.report_path is None:
            return
        try:
            tree = impl_label(resolve_impl())
        except FileNotFoundError as err:
            tree = f"unavailable ({err})"
        write_json_atomic(
            self.report_path,
            {
                "schema": SCHEMA,
                "impl": tree,
                "select": ",".join(self.targets),
                "status": status,
                "tests": self.tests,
            },
        )

    # ------------------------------------------------------------------ hooks
    @pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
    def pytest_collection_modifyitems_read_markers(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Check every graded test's marker before any deselection (``-k``, the target), so
        ``depends`` and the per-exercise ``forbid`` union see every collected test."""
        for item in items:
            info = exercise_info(item)
            if info is not None:
                self.info[item.nodeid] = info
                names = self.forbid.setdefault(info["exercise"], [])
                names += [n for n in info.pop("forbid") if n not in names]
        known = {i["exercise"] for i in self.info.values()}
        for nodeid, info in self.info.items():
            unknown = [d for d in info["depends"] if d not in known]
            if unknown:
                raise pytest.UsageError(f"{nodeid}: depends on unknown exercises {unknown}")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        known = {i["exercise"] for i in self.info.values()}
        if self.targets:
            modules = {e.split(".", 1)[0] for e in known}
            bad = [t for t in self.targets if t not in known and t not in modules]
            if bad:
                raise pytest.UsageError(
                    f"unknown exercise or module {', '.join(map(repr, bad))}; modules: "
                    f"{', '.join(sorted(modules))}; exercises: {', '.join(sorted(known))}"
                )
        keep = [
            i for i in items
            if i.nodeid in self.info
            and (not self.targets or _selected(self.info[i.nodeid], self.targets))
        ] if self.targets or self.send is not None else list(items)
        for item in keep:
            info = self.info.get(item.nodeid)
            if info is not None:
                self.tests[item.nodeid] = {
                    **info, "forbid": self.forbid[info["exercise"]],
                    "outcome": "pending", "message": "", "duration": 0.0,
                }
        if self.send is not None:
            self.send({"e": "collected", "tests": self.tests})
            keep = [i for i in keep if i.nodeid not in self.skip]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        self._write()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        rec = self.tests.get(nodeid)
        if rec is not None:
            LOADED.clear()
            rec["outcome"] = "running"
            if self.send is not None:
                self.send({"e": "start", "id": nodeid})
            self._write()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        info = self.info.get(item.nodeid)
        names = self.forbid.get(info["exercise"], []) if info is not None else []
        if self.send is None or info is None:
            if not names:
                return (yield)
            with forbidding(info["exercise"], names):
                return (yield)
        # Under the grader: everything the verdict needs is captured in this frame before the
        # student's code runs (the sender, the snapshot, the record, the live threads), so
        # replacing the plugin's attributes (e.g. through gc) reaches none of it.
        send, tests, rec = self.send, self.tests, self.tests.get(item.nodeid)
        module = getattr(item, "module", None)
        folder = os.path.dirname(getattr(module, "__file__", None) or "")
        local = [
            m for m in list(sys.modules.values())
            if folder and os.path.dirname(getattr(m, "__file__", None) or "") == folder
        ]
        snapshot = guard.Snapshot(guard.watched_modules(local))
        threads = set(threading.enumerate())
        self.current = item.nodeid
        try:
            if not names:
                return (yield)
            with forbidding(info["exercise"], names):
                return (yield)
        finally:
            self.current = None
            changed = snapshot.changes()
            if self.send is not send or self.tests is not tests:
                changed.append("the grader's plugin state")
            if [t for t in threading.enumerate() if t not in threads and self._student(t)]:
                changed.append("the running threads (a thread was left running)")
            verdict = dict(rec) if rec is not None else {}
            if changed:
                shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
                verdict["outcome"] = "failed"
                verdict["message"] = (
                    f"the student's code modified {shown}: this test's result does not count"
                )
            elif item.nodeid in self.tampered:
                verdict.update(outcome="failed", message=self.tampered[item.nodeid])
            if verdict.get("outcome") not in ("passed", "failed"):
                verdict.update(outcome="failed", message=verdict.get("message") or "no result")
            send({"e": "result", "id": item.nodeid, **{
                k: verdict.get(k) for k in ("outcome", "message", "duration", "modules")
            }})
            if changed:
                self._stop_for_restart(send)

    def _student(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` may run the student's code: a plain ``Thread``/``Timer`` (any
        target), or a class defined in the graded tree; not a library's own thread class
        (e.g. tqdm's monitor, started by the package's progress bars)."""
        cls = type(thread)
        if cls in (threading.Thread, threading.Timer):
            return True
        where = getattr(sys.modules.get(cls.__module__), "__file__", None) or ""
        return bool(self.tree) and os.path.realpath(where).startswith(self.tree)

    def _stop_for_restart(self, send: Any) -> None:
        """After a tampered test: leave, so that the parent starts a clean child."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a student may have replaced the stream
                pass
        send({"e": "restart"})
        os._exit(RESTART_STATUS)

    def _guard_phase(self) -> Generator[None, object, object]:
        try:
            return (yield)
        except KeyboardInterrupt:
            if self.send is None:
                raise
            raise StudentInterrupt("the code under test raised KeyboardInterrupt") from None
        except pytest.exit.Exception as err:
            if self.send is None:
                raise
            raise StudentInterrupt(f"the code under test called pytest.exit({err})") from None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guard_phase())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guard_phase())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        return (yield from self._guard_phase())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if item.nodeid not in self.info:
            return report
        if hasattr(report, "wasxfail"):
            reason = report.wasxfail
            del report.wasxfail
            report.outcome = "failed"
            report.longrepr = f"graded tests may not xfail (xfail reason: {reason or 'none'})"
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.outcome = "failed"
            report.longrepr = f"graded tests may not be skipped ({reason})"
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.tests.get(report.nodeid)
        if rec is None:
            return
        rec["duration"] = round(rec["duration"] + float(report.duration), 4)
        if report.failed and rec["outcome"] != "failed":
            rec["outcome"], rec["message"] = "failed", _first_line(report)
        elif report.when == "call" and report.passed and rec["outcome"] != "failed":
            rec["outcome"] = "passed"
        if report.when == "teardown":
            rec["modules"] = sorted(set(LOADED))
            if rec["outcome"] == "running":  # setup passed but call never reported
                rec["outcome"], rec["message"] = "failed", "no result"
            self._write()

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.send is not None:
            self.send({"e": "finish", "exitstatus": int(exitstatus)})
        if self.tests or self.info:
            self._write(status="complete")
