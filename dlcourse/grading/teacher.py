"""Teacher mode: grade a folder of student submissions into one CSV plus a report each.

``dlcourse grade --submissions DIR [--out grades] [target ...]`` grades every sub-folder of
``DIR`` (one student's copy of ``exercises/``) with :func:`dlcourse.grading.runner.run_grade`:
its own child processes (own session, killed when its run ends) and its own fresh working
directory, so a broken or hostile submission neither stops nor changes the others. The
reports are kept in memory and written only when every submission is graded
(``<out>/<student>.json`` and ``<out>/grades.csv``), so no submission's code can still be
running, or have run later, when they are written.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlcourse.grading.report import write_json_atomic
from dlcourse.grading.runner import run_grade

__all__ = ["grade_submissions"]


def grade_submissions(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str] = "grades",
    target: str | Sequence[str] | None = None,
    **limits: Any,
) -> list[dict[str, Any]]:
    """Grade each sub-folder of ``folder``; write ``out/grades.csv`` and ``out/<name>.json``.

    Args:
        folder: one sub-folder per student, each holding modules named as in ``exercises/``.
        out: where the CSV and the per-student reports go (created if needed).
        target: as for :func:`run_grade` (``None``: every exercise).
        **limits: ``timeout_per_test``, ``timeout``, ``memory_limit``, ``root``.

    Returns:
        One row per student: ``student``, ``status``, ``earned``, ``points``, ``percent`` and
        the points earned per exercise (also the CSV's columns).

    Raises:
        FileNotFoundError: ``folder`` is not a folder or holds no sub-folder.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions: expected a folder, got {folder}")
    students = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise FileNotFoundError(f"submissions: {folder} holds no sub-folder (one per student)")
    out = Path(out).expanduser().resolve()
    rows: list[dict[str, Any]] = []
    reports: dict[str, dict[str, Any]] = {}
    exercises: list[str] = []
    for student in students:
        with tempfile.TemporaryDirectory(prefix="dlcourse-student-") as cwd:
            run = run_grade(target, student, json_path=Path(cwd) / "report.json", cwd=cwd,
                            **limits)
        row: dict[str, Any] = {
            "student": student.name, "status": run.status, "earned": run.earned,
            "points": run.points,
            "percent": round(100.0 * run.earned / run.points, 1) if run.points else 0.0,
        }
        for result in run.results:
            row[result.exercise] = result.earned
            if result.exercise not in exercises:
                exercises.append(result.exercise)
        rows.append(row)
        reports[student.name] = run.report or {"status": run.status, "output": run.output}
    out.mkdir(parents=True, exist_ok=True)
    for name, report in reports.items():
        write_json_atomic(out / f"{name}.json", report)
    columns = ["student", "status", "earned", "points", "percent", *exercises]
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows
