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
- when ``$DLCOURSE_GRADE_REPORT`` names a file, rewrites the JSON report (see
  :mod:`dlcourse.grading.report`) atomically at collection, when each test starts and after
  each test, so a run killed by a timeout still leaves every finished result behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

import pytest

from dlcourse.grading.forbid import ForbiddenError, forbidding, resolve
from dlcourse.grading.impl import LOADED, impl_label, resolve_impl
from dlcourse.grading.report import SCHEMA, write_json_atomic

__all__ = ["GradingPlugin", "exercise_info", "ID_PATTERN"]

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_MARKER_HELP = (
    "exercise(id, points=1, depends=[], forbid=[]): a graded test of exercise `id` (e.g. "
    "'lab1.linear_forward') worth `points`; `depends` lists exercises whose stub also fails it; "
    "`forbid` lists package references (e.g. 'dlcourse.optim.Adam') the student may not use"
)
_MESSAGE_LIMIT = 300
_FORBIDDEN_PREFIX = f"{ForbiddenError.__module__}."  # shown as "ForbiddenError: ..."
_ASSERTION = "AssertionError: "


def exercise_info(item: pytest.Item) -> dict[str, Any] | None:
    """``{"exercise", "points", "depends", "forbid"}`` from ``item``'s marker, or ``None``.

    Raises:
        pytest.UsageError: a malformed marker (the message names the test).
    """
    marks = list(item.iter_markers(name="exercise"))
    if not marks:
        return None
    where = item.nodeid
    if len(marks) > 1:
        raise pytest.UsageError(f"{where}: a graded test carries exactly one exercise marker")
    mark = marks[0]
    kwargs = dict(mark.kwargs)
    args = list(mark.args)
    ex_id = args.pop(0) if args else kwargs.pop("id", None)
    points = args.pop(0) if args else kwargs.pop("points", 1)
    depends = args.pop(0) if args else kwargs.pop("depends", [])
    forbid = kwargs.pop("forbid", [])
    if args or kwargs:
        raise pytest.UsageError(f"{where}: exercise marker: unexpected arguments {args or kwargs}")
    if not isinstance(ex_id, str) or not ID_PATTERN.match(ex_id):
        raise pytest.UsageError(
            f"{where}: exercise id: expected '<module>.<name>' (lower case), got {ex_id!r}"
        )
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise pytest.UsageError(f"{where}: points: expected a positive int, got {points!r}")
    if isinstance(depends, str) or not all(
        isinstance(d, str) and ID_PATTERN.match(d) for d in depends
    ):
        raise pytest.UsageError(
            f"{where}: depends: expected a list of exercise ids, got {depends!r}"
        )
    if ex_id in depends:
        raise pytest.UsageError(f"{where}: exercise {ex_id!r} cannot depend on itself")
    if isinstance(forbid, str) or not isinstance(forbid, (list, tuple)):
        raise pytest.UsageError(
            f"{where}: forbid: expected a list of dotted names, got {forbid!r}"
        )
    for name in forbid:
        try:
            resolve(name)
        except (ValueError, ImportError) as err:
            raise pytest.UsageError(f"{where}: {err}") from err
    for forbidden in ("skip", "skipif", "xfail"):
        if item.get_closest_marker(forbidden) is not None:
            raise pytest.UsageError(
                f"{where}: graded tests may not carry a {forbidden!r} mark "
                "(stubs must fail every graded test)"
            )
    return {
        "exercise": ex_id, "points": points, "depends": list(depends), "forbid": list(forbid)
    }


def _first_line(report: pytest.TestReport) -> str:
    """The first non-empty line of a failure, e.g. ``NotImplementedError: exercise lab1.x``.

    A failed check shows its message alone (``"Linear.forward(x): expected 1.5 at index
    [0, 1], got 1.2 ..."``, without ``AssertionError:``); a ``ForbiddenError`` without its
    module path."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    for line in text.splitlines():
        if line.strip():
            line = line.strip().removeprefix(_FORBIDDEN_PREFIX)
            if line.startswith(_ASSERTION) and len(line) > len(_ASSERTION):
                line = line[len(_ASSERTION) :]  # a graded test's message says it all
            if report.when != "call":
                line = f"error in {report.when}: {line}"
            return line[:_MESSAGE_LIMIT]
    return "failed"


def _selected(info: dict[str, Any], targets: list[str]) -> bool:
    ex = info["exercise"]
    return any(t == ex or t == ex.split(".", 1)[0] for t in targets)


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

    @classmethod
    def install(cls, config: pytest.Config) -> None:
        """Register the marker and (once per session) the plugin's hooks."""
        config.addinivalue_line("markers", _MARKER_HELP)
        if not config.pluginmanager.has_plugin(cls.NAME):
            config.pluginmanager.register(cls(config), cls.NAME)

    # ------------------------------------------------------------------ report
    def _write(self, status: str = "running") -> None:
        if self.report_path is None:
            return
        try:
            impl = impl_label(resolve_impl())
        except FileNotFoundError as err:
            impl = f"unavailable ({err})"
        write_json_atomic(
            self.report_path,
            {
                "schema": SCHEMA,
                "impl": impl,
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
                i
                for i in items
                if i.nodeid in self.info and _selected(self.info[i.nodeid], self.targets)
            ]
            dropped = [i for i in items if i not in keep]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
            items[:] = keep
        for item in items:
            info = self.info.get(item.nodeid)
            if info is not None:
                self.tests[item.nodeid] = {
                    **info, "forbid": self.forbid[info["exercise"]],
                    "outcome": "pending", "message": "", "duration": 0.0,
                }
        self._write()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        rec = self.tests.get(nodeid)
        if rec is not None:
            LOADED.clear()
            rec["outcome"] = "running"
            self._write()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        info = self.info.get(item.nodeid)
        names = self.forbid.get(info["exercise"], []) if info is not None else []
        if not names:
            return (yield)
        with forbidding(info["exercise"], names):
            return (yield)

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
        if self.tests or self.info:
            self._write(status="complete")
