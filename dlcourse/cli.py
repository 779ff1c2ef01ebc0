"""The ``dlcourse`` command line (console script ``dlcourse = "dlcourse.cli:main"``).

``dlcourse grade [target] [--impl exercises|solutions|PATH] [--timeout-per-test 30]
[--timeout 600] [--json grade_report.json] [-v]`` grades your exercises and prints::

    lab1.linear_forward   2/2  PASS
    lab1.linear_backward  0/3  FAIL  NotImplementedError: exercise lab1.linear_backward  [test_…]
    TOTAL                 2/5  (40%)

Exit status: 0 when grading produced a table (whatever the score, even after a timeout),
1 when pytest could not report any test (the output says why), 2 for a usage error (bad
arguments, unknown exercise or module).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlcourse", description="The dlcourse command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser(
        "grade",
        help="grade the exercises",
        description="Run the graded tests and print a score per exercise.",
    )
    grade.add_argument(
        "target", nargs="?", default=None,
        help="a module (lab1), an exercise id (lab1.linear_forward), or nothing for all",
    )
    grade.add_argument(
        "--impl", default=os.environ.get("DLCOURSE_IMPL") or "exercises",
        help="tree to grade: exercises (default, or $DLCOURSE_IMPL), solutions, or a folder",
    )
    grade.add_argument(
        "--timeout-per-test", type=float, default=30.0, metavar="SECONDS",
        help="seconds allowed per test (default 30; 0 disables)",
    )
    grade.add_argument(
        "--timeout", type=float, default=600.0, metavar="SECONDS",
        help="seconds allowed for the whole run (default 600)",
    )
    grade.add_argument(
        "--json", default="grade_report.json", metavar="PATH",
        help="where to write the report (default grade_report.json)",
    )
    grade.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "grade":
        from dlcourse.grading.runner import print_run, run_grade

        if args.timeout <= 0 or args.timeout_per_test < 0:
            parser.error("--timeout must be > 0 and --timeout-per-test >= 0")
        try:
            run = run_grade(
                args.target,
                args.impl,
                timeout_per_test=args.timeout_per_test,
                timeout=args.timeout,
                json_path=args.json,
                stream=sys.stdout if args.verbose else None,
            )
        except FileNotFoundError as err:
            print(f"dlcourse grade: {err}", file=sys.stderr)
            return 2
        print_run(run, args.json, sys.stdout)
        if run.status == "usage error":
            return 2
        return 0 if run.results else 1
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
