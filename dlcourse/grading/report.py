"""The grade report: one JSON file, rewritten atomically, and the per-exercise table.

Schema (``"schema": 1``)::

    {"schema": 1, "impl": "exercises", "select": "lab1", "status": "running",
     "tests": {"<nodeid>": {"exercise": "lab1.linear_forward", "points": 2,
                            "depends": [], "forbid": ["dlcourse.nn.Linear"],
                            "outcome": "passed", "message": "",
                            "duration": 0.01, "modules": ["lab1"]}},
     "exercises": [...], "total": {...}}        # the last two are added by the runner

``modules`` lists the student modules the test imported with ``load_impl``; ``forbid`` the
package references the exercise forbids (the union over its tests' markers). ``outcome`` is
``pending`` (not started), ``running`` (started, no result: the run was stopped
during it), ``passed`` or ``failed``. Points semantics: each test carries points; an
exercise is worth the sum of its tests' points and earns them only if **all** of its tests
pass (all or nothing).
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMA",
    "ExerciseResult",
    "write_json_atomic",
    "read_report",
    "summarize",
    "format_table",
    "total",
    "with_summary",
]

SCHEMA = 1


def write_json_atomic(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``.

    A reader (or a run killed mid-write) never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_report(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The report at ``path``, or ``None`` if it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


@dataclass
class ExerciseResult:
    """One row of the table.

    Attributes:
        exercise: the id, e.g. ``"lab1.softmax_ce"``.
        points: sum of its tests' points.
        earned: ``points`` if every test passed, else 0.
        passed: all tests passed.
        message: first failure (``""`` when passed), prefixed by failing dependencies.
        test: short name of the first failing test (``""`` when passed).
        tests: number of tests; failed: how many did not pass.
        depends: the declared dependencies (union over the tests).
    """

    exercise: str
    points: int
    earned: int
    passed: bool
    message: str = ""
    test: str = ""
    tests: int = 0
    failed: int = 0
    depends: list[str] = field(default_factory=list)


def _short(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def _failure_of(nodeid: str, rec: dict[str, Any]) -> str | None:
    outcome = rec.get("outcome")
    if outcome == "passed":
        return None
    if outcome == "failed":
        return rec.get("message") or "failed"
    if outcome == "running":
        return "no result: the run stopped during this test (timeout or crash)"
    return rec.get("message") or "timed out / not run"


def summarize(report: dict[str, Any]) -> list[ExerciseResult]:
    """Aggregate the tests of ``report`` into one :class:`ExerciseResult` per exercise.

    Exercises keep the order of their first test. A failing exercise whose (transitive)
    dependency also fails gets the message prefix ``needs <dep> (FAIL);``, except when the
    student's module itself does not import: then the real cause comes first
    (``... SyntaxError: invalid syntax (lab1.py, line 12); needs <dep> (FAIL)``).
    """
    rows: dict[str, ExerciseResult] = {}
    for nodeid, rec in report.get("tests", {}).items():
        ex = rec["exercise"]
        row = rows.setdefault(ex, ExerciseResult(ex, 0, 0, True))
        row.points += int(rec.get("points", 0))
        row.tests += 1
        for dep in rec.get("depends", []):
            if dep not in row.depends:
                row.depends.append(dep)
        failure = _failure_of(nodeid, rec)
        if failure is not None:
            row.failed += 1
            if row.passed:
                row.passed, row.message, row.test = False, failure, _short(nodeid)
    for row in rows.values():
        row.earned = row.points if row.passed else 0
    for row in rows.values():
        if row.passed:
            continue
        failing = [d for d in _closure(row.exercise, rows) if not rows[d].passed]
        if failing and "importing " in row.message:
            row.message = f"{row.message}; needs {', '.join(failing)} (FAIL)"
        elif failing:
            row.message = f"needs {', '.join(failing)} (FAIL); {row.message}"
    return list(rows.values())


def _closure(ex: str, rows: dict[str, ExerciseResult]) -> list[str]:
    """The transitive dependencies of ``ex`` that appear in ``rows``, in discovery order."""
    seen: list[str] = []
    stack = list(rows[ex].depends)
    while stack:
        dep = stack.pop(0)
        if dep in seen or dep == ex or dep not in rows:
            continue
        seen.append(dep)
        stack.extend(rows[dep].depends)
    return seen


def total(results: list[ExerciseResult]) -> dict[str, Any]:
    """``{"earned": x, "points": y, "percent": z}`` over ``results``."""
    earned = sum(r.earned for r in results)
    points = sum(r.points for r in results)
    percent = 100.0 * earned / points if points else 0.0
    return {"earned": earned, "points": points, "percent": round(percent, 1)}


def format_table(results: list[ExerciseResult], width: int = 160) -> str:
    """The text table ``id  earned/points  PASS|FAIL  first failure`` and the TOTAL line.

    A failure longer than the ``width`` allows wraps onto indented continuation lines.
    """
    id_w = max([len(r.exercise) for r in results] + [len("TOTAL")])
    score_w = max([len(f"{r.earned}/{r.points}") for r in results] + [5])
    lines = []
    for r in results:
        score = f"{r.earned}/{r.points}"
        status = "PASS" if r.passed else "FAIL"
        line = f"{r.exercise:<{id_w}}  {score:>{score_w}}  {status}"
        if not r.passed:
            detail = f"{r.message}  [{r.test}]" if r.test else r.message
            line += f"  {detail}"
        if len(line) > width:
            indent = " " * (id_w + score_w + 10)
            first, rest = line[:width], line[width:]
            cut = first.rfind(" ", len(indent))
            if cut > len(indent):
                first, rest = line[:cut], line[cut + 1 :]
            room = max(20, width - len(indent))
            lines.append(first)
            lines += [indent + part for part in textwrap.wrap(rest, room, break_on_hyphens=False)]
            continue
        lines.append(line)
    tot = total(results)
    score = f"{tot['earned']}/{tot['points']}"
    lines.append(f"{'TOTAL':<{id_w}}  {score:>{score_w}}  ({tot['percent']:g}%)")
    return "\n".join(lines)


def with_summary(report: dict[str, Any], status: str) -> dict[str, Any]:
    """``report`` plus the ``exercises`` rows, the ``total`` and the final ``status``."""
    results = summarize(report)
    out = dict(report)
    out["status"] = status
    out["exercises"] = [asdict(r) for r in results]
    out["total"] = total(results)
    return out
