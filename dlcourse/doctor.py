"""``dlcourse doctor``: check a machine's set-up for the course and say what to fix.

Each check returns one or more :class:`Finding` (``ok``, ``warn`` or ``fail``, a one-line
message and, unless ``ok``, what to do). ``fail`` means something the course needs is broken
(the book or the grader will not run); ``warn`` means the course runs, but not as well as it
could (a missing dataset falls back to the 8x8 digits, a slow BLAS). The checks:

- Python: the version is one ``pyproject.toml`` supports (``Requires-Python``).
- numpy and its BLAS: numpy's version, the BLAS library numpy loaded (threadpoolctl, or
  ``numpy.show_config`` when threadpoolctl is missing) and its threads.
- matplotlib: importable, and the backend it will use.
- data: ``$DLCOURSE_DATA`` (if set) is a folder, the cache can be written, each dataset of
  :mod:`dlcourse.data.catalog` is found (else ``dlcourse data download NAME``).
- grader: the course repository (``$DLCOURSE_ROOT`` or found from here) with its test tree
  ``tests/exercises/`` and the student tree ``exercises/``, and pytest + pytest-timeout.

:func:`run_doctor` prints every finding and returns the exit status: 0 when nothing failed
(warnings allowed), 1 when a check failed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Finding", "CHECKS", "check_python", "check_numpy", "check_matplotlib", "check_data",
           "check_grader", "run_doctor"]


@dataclass(frozen=True)
class Finding:
    """One result of a check: ``status`` is ``ok``, ``warn`` or ``fail``; ``fix`` what to do."""

    check: str
    status: str
    message: str
    fix: str = ""


def _requires_python() -> str:
    try:
        return importlib.metadata.metadata("dlcourse").get("Requires-Python") or ""
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return ""


def _satisfies(version: Sequence[int], spec: str) -> bool:
    """Whether ``version`` (major, minor, micro) meets a spec like ``>=3.10,<3.14``."""
    ops: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
    }  # fmt: skip
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op = next(o for o in ("<=", ">=", "==", "!=", "<", ">") if clause.startswith(o))
        bound = tuple(int(p) for p in clause[len(op):].strip().split(".") if p.isdigit())
        if not ops[op](tuple(version[: len(bound)]), bound):
            return False
    return True


def check_python(
    version: Sequence[int] | None = None, requires: str | None = None
) -> list[Finding]:
    """The Python version against the package's ``Requires-Python`` (defaults: this Python)."""
    version = tuple(sys.version_info[:3]) if version is None else tuple(version)
    requires = _requires_python() if requires is None else requires
    text = ".".join(map(str, version))
    if not requires or _satisfies(version, requires):
        return [Finding("python", "ok", f"Python {text} ({sys.executable})")]
    return [Finding("python", "fail", f"Python {text} is not supported (dlcourse needs {requires})",
                    f"install a Python that matches {requires} (e.g. 3.11) and a virtual "
                    "environment with it: python3.11 -m venv .venv")]


