"""Assertions for graded tests, with messages a student can act on.

Each failure message starts with *what* was being checked (``"Linear.backward: dW"``) and
says what was expected and what was got, in plain Python numbers (``1``, not
``np.int64(1)``), so the grader's one-line summary (which shows an ``AssertionError``'s
message alone) is enough to start fixing, e.g.
``accuracy_error: accuracy: expected 0.6, got 0.75`` or
``Linear.backward: dW: relative error 0.5 vs finite differences (max 1e-06)``.
Graded tests use these helpers (or an ``assert`` with such a message) instead of a bare
``assert a == b``, whose pytest rendering (``(0.75, 0.25) == approx(...)``) is no help.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.gradcheck import relative_error

__all__ = [
    "Snapshot",
    "plain",
    "show",
    "expect_array",
    "assert_equal",
    "assert_close",
    "assert_grad",
    "RowIndex",
    "check_epochs",
    "check_step_gradients",
]


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into Python numbers, tuples and lists.

    Example:
        >>> plain((np.int64(1), np.array([0.5, 2.0]), np.bool_(True)))
        (1, [0.5, 2.0], True)
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def show(value: Any) -> str:
    """``value`` for a message: plain Python, floats with 6 significant digits.

    Example:
        >>> show((np.float64(0.75), np.int64(3), [1 / 3, None]))
        '(0.75, 3, [0.333333, None])'
    """
    value = plain(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        inner = ", ".join(show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


def _hinted(message: str, hint: str) -> str:
    return f"{message} ({hint})" if hint else message


class Snapshot:
    """Copies of the arrays given to student code, to prove they were not modified.

    Example:
        >>> x = np.ones(3)
        >>> snap = Snapshot(x=x)
        >>> snap.assert_unchanged("f")   # raises AssertionError if x was modified
    """

    def __init__(self, **arrays: Any) -> None:
        self.arrays = arrays
        self.copies = {k: np.array(v, copy=True) for k, v in arrays.items()}

    def assert_unchanged(self, what: str) -> None:
        for name, copy in self.copies.items():
            now = np.asarray(self.arrays[name])
            if now.shape != copy.shape or not np.array_equal(now, copy, equal_nan=True):
                raise AssertionError(
                    f"{what} modified its input {name} (never change a caller's array)"
                )


def expect_array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array after checking it is an array of ``shape``."""
    if value is None:
        raise AssertionError(f"{what}: returned None (missing return?)")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        kind = type(value).__name__
        raise AssertionError(f"{what}: expected a numeric array, got {kind}") from err
    if shape is not None and arr.shape != tuple(shape):
        if tuple(shape) == ():
            raise AssertionError(f"{what}: expected a single number, got an array of shape "
                                 f"{show(arr.shape)}")
        raise AssertionError(f"{what}: expected shape {show(tuple(shape))}, got "
                             f"{show(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise AssertionError(f"{what}: contains NaN or inf")
    return arr


def _norm(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    return value


def assert_equal(actual: Any, expected: Any, what: str, hint: str = "") -> None:
    """``actual == expected`` exactly (ints, bools, strings, tuples or lists of them).

    numpy scalars count as their Python value and a list equals the tuple of its items;
    the message is ``"<what>: expected <expected>, got <actual> (<hint>)"``.
    """
    if _norm(actual) != _norm(expected):
        raise AssertionError(_hinted(f"{what}: expected {show(expected)}, got {show(actual)}",
                                     hint))


def assert_close(
    actual: Any,
    expected: Any,
    what: str,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    hint: str = "",
) -> None:
    """``actual`` ≈ ``expected`` element-wise (shape checked first).

    A number fails with ``"<what>: expected 0.6, got 0.75 (<hint>)"``; an array with the
    index of its largest difference, ``"<what>: expected 1.5 at index [1, 0], got 1.2 ..."``.
    """
    exp = np.asarray(expected, dtype=np.float64)
    act = expect_array(actual, what, exp.shape)
    if np.allclose(act, exp, rtol=rtol, atol=atol):
        return
    if exp.ndim == 0:
        raise AssertionError(_hinted(f"{what}: expected {show(float(exp))}, got "
                                     f"{show(float(act))}", hint))
    diff = np.abs(act - exp)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    wrong = int(np.sum(~np.isclose(act, exp, rtol=rtol, atol=atol)))
    raise AssertionError(_hinted(
        f"{what}: expected {show(float(exp[idx]))} at index {show(list(idx))}, got "
        f"{show(float(act[idx]))} ({wrong} of {exp.size} values differ)", hint
    ))


def assert_grad(
    analytic: Any,
    numeric: Any,
    what: str,
    tol: float = 1e-6,
    reference: str = "finite differences",
    hint: str = "",
) -> None:
    """Relative error (``dlcourse.gradcheck.relative_error``) of a gradient below ``tol``.

    ``reference`` names where ``numeric`` comes from, for the message.
    """
    num = np.asarray(numeric, dtype=np.float64)
    ana = expect_array(analytic, what, num.shape)
    err = relative_error(ana, num)
    if not err < tol:
        raise AssertionError(_hinted(
            f"{what}: relative error {err:.2g} vs {reference} (max {tol:g})", hint
        ))


class RowIndex:
    """Which samples of a data set a mini-batch holds, found by matching rows.

    Args:
        X: (N, ...) the data set; its rows must be distinct.

    Example:
        >>> X = np.arange(6.0).reshape(3, 2)
        >>> RowIndex(X)(X[[2, 0]], "batch")
        [2, 0]
    """

    def __init__(self, X: np.ndarray) -> None:
        rows = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        self.index = {row.tobytes(): i for i, row in enumerate(rows)}
        if len(self.index) != len(rows):
            raise ValueError("X: RowIndex needs distinct rows")

    def __call__(self, batch: Any, what: str) -> list[int]:
        """The indices of the rows of ``batch`` (N_b, ...) in ``X``."""
        rows = np.asarray(batch, dtype=np.float64)
        rows = np.ascontiguousarray(rows.reshape(len(rows), -1))
        found = [self.index.get(row.tobytes()) for row in rows]
        if any(i is None for i in found):
            raise AssertionError(
                f"{what}: a mini-batch holds a row that is not a training sample (give the "
                "model rows of X, unchanged)"
            )
        return [int(i) for i in found if i is not None]


def check_epochs(
    batches: list[list[int]], n: int, epochs: int, batch_size: int, what: str
) -> list[list[int]]:
    """Check mini-batch SGD's schedule from the samples of every optimiser step, in order.

    Expected: ``epochs`` epochs, each of ⌈n / batch_size⌉ steps whose mini-batches of
    ``batch_size`` samples (the last one smaller) hold every sample exactly once, in a
    shuffled order that changes from epoch to epoch.

    Args:
        batches: the sample indices of each step's mini-batch (e.g. from :class:`RowIndex`).
        n: the number of training samples; epochs, batch_size: the schedule asked for.
        what: the function under test, for the messages.

    Returns:
        The order in which each epoch visited the samples.
    """
    per_epoch = -(-n // batch_size)
    last = n - (per_epoch - 1) * batch_size
    if len(batches) != epochs * per_epoch:
        raise AssertionError(
            f"{what}: expected {epochs} epochs × {per_epoch} mini-batches = "
            f"{epochs * per_epoch} optimiser steps, got {len(batches)} (N = {n}, batch_size "
            f"= {batch_size}: the last mini-batch of each epoch holds the {last} samples left)"
        )
    want_sizes = [batch_size] * (per_epoch - 1) + [last]
    orders = []
    for e in range(epochs):
        chunk = batches[e * per_epoch : (e + 1) * per_epoch]
        sizes = [len(b) for b in chunk]
        if sizes != want_sizes:
            k = next(i for i, (a, b) in enumerate(zip(sizes, want_sizes, strict=True)) if a != b)
            raise AssertionError(
                f"{what}: epoch {e}, mini-batch {k}: expected {want_sizes[k]} samples, got "
                f"{sizes[k]} (mini-batches of {batch_size}, the last one holds the {last} left)"
            )
        order = [i for b in chunk for i in b]
        if sorted(order) != list(range(n)):
            distinct = len(set(order))
            raise AssertionError(
                f"{what}: epoch {e} must use each of the {n} samples exactly once; it used "
                f"{distinct} distinct samples ({len(order) - distinct} repeats)"
            )
        orders.append(order)
    if orders[0] == list(range(n)):
        raise AssertionError(
            f"{what}: epoch 0 visited the samples in their stored order: shuffle them with rng "
            "(a new permutation every epoch)"
        )
    for e in range(1, epochs):
        if orders[e] == orders[e - 1]:
            raise AssertionError(
                f"{what}: epochs {e - 1} and {e} visited the samples in the same order: draw a "
                "new permutation from the same generator every epoch (never re-seed it)"
            )
    return orders


def check_step_gradients(
    got: list[np.ndarray],
    want: list[np.ndarray],
    previous: list[np.ndarray] | None,
    names: list[str],
    what: str,
) -> None:
    """The gradients an optimiser step saw are those of its own mini-batch.

    Args:
        got: the parameters' ``grad`` arrays at the step.
        want: the gradients of that step's mini-batch loss at the step's parameters.
        previous: ``got`` of the step before (None for the first step): a gradient equal to
            ``want + previous`` means the gradients were not zeroed between the steps.
        names: the parameters' names (``"W.grad"``), for the messages.
        what: e.g. ``"train_mlp: at step 3"``.
    """
    for i, (g, w, name) in enumerate(zip(got, want, names, strict=True)):
        if np.allclose(g, w, rtol=1e-6, atol=1e-9):
            continue
        if previous is not None and np.allclose(g, w + previous[i], rtol=1e-6, atol=1e-9):
            raise AssertionError(
                f"{what}, {name} holds this mini-batch's gradient plus the previous one: set "
                "the gradients to zero (opt.zero_grad()) before each backward"
            )
        assert_grad(g, w, f"{what}, {name}", reference="the gradient of that mini-batch's "
                    "mean loss", hint="zero the gradients, forward, loss, backward, then step")
