"""The ``dlcourse`` command line (console script ``dlcourse = "dlcourse.cli:main"``).

``dlcourse grade [target] [--impl exercises|solutions|PATH] [--timeout-per-test 30]
[--timeout 600] [--json grade_report.json] [-v]`` grades your exercises and prints::

    lab1.linear_forward   2/2  PASS
    lab1.linear_backward  0/3  FAIL  NotImplementedError: exercise lab1.linear_backward  [test_…]
    TOTAL                 2/5  (40%)

Exit status: 0 when grading produced a table (whatever the score, even after a timeout),
1 when pytest could not report any test (the output says why), 2 for a usage error (bad
arguments, unknown exercise or module).

``dlcourse data list | download NAME...|all [--timeout S] [--retries N] | verify`` lists the
datasets (what, size, where found), downloads them into the cache (progress bar, SHA-256,
resumable; honours ``DLCOURSE_DATA``, ``DLCOURSE_MIRROR``, ``DLCOURSE_CACHE``) or checks what
is present (:mod:`dlcourse.data.catalog`). ``dlcourse doctor`` checks the set-up and says what
to fix (:mod:`dlcourse.doctor`). Exit status of both: 0 all well, 1 a download or check failed
(the output names it), 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main"]


_EXIT_CODES = "exit status: 0 all well; 1 {}; 2 usage error (bad arguments, unknown name)"


def _add_data(sub: argparse._SubParsersAction) -> None:
    """The ``data`` subcommand and its ``list``, ``download``, ``verify`` actions."""
    from dlcourse.data.catalog import dataset_names

    data = sub.add_parser(
        "data", help="list, download and verify the datasets",
        description="The course's datasets: where they are, download them, check them.",
        epilog=_EXIT_CODES.format("a download or a check failed"),
    )
    actions = data.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "list", help="what each dataset is, its size, where it is found",
        description="Each dataset: what it is, download size, where it is found (or searched).",
        epilog="exit status: 0",
    )
    download = actions.add_parser(
        "download", help="download datasets into the cache (resumable)",
        description="Download datasets not found yet into $DLCOURSE_CACHE (default "
        "~/.cache/dlcourse), from $DLCOURSE_MIRROR if set, with a progress bar and a SHA-256 "
        "check. An interrupted download resumes when the command is run again.",
        epilog=_EXIT_CODES.format("a download failed (the other datasets are still tried)"),
    )
    download.add_argument("names", nargs="+", choices=[*dataset_names(), "all"],
                          metavar="NAME", help=f"{', '.join(dataset_names())}, or all")
    download.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                          help="seconds to wait for the server on each attempt (default 30)")
    download.add_argument("--retries", type=int, default=3, metavar="N",
                          help="extra attempts after a network error (default 3)")
    actions.add_parser(
        "verify", help="check the files present (SHA-256, CIFAR-10 structure)",
        description="Check every dataset file present: the SHA-256 of its content, or the "
        "structure of the CIFAR-10 batches; a failure names the file, the expected and the "
        "actual hash.",
        epilog=_EXIT_CODES.format("a file failed its check"),
    )


def _data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``dlcourse data ...``: the exit status."""
    from dlcourse.data import catalog

    if args.action == "list":
        return catalog.run_list(sys.stdout)
    if args.action == "verify":
        return catalog.run_verify(sys.stdout, sys.stderr)
    if args.timeout <= 0 or args.retries < 0:
        parser.error("--timeout must be > 0 and --retries >= 0")
    return catalog.run_download(
        args.names, sys.stdout, sys.stderr, timeout=args.timeout, retries=args.retries
    )


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    sub.add_parser(
        "doctor", help="check this machine's set-up and say what to fix",
        description="Check Python, numpy and its BLAS, the matplotlib backend, the data "
        "folders and the grader's test tree; print what to fix for each problem.",
        epilog=_EXIT_CODES.format("a check failed (warnings alone exit 0)"),
    )


def _doctor() -> int:
    from dlcourse.doctor import run_doctor

    return run_doctor(sys.stdout)


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
    _add_data(sub)
    _add_doctor(sub)
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
    if args.command == "data":
        return _data(parser, args)
    if args.command == "doctor":
        return _doctor()
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
