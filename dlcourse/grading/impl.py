"""Find the repository and import a module from the tree selected by ``DLCOURSE_IMPL``.

The two trees ``solutions/`` and ``exercises/`` hold modules with the same names
(``lab1.py``, ``ch02_feedforward.py``, ...). Each module is imported *by file path* under a
private, unique module name, so both trees (and any student tree) can be loaded side by side
in one process and nothing named ``lab1`` ever lands in ``sys.modules``.

Inside a graded test whose exercise forbids references (:mod:`dlcourse.grading.forbid`), the
module is executed with guarded ``__builtins__``, so its imports see those references as
stand-ins that raise ``ForbiddenError``.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import itertools
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import dlcourse
from dlcourse.grading.forbid import active, guarded_builtins

__all__ = [
    "TREES",
    "LOADED",
    "FAILED_IMPORTS",
    "repo_root",
    "resolve_impl",
    "impl_label",
    "load_impl",
    "public_name",
]

#: Tree names understood by ``DLCOURSE_IMPL`` besides a path.
TREES = ("solutions", "exercises")

#: Module names passed to :func:`load_impl` in this process, in call order. The grading plugin
#: clears it when a test starts and records it in the report, so the gates can check that a
#: graded test imports only its own module (never another student answer).
LOADED: list[str] = []

#: Files whose import hung or crashed earlier in this grading run: path -> the message. Filled
#: by :func:`load_impl` (an import stopped by the per-test timeout) and by the grading plugin
#: (failures the parent saw in an earlier child); the next :func:`load_impl` of that file fails
#: at once with the same message instead of hanging again.
FAILED_IMPORTS: dict[str, str] = {}

#: Called as ``IMPORT_LISTENER(event, path, message)`` with ``event`` ``"start"``, ``"end"`` or
#: ``"failed"`` around each import (the grading plugin forwards these to the parent, which so
#: knows when a child dies or hangs while importing a student's module).
IMPORT_LISTENER: Callable[[str, str, str], None] | None = None

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRIVATE_NAME = re.compile(r"_dlcourse_impl_[0-9a-f]{8}_(\w+)_\d+")
_TIMEOUT = re.compile(r"^Timeout \(?>?([\d.]+)s")  # pytest-timeout's "Timeout (>30.0s) ..."
_counter = itertools.count()


def public_name(text: str) -> str:
    """``text`` with the private module names of :func:`load_impl` replaced by the plain ones.

    Example:
        >>> public_name("module '_dlcourse_impl_0123abcd_lab1_7' has no attribute 'f'")
        "module 'lab1' has no attribute 'f'"
    """
    return _PRIVATE_NAME.sub(r"\1", text)


def _looks_like_root(path: Path) -> bool:
    return (path / "solutions").is_dir() and (path / "tests" / "exercises").is_dir()


def repo_root() -> Path:
    """The course repository: ``$DLCOURSE_ROOT``, else the folder that holds ``dlcourse/``.

    Falls back to the current directory or one of its parents when the package is installed
    outside the repository (e.g. a non-editable install).

    Raises:
        FileNotFoundError: no folder with ``solutions/`` and ``tests/exercises/`` was found.
    """
    env = os.environ.get("DLCOURSE_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not _looks_like_root(root):
            raise FileNotFoundError(
                f"DLCOURSE_ROOT: expected the course repository (with solutions/ and "
                f"tests/exercises/), got {root}"
            )
        return root
    candidates = [Path(dlcourse.__file__).resolve().parents[1]]
    cwd = Path.cwd().resolve()
    candidates += [cwd, *cwd.parents]
    for cand in candidates:
        if _looks_like_root(cand):
            return cand
    raise FileNotFoundError(
        "could not find the course repository (a folder with solutions/ and tests/exercises/); "
        "run from inside it or set DLCOURSE_ROOT"
    )


def resolve_impl(impl: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the tree named by ``impl`` (default: ``$DLCOURSE_IMPL``, else ``solutions``).

    Args:
        impl: ``"solutions"``, ``"exercises"`` (folders of the repository) or a path to a
            folder holding modules with the same names (relative paths start at the cwd).

    Raises:
        FileNotFoundError: the folder does not exist.
    """
    if impl is None:
        impl = os.environ.get("DLCOURSE_IMPL", "").strip() or "solutions"
    if isinstance(impl, str) and impl in TREES:
        path = repo_root() / impl
    else:
        path = Path(impl).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"DLCOURSE_IMPL: expected 'solutions', 'exercises' or a folder of exercise modules, "
            f"got {str(impl)!r} ({path} is not a folder)"
        )
    return path


