"""Assertions for graded tests, with messages a student can act on.

Each failure message starts with *what* was being checked (``"Linear.backward: dW"``), so the
grader's one-line summary says what is wrong, e.g.
``AssertionError: Linear.backward: dW: relative error 0.5 vs finite differences (max 1e-06)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.gradcheck import relative_error

__all__ = ["Snapshot", "expect_array", "assert_close", "assert_grad"]


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
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise AssertionError(f"{what}: contains NaN or inf")
    return arr


def assert_close(
    actual: Any, expected: Any, what: str, rtol: float = 1e-7, atol: float = 1e-9
) -> None:
    """``actual`` ≈ ``expected`` element-wise (shape checked first)."""
    exp = np.asarray(expected, dtype=np.float64)
    act = expect_array(actual, what, exp.shape)
    if not np.allclose(act, exp, rtol=rtol, atol=atol):
        diff = np.abs(act - exp)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        raise AssertionError(
            f"{what}: wrong values; largest difference {diff.max():.3g} at index {idx} "
            f"(got {act[idx]:.6g}, expected {exp[idx]:.6g})"
        )


def assert_grad(analytic: Any, numeric: Any, what: str, tol: float = 1e-6) -> None:
    """Relative error (``dlcourse.gradcheck.relative_error``) of a gradient below ``tol``."""
    num = np.asarray(numeric, dtype=np.float64)
    ana = expect_array(analytic, what, num.shape)
    err = relative_error(ana, num)
    if not err < tol:
        raise AssertionError(
            f"{what}: relative error {err:.2g} vs finite differences (max {tol:g})"
        )
