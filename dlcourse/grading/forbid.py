"""Forbid the package's reference answers to the student's code of one exercise.

A graded test names what the student must write themselves::

    @pytest.mark.exercise("lab1.softmax_ce", points=1,
                          forbid=["dlcourse.losses.softmax_cross_entropy"])

While a test of that exercise runs, the student's module sees every forbidden object as a
stand-in that raises :class:`ForbiddenError` ("implement this yourself: exercise
lab1.softmax_ce may not call dlcourse.losses.softmax_cross_entropy") when it is called,
subclassed or used in any other way, whichever path the student took to it::

    from dlcourse.losses import softmax_cross_entropy      # top of the file
    from dlcourse import losses; losses.softmax_cross_entropy(z, y)
    import dlcourse.losses as L                             # also inside a function
    dlcourse.nn.ReLU        # a re-export: the same object as dlcourse.nn.activation.ReLU

Scope: the student's module only. :func:`dlcourse.grading.load_impl` gives the module it
imports its own ``__builtins__`` whose ``__import__`` hands out read-only views of the
forbidden objects' top-level packages (``dlcourse``); a view returns the stand-in for any
attribute that *is* a forbidden object, a view for any submodule, and a copy of a registry
(a dict whose values, or the fields or items of its values, hold a forbidden object) with
the stand-in in its place, e.g. ``ACTIVATIONS["relu"].f`` when ``dlcourse.functional.relu``
is forbidden. Nothing global is patched, so

- the tests' oracles and the package's own code keep the real functions (a test may call
  ``dlcourse.losses.softmax_cross_entropy`` while forbidding it to the student), and nothing
  has to be restored after the test;
- only the names the student reaches are guarded: a package function that calls a
  forbidden one internally still works, so forbid the entry points a student could use
  (``CrossEntropyLoss`` as well as ``softmax_cross_entropy``, ``dlcourse.train.fit`` for a
  training loop);
- reflection (``importlib.import_module``, ``sys.modules``) is not blocked: the guard catches
  answers that call the reference, not code written to evade the grader.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import dataclasses
import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = [
    "ForbiddenError",
    "Forbid",
    "resolve",
    "forbidding",
    "active",
    "guarded_builtins",
]


class ForbiddenError(Exception):
    """The student's code used a reference that its exercise forbids."""


@dataclass(frozen=True)
class Forbid:
    """The references forbidden to the student while a test of ``exercise`` runs.

    Attributes:
        exercise: the exercise id, e.g. ``"lab1.softmax_ce"``.
        names: dotted names such as ``"dlcourse.optim.Adam"`` (each must :func:`resolve`).
    """

    exercise: str
    names: tuple[str, ...]


def resolve(name: str) -> Any:
    """The object called ``name``: the longest importable module prefix, then attributes.

    Example:
        >>> resolve("dlcourse.optim.Adam").__name__
        'Adam'

    Raises:
        ValueError: ``name`` is not a dotted name of an existing object.
    """
    if not isinstance(name, str) or not all(p.isidentifier() for p in name.split(".")):
        raise ValueError(f"forbid: expected a dotted name such as 'dlcourse.optim.Adam', "
                         f"got {name!r}")
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                continue  # no such module: try a shorter prefix
            raise
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    raise ValueError(f"forbid: {name!r} names no object (check the spelling)")


_ACTIVE: list[Forbid] = []


@contextlib.contextmanager
def forbidding(exercise: str, names: Sequence[str]) -> Iterator[Forbid]:
    """While the block runs, :func:`active` is ``Forbid(exercise, names)`` (the plugin wraps
    each graded test in it; :func:`dlcourse.grading.load_impl` reads it)."""
    forbid = Forbid(exercise, tuple(names))
    _ACTIVE.append(forbid)
    try:
        yield forbid
    finally:
        _ACTIVE.remove(forbid)


