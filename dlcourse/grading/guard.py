"""The child side of the grader's defences: the result channel and two tamper checks.

Student code runs in the grading child (a pytest process started by
:func:`dlcourse.grading.runner.run_grade`), never in the parent that holds the score. Inside
the child, this module gives the plugin

- :func:`make_sender`: JSON lines written straight to the pipe the parent passed (``os.write``
  and ``json.dumps`` captured when the sender is made, so patching ``os.write`` or the
  plugin's module later does not reach it);
- :class:`Snapshot`: the identities of the attributes of the modules a graded test trusts
  (``builtins``, numpy and ``numpy.testing``/``linalg``/``random``, every ``dlcourse.*``
  module including the grader, the graded test modules and their conftest), of the classes
  they define and of their functions' code and defaults, taken before a test and compared
  after it. A change (``np.allclose = ...``, ``checks.relative_error = ...``,
  ``sys.modules["test_lab1"]._layer = ...``, ``f.__code__ = ...``) fails that test with
  "the student's code modified numpy.allclose" and the plugin restarts the child, so the
  patch cannot reach later tests;
- :func:`install_solutions_guard`: an audit hook (``sys.addaudithook``: it cannot be removed)
  that, while a test runs, refuses ``open``/``listdir``/``scandir`` of anything under the
  repository's ``solutions/`` when another tree is graded, and reports the attempt to the
  parent, which fails that test ("read the reference solutions").

The plugin also fails a test after which its own sender or records were replaced (e.g.
through ``gc``) or a thread started by the student's code still runs. What this does not stop:
code written to defeat this module in particular (ctypes, a ``__del__`` that undoes a patch
before the check, a full impersonation of the plugin on the pipe). The parent checks
the stream (each result must belong to the test that is running, once), which catches the
crude forms of the latter.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from types import FunctionType, ModuleType
from typing import Any

__all__ = ["make_sender", "Snapshot", "watched_modules", "install_solutions_guard"]

#: Modules (besides every ``dlcourse.*``) whose attributes a graded test relies on.
SENSITIVE = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "math")

#: Module attributes that change legitimately while a test runs.
_VOLATILE = frozenset(
    {"__warningregistry__", "__loader__", "__spec__", "__cached__", "__slotnames__"}
)  # __slotnames__: copyreg's cache, added to a class the first time it is copied

#: Audit events that read a path (the first argument).
_READ_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def make_sender(fd: int) -> Callable[[dict[str, Any]], None]:
    """A function writing one JSON object per line to ``fd`` (the parent's pipe)."""
    write, dumps = os.write, json.dumps

    def send(message: dict[str, Any]) -> None:
        view = memoryview((dumps(message) + "\n").encode("utf-8"))
        while view:
            view = view[write(fd, view):]

    return send


def watched_modules(extra: Iterable[ModuleType] = ()) -> list[ModuleType]:
    """The modules :class:`Snapshot` watches: :data:`SENSITIVE`, ``dlcourse.*`` and ``extra``."""
    mods = [sys.modules[n] for n in SENSITIVE if n in sys.modules]
    mods += [
        m for n, m in list(sys.modules.items())
        if (n == "dlcourse" or n.startswith("dlcourse.")) and isinstance(m, ModuleType)
    ]
    seen: set[int] = set()
    out = []
    for m in [*mods, *extra]:
        if id(m) not in seen:
            seen.add(id(m))
            out.append(m)
    return out


def _function_state(f: FunctionType) -> tuple[Any, ...]:
    return (f.__code__, f.__defaults__, f.__kwdefaults__)


class Snapshot:
    """Identities of the attributes of ``modules`` (and of their classes and functions).

    Example:
        >>> import math
        >>> snap = Snapshot([math])
        >>> snap.changes()
        []
    """

    def __init__(self, modules: Iterable[ModuleType]) -> None:
        self.dicts: list[tuple[str, Any, dict[str, Any], bool]] = []
        self.functions: list[tuple[str, FunctionType, tuple[Any, ...]]] = []
        for mod in modules:
            name = getattr(mod, "__name__", "?")
            space = vars(mod)
            self.dicts.append((name, space, dict(space), False))
            for key, value in list(space.items()):
                owner = getattr(value, "__module__", None)
                if owner != name:
                    continue
                if isinstance(value, type):
                    self.dicts.append((f"{name}.{key}", vars(value), dict(vars(value)), True))
                    for attr, member in list(vars(value).items()):
                        if isinstance(member, FunctionType):
                            label = f"{name}.{key}.{attr}"
                            self.functions.append((label, member, _function_state(member)))
                elif isinstance(value, FunctionType):
                    self.functions.append((f"{name}.{key}", value, _function_state(value)))

    def changes(self) -> list[str]:
        """Dotted names whose object changed since the snapshot (``[]`` if none).

        In a module a new attribute is allowed (a submodule imported for the first time);
        in a class it is not (it would shadow an inherited method).
        """
        changed = []
        for label, live, before, strict in self.dicts:
            for key, value in before.items():
                if key in _VOLATILE:
                    continue
                if key not in live or live[key] is not value:
                    changed.append(f"{label}.{key}")
            if strict:
                changed += [
                    f"{label}.{k}" for k in live if k not in before and k not in _VOLATILE
                ]
        for label, func, state in self.functions:
            if any(a is not b for a, b in zip(_function_state(func), state, strict=True)):
                changed.append(label)
        return sorted(set(changed))


def install_solutions_guard(
    solutions: str | os.PathLike[str],
    on_read: Callable[[str], None],
    active: Callable[[], bool],
) -> None:
    """Refuse reads under ``solutions`` while ``active()`` and report each one to ``on_read``.

    Installed with :func:`sys.addaudithook`, so it stays for the life of the process. The
    refused call raises ``PermissionError``; ``on_read`` is called first, so a student's
    ``try``/``except`` around it does not hide the attempt.
    """
    root = os.path.realpath(os.fspath(solutions)) + os.sep
    realpath, fspath, fsdecode = os.path.realpath, os.fspath, os.fsdecode

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in _READ_EVENTS or not args or not active():
            return
        target = args[0]
        if target is None or isinstance(target, int):
            return
        try:
            path = fsdecode(realpath(fspath(target)))
        except (TypeError, ValueError, OSError):
            return
        if (path + os.sep).startswith(root):
            on_read(path)
            raise PermissionError(f"graded code may not read the reference solutions ({path})")

    sys.addaudithook(hook)
