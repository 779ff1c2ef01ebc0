"""The ``dlcourse`` command line (console script ``dlcourse = "dlcourse.cli:main"``).

``dlcourse grade [target ...] [--impl exercises|solutions|PATH] [--timeout-per-test 30]
[--timeout 600] [--memory-limit 2048] [--json grade_report.json] [-v]`` grades your
exercises and prints::

    graded: exercises/ (from the default)
    lab1.linear_forward   2/2  PASS
    lab1.linear_backward  0/3  FAIL  NotImplementedError: exercise lab1.linear_backward  [test_…]
    TOTAL                 2/5  (40%)

Exit status: 0 when grading produced a table (whatever the score, even after a timeout),
1 when pytest could not report any test (the output says why), 2 for a usage error (bad
arguments, unknown exercise or module), 130 when interrupted (Ctrl-C).

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


_GRADE_HELP = """\
Scoring: each exercise is worth the sum of its tests' points and earns them only if ALL of
its tests pass (all or nothing). A failing line that starts with "needs X (FAIL); ..." means
that exercise also uses exercise X, which fails too: fix X first (when your module does not
import at all, the import error comes first and "needs X" after it).

Your code runs in a separate process with time and memory limits: a crash, an exit, an
endless loop or a test that uses too much memory costs only the tests concerned. Tests whose
result cannot be trusted (your code changed numpy, the package or the tests, or read
solutions/) score 0, and the line says why.

Which tree: --impl, else $DLCOURSE_IMPL, else exercises/. The first line of the output says
which tree was graded.
"""


def _grade_targets() -> str:
    """The modules and exercise ids, for ``dlcourse grade --help``."""
    try:
        from dlcourse.grading import exercise_ids, repo_root

        ids = sorted(exercise_ids(repo_root()))
    except Exception as err:  # noqa: BLE001 - --help must work outside the repository
        return f"(exercise list unavailable: {err})"
    import textwrap

    modules: dict[str, list[str]] = {}
    for ex in ids:
        modules.setdefault(ex.split(".", 1)[0], []).append(ex.split(".", 1)[1])
    return "\n".join(
        textwrap.fill(f"{m}: {', '.join(names)}", 96, initial_indent="  ",
                      subsequent_indent="    ", break_on_hyphens=False)
        for m, names in modules.items()
    )


def _add_grade(sub: argparse._SubParsersAction) -> None:
    grade = sub.add_parser(
        "grade",
        help="grade the exercises",
        description="Run the graded tests and print a score per exercise.",
        epilog=f"{_GRADE_HELP}\nmodules and exercises:\n{_grade_targets()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grade.add_argument(
        "target", nargs="*", default=[],
        help="modules (lab1), exercise ids (lab1.linear_forward), or nothing for all; "
        "several may be given (lab1 lab2.relu)",
    )
    grade.add_argument(
        "--impl", default=None,
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
        "--memory-limit", type=float, default=2048.0, metavar="MB",
        help="address space allowed to the test process, in MB (default 2048; 0 disables)",
    )
    grade.add_argument(
        "--json", default="grade_report.json", metavar="PATH",
        help="where to write the report (default grade_report.json)",
    )
    grade.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    grade.add_argument(
        "--submissions", default=None, metavar="DIR",
        help="teacher mode: grade every sub-folder of DIR (one student's exercises/ each) "
        "into OUT/grades.csv and OUT/<student>.json",
    )
    grade.add_argument(
        "--out", default="grades", metavar="OUT",
        help="teacher mode: where the CSV and reports go (default grades)",
    )


def _grade_submissions(args: argparse.Namespace) -> int:
    """``dlcourse grade --submissions DIR``: one line per student, then where the CSV is."""
    from dlcourse.grading.teacher import grade_submissions

    try:
        rows = grade_submissions(
            args.submissions, args.out, args.target or None,
            timeout_per_test=args.timeout_per_test, timeout=args.timeout,
            memory_limit=args.memory_limit,
        )
    except OSError as err:  # a missing folder, or not POSIX
        print(f"dlcourse grade: {err}", file=sys.stderr)
        return 2
    width = max(len(r["student"]) for r in rows)
    for r in rows:
        print(f"{r['student']:<{width}}  {r['earned']}/{r['points']}  ({r['percent']:g}%)"
              f"  {r['status']}")
    print(f"grades: {os.path.join(args.out, 'grades.csv')}")
    return 2 if all(r["status"] == "usage error" for r in rows) else 0


def _grade(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``dlcourse grade``: run the grader and print the table; the exit status."""
    from dlcourse.grading.runner import print_run, run_grade

    if args.timeout <= 0 or args.timeout_per_test < 0 or args.memory_limit < 0:
        parser.error("--timeout must be > 0, --timeout-per-test and --memory-limit >= 0")
    if args.submissions is not None:
        return _grade_submissions(args)
    if args.impl is not None:
        impl, source = args.impl, "--impl"
    elif os.environ.get("DLCOURSE_IMPL", "").strip():
        impl, source = os.environ["DLCOURSE_IMPL"].strip(), "$DLCOURSE_IMPL"
    else:
        impl, source = "exercises", "the default"
    try:
        run = run_grade(
            args.target or None,
            impl,
            timeout_per_test=args.timeout_per_test,
            timeout=args.timeout,
            memory_limit=args.memory_limit,
            json_path=args.json,
            stream=sys.stdout if args.verbose else None,
        )
    except OSError as err:  # a missing tree, or not POSIX
        print(f"dlcourse grade: {err}", file=sys.stderr)
        return 2
    print_run(run, args.json, sys.stdout, source)
    if run.status == "usage error":
        return 2
    if run.status == "interrupted":
        return 130
    return 0 if run.results else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlcourse", description="The dlcourse command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_grade(sub)
    _add_data(sub)
    _add_doctor(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade(parser, args)
    if args.command == "data":
        return _data(parser, args)
    if args.command == "doctor":
        return _doctor()
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
