"""Shared assertions of the sweep: a clear error, or an accepted input with the right result."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # test-only (requirements-test.txt): without it the sweep skips
    pytest.skip("hypothesis is not installed (pip install -r requirements-test.txt)",
                allow_module_level=True)

#: Bounded and reproducible: the same examples on every run (CI stability).
SWEEP = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                        HealthCheck.differing_executors])


class Accepted:
    """The call returned normally: ``value`` is its result."""

    def __init__(self, value: Any) -> None:
        self.value = value


def outcome(fn: Callable[[], Any]) -> Accepted | Exception:
    """Run ``fn``: its result, or the ValueError/TypeError it raised (anything else fails)."""
    try:
        with np.errstate(all="ignore"):
            return Accepted(fn())
    except (ValueError, TypeError) as err:
        return err


def shows(value: object, message: str, type_error: bool = False) -> bool:
    """Does ``message`` show ``value`` (its repr or str, or for a container an element)?

    A TypeError may show the value's type instead; NaN and infinity may be called so.
    """
    texts = {repr(value), str(value)}
    if type_error:
        texts.add(type(value).__name__)
    if isinstance(value, float) and not np.isfinite(value):
        texts |= {"NaN", "infinit", "finite"}
    if isinstance(value, np.ndarray):
        texts = {str(value.shape), str(value.dtype)}
    elif isinstance(value, (list, tuple)):
        texts |= {repr(v) for v in value} | {type(value).__name__}
        texts |= {type(v).__name__ for v in value} if type_error else set()
        try:
            texts.add(str(np.shape(value)))
        except ValueError:  # ragged
            pass
    elif not isinstance(value, (int, float, str)):
        texts.add(type(value).__name__)
    return any(t in message for t in texts)


def names(message: str, *args: str) -> bool:
    """Does ``message`` name one of ``args`` as a word (``params[0]`` names ``params``)?

    ``X`` and ``x`` are the same input: a model's message uses its first layer's ``x``.
    """
    spelled = {a for arg in args for a in ((arg, arg.lower()) if arg == "X" else (arg,))}
    return any(re.search(rf"(?<![\w.]){re.escape(a)}(?!\w)", message) for a in spelled)


def assert_clear(err: Exception, arg: str, *actual: object, others: tuple[str, ...] = ()
                 ) -> None:
    """``err`` names the argument (or one of ``others``) and one of the actual values."""
    msg = str(err)
    assert names(msg, arg, *others), f"{type(err).__name__} does not name {arg!r}: {msg!r}"
    if actual:
        assert any(shows(a, msg, isinstance(err, TypeError)) for a in actual), (
            f"{type(err).__name__} on {arg!r} does not show the actual value "
            f"{' / '.join(map(repr, actual))}: {msg!r}"
        )


def same(a: Any, b: Any) -> bool:
    """Equal results: arrays/floats to 1e-10 (NaN equal to NaN), containers element-wise."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return a == b
    return x.shape == y.shape and np.allclose(x, y, rtol=1e-10, atol=1e-12, equal_nan=True)


def has_nonfinite(value: Any) -> bool:
    """Is a NaN or infinity anywhere in the (possibly nested) result?"""
    if isinstance(value, (tuple, list)):
        return any(has_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(has_nonfinite(v) for v in value.values())
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return not np.isfinite(arr).all()


def expect_clear_or_same(fn: Callable[[], Any], reference: Callable[[], Any], arg: str,
                         *actual: object) -> None:
    """Either ``fn()`` equals ``reference()``, or it raises a TypeError naming ``arg`` and the
    actual dtype/type, or a ValueError naming ``arg`` (a value the dtype made invalid)."""
    got = outcome(fn)
    if isinstance(got, Accepted):
        ref = reference()
        assert same(got.value, ref), "accepted, but the result differs from the float call"
    elif isinstance(got, TypeError):
        assert_clear(got, arg, *actual)
    else:
        assert_clear(got, arg)


def expect_clear(fn: Callable[[], Any], arg: str, *actual: object,
                 others: tuple[str, ...] = ()) -> None:
    """``fn()`` must raise ValueError or TypeError naming ``arg`` and the actual value."""
    got = outcome(fn)
    if isinstance(got, Accepted):
        pytest.fail(f"accepted a bad {arg!r} ({' / '.join(map(repr, actual))}): "
                    f"returned {type(got.value).__name__}")
    assert_clear(got, arg, *actual, others=others)