def impl_label(tree: Path) -> str:
    """A short name for a tree: ``solutions``/``exercises`` for the repository's, else the path."""
    try:
        root = repo_root()
    except FileNotFoundError:
        return str(tree)
    for name in TREES:
        if tree == root / name:
            return name
    return str(tree)


def _label(path: Path) -> str:
    """``exercises/lab1.py`` for a file of the repository, else the full path."""
    try:
        return path.relative_to(repo_root()).as_posix()
    except (ValueError, FileNotFoundError):
        return str(path)


def _notify(event: str, path: Path, message: str = "") -> None:
    if IMPORT_LISTENER is not None:
        IMPORT_LISTENER(event, str(path), message)


def _failure(err: BaseException, label: str) -> str:
    """The message of an import that raised ``err`` (any ``BaseException``)."""
    timeout = _TIMEOUT.match(str(err)) if type(err).__name__ == "Failed" else None
    if timeout is not None:  # pytest-timeout stopped the import
        return f"importing {label} did not finish within {float(timeout.group(1)):g} s"
    if isinstance(err, SystemExit):
        return f"importing {label} failed: it called sys.exit({err.code!r}) (SystemExit)"
    if isinstance(err, KeyboardInterrupt):
        return f"importing {label} failed: it raised KeyboardInterrupt"
    return public_name(f"importing {label} failed: {type(err).__name__}: {err}")


def _exec(spec: importlib.machinery.ModuleSpec, mod: ModuleType) -> None:
    """Execute ``mod``; a real Ctrl-C (SIGINT) during it re-raises as ``_RealInterrupt``."""
    assert spec.loader is not None
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    if not callable(previous):  # SIG_IGN / SIG_DFL / not the main thread: leave them alone
        spec.loader.exec_module(mod)
        return

    def on_sigint(signum: int, frame: object) -> None:
        raise _RealInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        spec.loader.exec_module(mod)
    finally:
        signal.signal(signal.SIGINT, previous)


class _RealInterrupt(KeyboardInterrupt):
    """The user pressed Ctrl-C while a student module was imported (never swallowed)."""


def load_impl(module: str, impl: str | os.PathLike[str] | None = None) -> ModuleType:
    """Import ``<tree>/<module>.py`` afresh and return the module object.

    Every call executes the file again (so an edited file is picked up and no state leaks
    from one graded test to the next) under a unique private name. Inside a
    :func:`dlcourse.grading.forbid.forbidding` block (every graded test of an exercise that
    declares ``forbid``), the module's imports go through the guard of that block.

    Args:
        module: the module name, e.g. ``"lab1"``.
        impl: which tree; see :func:`resolve_impl` (default ``$DLCOURSE_IMPL`` or ``solutions``).

    Returns:
        The freshly imported module.

    Raises:
        ValueError: ``module`` is not a plain module name.
        FileNotFoundError: the tree or the file does not exist.
        ImportError: executing the file raised anything, ``SystemExit`` and
            ``KeyboardInterrupt`` included (but not a real Ctrl-C), or did not finish within
            the per-test timeout; the message names the file (``exercises/lab1.py``) and the
            error. An import that hung or crashed fails again at once in the same run.

    Example:
        >>> lab1 = load_impl("lab1", "solutions")
        >>> lab1.Linear(3, 2).W.shape
        (3, 2)
    """
    if not isinstance(module, str) or not _MODULE_NAME.match(module):
        raise ValueError(f"module: expected a module name such as 'lab1', got {module!r}")
    LOADED.append(module)
    tree = resolve_impl(impl)
    path = tree / f"{module}.py"
    if not path.is_file():
        raise FileNotFoundError(f"module {module!r}: no file {path}")
    label = _label(path)
    known = FAILED_IMPORTS.get(str(path))
    if known is not None:
        raise ImportError(known, path=str(path))
    tag = hashlib.sha1(str(tree).encode()).hexdigest()[:8]
    name = f"_dlcourse_impl_{tag}_{module}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    forbid = active()
    if forbid is not None:
        mod.__dict__["__builtins__"] = guarded_builtins(forbid)
    sys.modules[name] = mod  # dataclasses and pickling look a class's module up here
    _notify("start", path)
    try:
        _exec(spec, mod)
    except _RealInterrupt:
        sys.modules.pop(name, None)
        raise KeyboardInterrupt from None
    except BaseException as err:  # noqa: BLE001 - student code may raise anything at import
        sys.modules.pop(name, None)
        message = _failure(err, label)
        if "did not finish" in message:
            FAILED_IMPORTS[str(path)] = message
        _notify("failed", path, message)
        raise ImportError(message, path=str(path)) from err
    _notify("end", path)
    return mod