def active() -> Forbid | None:
    """The innermost :func:`forbidding` block's :class:`Forbid`, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None


class _Forbidden:
    """Stand-in for a forbidden object: any use raises :class:`ForbiddenError`."""

    __slots__ = ("_name", "_exercise")

    def __init__(self, name: str, exercise: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_exercise", exercise)

    def _error(self) -> ForbiddenError:
        return ForbiddenError(
            f"implement this yourself: exercise {self._exercise} may not call {self._name}"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._error()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__") and attr != "__mro_entries__":
            raise AttributeError(attr)  # protocols probed by tools (copy, inspect, ...)
        raise self._error()  # an attribute, a method, or use as a base class

    def __setattr__(self, attr: str, value: Any) -> None:
        raise self._error()

    def __getitem__(self, key: Any) -> Any:
        raise self._error()

    def __iter__(self) -> Iterator[Any]:
        raise self._error()

    def __repr__(self) -> str:
        return f"<{self._name}: forbidden in exercise {self._exercise}>"


class _ModuleView:
    """Read-only view of a module: forbidden attributes are stand-ins, submodules views."""

    __slots__ = ("_module", "_guard")

    def __init__(self, module: ModuleType, guard: _Guard) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_guard", guard)

    def __getattr__(self, attr: str) -> Any:
        return self._guard.wrap(getattr(self._module, attr))

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{self._module.__name__} is read-only for graded code")

    def __dir__(self) -> list[str]:
        return dir(self._module)

    def __repr__(self) -> str:
        return repr(self._module)


class _Guard:
    """Turns the objects of one :class:`Forbid` into stand-ins wherever the student reaches."""

    def __init__(self, forbid: Forbid) -> None:
        self.exercise = forbid.exercise
        # keep the objects themselves, so that their ids stay theirs
        self.objects = {id(obj): (obj, name) for name in forbid.names for obj in [resolve(name)]}
        self.roots = {name.split(".", 1)[0] for name in forbid.names}
        self.views: dict[str, _ModuleView] = {}

    def stand_in(self, value: Any) -> Any:
        """The stand-in of ``value`` if it is forbidden, else ``value`` itself."""
        hit = self.objects.get(id(value))
        if hit is not None and hit[0] is value:
            return _Forbidden(hit[1], self.exercise)
        return value

    def wrap(self, value: Any) -> Any:
        """What the student sees in place of ``value`` (reached through an import or a view)."""
        if isinstance(value, ModuleType):
            if value.__name__.split(".", 1)[0] not in self.roots:
                return value
            view = self.views.get(value.__name__)
            if view is None:
                view = self.views[value.__name__] = _ModuleView(value, self)
            return view
        if isinstance(value, dict):
            scrubbed = {k: self._scrub(v) for k, v in value.items()}
            if any(scrubbed[k] is not v for k, v in value.items()):
                return scrubbed
            return value
        return self.stand_in(value)

    def _scrub(self, value: Any) -> Any:
        """``value`` with forbidden objects replaced, one level into tuples and dataclasses."""
        out = self.stand_in(value)
        if out is not value:
            return out
        if isinstance(value, tuple):
            items = [self.stand_in(v) for v in value]
            if any(a is not b for a, b in zip(items, value, strict=True)):
                return type(value)._make(items) if hasattr(value, "_fields") else tuple(items)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            changed = {}
            for f in dataclasses.fields(value):
                v = getattr(value, f.name)
                if self.stand_in(v) is not v:
                    changed[f.name] = self.stand_in(v)
            if changed:
                clone = copy.copy(value)
                for name, v in changed.items():
                    object.__setattr__(clone, name, v)  # also for frozen dataclasses
                return clone
        return value

    def import_(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> Any:
        return self.wrap(builtins.__import__(name, globals, locals, fromlist, level))


def guarded_builtins(forbid: Forbid) -> dict[str, Any]:
    """A ``__builtins__`` dict whose ``__import__`` guards the references of ``forbid``.

    Put it in a module's namespace before executing the module's code: every ``import``
    statement of that module (at the top or inside a function) then goes through the guard.

    Raises:
        ValueError: a name of ``forbid`` does not resolve.
    """
    table = dict(builtins.__dict__)
    table["__import__"] = _Guard(forbid).import_
    return table