def _blas_libraries() -> list[dict[str, Any]]:
    """BLAS libraries loaded by numpy (threadpoolctl), or numpy's build record."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        if not blas.get("found"):
            return []
        return [{"internal_api": blas.get("name", "?"), "version": blas.get("version", "?"),
                 "num_threads": None}]
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS is loaded
    return [i for i in threadpool_info() if i.get("user_api") == "blas"]


def check_numpy(libraries: list[dict[str, Any]] | None = None) -> list[Finding]:
    """numpy's version and the BLAS it uses (``libraries``: threadpoolctl's records)."""
    try:
        import numpy as np
    except ImportError:
        return [Finding("numpy", "fail", "numpy is not installed",
                        "pip install -r requirements.txt (or pip install -e .)")]
    findings = [Finding("numpy", "ok", f"numpy {np.__version__}")]
    libraries = _blas_libraries() if libraries is None else libraries
    fast = ("openblas", "mkl", "blis", "accelerate", "flexiblas", "armpl")
    good = [lib for lib in libraries if any(f in str(lib.get("internal_api", "")).lower()
                                            for f in fast)]
    if good:
        lib = good[0]
        threads = lib.get("num_threads")
        findings.append(Finding("blas", "ok", f"BLAS: {lib.get('internal_api')} "
                                f"{lib.get('version') or ''} ({threads or '?'} threads)"))
    else:
        names = ", ".join(str(lib.get("internal_api")) for lib in libraries) or "none found"
        findings.append(Finding(
            "blas", "warn", f"no optimised BLAS behind numpy ({names}): matrix products and "
            "convolutions will be many times slower",
            "install numpy from the official wheels (pip install --force-reinstall numpy), "
            "which bundle OpenBLAS"))
    return findings


def check_matplotlib() -> list[Finding]:
    """matplotlib importable, and the backend it will use."""
    try:  # optional (dlcourse[plot]): a probe, not a dependency of the doctor or the grader
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return [Finding("matplotlib", "warn", "matplotlib is not installed: the book's figures "
                        "and dlcourse.plot will not work", "pip install 'dlcourse[plot]'")]
    backend = matplotlib.get_backend()
    note = " (no window: figures are saved or shown inline in Jupyter)" if backend.lower() in (
        "agg", "pdf", "svg", "ps", "cairo") else ""
    return [Finding("matplotlib", "ok", f"matplotlib {matplotlib.__version__}, backend "
                    f"{backend}{note}")]


def _writable(path: Path) -> bool:
    """Whether ``path`` could be created and written (its first existing ancestor is writable)."""
    for parent in (path, *path.parents):
        if parent.exists():
            return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
    return False


def check_data() -> list[Finding]:
    """``$DLCOURSE_DATA``, the cache, and whether each dataset is found."""
    from dlcourse.data import catalog
    from dlcourse.data import download as dl

    findings = []
    data = os.environ.get("DLCOURSE_DATA")
    if data and not Path(data).expanduser().is_dir():
        findings.append(Finding(
            "data", "fail", f"DLCOURSE_DATA is set to {data}, which is not a folder",
            "correct the path (the folder holding mnist/, fashion-mnist/, ...) or unset "
            "DLCOURSE_DATA"))
    elif data:
        findings.append(Finding("data", "ok", f"DLCOURSE_DATA = {data}"))
    cache = dl.cache_dir("x").parent
    if _writable(cache):
        findings.append(Finding("data", "ok", f"cache folder {cache} (writable)"))
    else:
        findings.append(Finding(
            "data", "fail", f"the cache folder {cache} cannot be written: downloads will fail",
            "set DLCOURSE_CACHE to a folder you can write, e.g. export "
            "DLCOURSE_CACHE=$HOME/dlcourse-cache"))
    if os.environ.get("DLCOURSE_MIRROR"):
        findings.append(Finding("data", "ok", f"DLCOURSE_MIRROR = {os.environ['DLCOURSE_MIRROR']}"))
    off = " (DLCOURSE_OFFLINE is set: unset it first)" if dl.offline() else ""
    for ds in catalog.DATASETS.values():
        found = catalog.locate(ds.name)
        if len(found) == len(ds.files):
            folder = next(iter(found.values())).parent
            findings.append(Finding("data", "ok", f"{ds.name}: found in {folder}"))
        else:
            findings.append(Finding(
                "data", "warn", f"{ds.name}: not found ({len(ds.files) - len(found)} of "
                f"{len(ds.files)} files missing): the pages that use it download it first (MNIST "
                "and Fashion-MNIST pages fall back to the 8x8 digits without a network)",
                f"dlcourse data download {ds.name}{off}"))
    return findings


def check_grader() -> list[Finding]:
    """The course repository, its graded tests, the student tree, pytest and pytest-timeout."""
    from dlcourse.grading.impl import repo_root

    try:
        root = repo_root()
    except FileNotFoundError as err:
        return [Finding("grader", "fail", str(err),
                        "cd into your clone of the course repository, or set DLCOURSE_ROOT to it")]
    tests = sorted((root / "tests" / "exercises").glob("test_*.py"))
    findings = []
    if tests:
        findings.append(Finding("grader", "ok", f"graded tests: {len(tests)} files in "
                                f"{root / 'tests' / 'exercises'}"))
    else:
        findings.append(Finding("grader", "fail", f"no test_*.py in {root / 'tests' / 'exercises'}",
                                "restore the folder: git checkout -- tests/exercises"))
    if (root / "exercises").is_dir():
        findings.append(Finding("grader", "ok", f"your exercises: {root / 'exercises'}"))
    else:
        findings.append(Finding("grader", "fail", f"{root / 'exercises'} is missing",
                                "restore it: git checkout -- exercises (or regenerate it: "
                                "python -m dlcourse.grading.make_exercises)"))
    missing = [m for m in ("pytest", "pytest_timeout") if importlib.util.find_spec(m) is None]
    if missing:
        findings.append(Finding("grader", "fail", f"not installed: {', '.join(missing)}",
                                "pip install 'dlcourse[grade]'"))
    return findings


#: The checks run by ``dlcourse doctor``, in order.
CHECKS: tuple[Callable[[], list[Finding]], ...] = (
    check_python, check_numpy, check_matplotlib, check_data, check_grader,
)  # fmt: skip


def run_doctor(out: TextIO, checks: Sequence[Callable[[], list[Finding]]] = CHECKS) -> int:
    """Run ``checks``, print each finding and what to fix; 0 if none failed, else 1."""
    print(f"dlcourse doctor on {platform.platform()}", file=out)
    findings: list[Finding] = []
    for check in checks:
        try:
            found = check()
        except Exception as err:  # noqa: BLE001 - a broken check is itself a finding
            found = [Finding(check.__name__.removeprefix("check_"), "fail",
                             f"the check itself failed: {type(err).__name__}: {err}",
                             "report this with the output of dlcourse doctor")]
        findings += found
    for f in findings:
        print(f"[{f.status.upper():4}] {f.check}: {f.message}", file=out)
        if f.fix:
            print(f"       fix: {f.fix}", file=out)
    fails = sum(f.status == "fail" for f in findings)
    warns = sum(f.status == "warn" for f in findings)
    print(f"{fails} problem(s), {warns} warning(s)" if fails or warns else "all good", file=out)
    return 1 if fails else 0
