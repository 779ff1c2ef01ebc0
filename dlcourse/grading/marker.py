"""The ``exercise`` marker of graded tests: parsing, checks, selection, failure lines.

Used by :mod:`dlcourse.grading.plugin` (which re-exports :func:`exercise_info` and
:data:`ID_PATTERN`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from dlcourse.grading.forbid import ForbiddenError, resolve
from dlcourse.grading.impl import public_name

__all__ = ["ID_PATTERN", "MARKER_HELP", "exercise_info", "first_line", "selected"]

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
MARKER_HELP = (
    "exercise(id, points=1, depends=[], forbid=[]): a graded test of exercise `id` (e.g. "
    "'lab1.linear_forward') worth `points`; `depends` lists exercises whose stub also fails it; "
    "`forbid` lists package references (e.g. 'dlcourse.optim.Adam') the student may not use"
)
_MESSAGE_LIMIT = 300
_FORBIDDEN_PREFIX = f"{ForbiddenError.__module__}."  # shown as "ForbiddenError: ..."
_PLUGIN_PREFIX = "dlcourse.grading.plugin."  # "StudentInterrupt: ..."
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


def first_line(report: pytest.TestReport) -> str:
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
            line = line.strip().removeprefix(_FORBIDDEN_PREFIX).removeprefix(_PLUGIN_PREFIX)
            if line.startswith(_ASSERTION) and len(line) > len(_ASSERTION):
                line = line[len(_ASSERTION) :]  # a graded test's message says it all
            if report.when != "call":
                line = f"error in {report.when}: {line}"
            return public_name(line)[:_MESSAGE_LIMIT]
    return "failed"


def selected(info: dict[str, Any], targets: list[str]) -> bool:
    ex = info["exercise"]
    return any(t == ex or t == ex.split(".", 1)[0] for t in targets)
