"""Input checks shared by every public function.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong
shape or value) with a message that names the argument, what was expected and what was
given, e.g. ``x: expected a 2-D array (N, D), got shape (3, 4, 5)``. Internal invariants
use ``assert``; anything a caller can get wrong goes through here.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_array",
    "as_float_array",
    "check_ndim",
    "check_shape",
    "check_same_shape",
    "check_labels",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_int",
    "check_choice",
    "check_bool",
    "check_float_dtype",
    "as_rng",
]


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def as_array(name: str, x: object) -> np.ndarray:
    """Return ``x`` as an ndarray (no copy if it already is one); reject non-numeric input."""
    if type(x) is np.ndarray and x.dtype.kind in "biufc":  # fast path: a numeric ndarray
        return x
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{name}: expected an array-like of numbers, got {_describe(x)}"
            ) from err
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        scalar = f" ({_describe(x)})" if arr.ndim == 0 and arr is not x else ""  # e.g. '0.1'
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}{scalar}")
    return arr


def as_float_array(name: str, x: object, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``x`` as a float array: float32/float64 are kept, other numbers become float64.

    Raises ``ValueError`` if the array holds NaN or infinity (unless ``allow_nan``).
    """
    arr = as_array(name, x)
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):  # not float32/float64
        arr = arr.astype(np.float64)
    if not allow_nan and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, found NaN or infinity")
    return arr


def check_ndim(name: str, x: np.ndarray, ndim: int | Sequence[int], layout: str = "") -> None:
    """Require ``x.ndim`` to be ``ndim`` (or one of them); ``layout`` documents e.g. ``(N, D)``."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        lay = f" {layout}" if layout else ""
        raise ValueError(f"{name}: expected a {want} array{lay}, got shape {x.shape}")


def check_shape(name: str, x: np.ndarray, shape: Sequence[int | None]) -> None:
    """Require ``x.shape`` to match ``shape``, where ``None`` matches any size."""
    ok = x.ndim == len(shape) and all(
        s is None or s == d for s, d in zip(shape, x.shape, strict=False)
    )
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape)
        want += ",)" if len(shape) == 1 else ")"
        raise ValueError(f"{name}: expected shape {want}, got {x.shape}")


def check_same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Require two arrays to have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b}: expected the same shape as {name_a} {a.shape}, got {b.shape}"
        )


def check_labels(name: str, y: object, n: int, num_classes: int | None = None) -> np.ndarray:
    """Return integer class labels of shape ``(n,)`` with values in ``[0, num_classes)``."""
    arr = as_array(name, y)
    if not np.issubdtype(arr.dtype, np.integer):
        if (np.issubdtype(arr.dtype, np.floating) and arr.size and np.isfinite(arr).all()
                and np.all(arr == np.round(arr))):
            arr = arr.astype(np.int64)
        elif arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name}: expected integer class labels, got dtype {arr.dtype}")
    check_shape(name, arr, (n,))
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: expected labels >= 0, got minimum {arr.min()}")
    if num_classes is not None and arr.size and arr.max() >= num_classes:
        raise ValueError(
            f"{name}: expected labels in [0, {num_classes}), got maximum {arr.max()}"
        )
    return arr


def _check_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_describe(value)}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return v


def check_positive(name: str, value: object) -> float:
    """Require a finite real number > 0 and return it as float."""
    v = _check_real(name, value)
    if v <= 0:
        raise ValueError(f"{name}: expected a value > 0, got {value!r}")
    return v


def check_nonnegative(name: str, value: object) -> float:
    """Require a finite real number >= 0 and return it as float."""
    v = _check_real(name, value)
    if v < 0:
        raise ValueError(f"{name}: expected a value >= 0, got {value!r}")
    return v


def check_probability(name: str, value: object, *, closed_right: bool = True) -> float:
    """Require a number in [0, 1] (or [0, 1) when ``closed_right`` is False)."""
    v = _check_real(name, value)
    if v < 0 or v > 1 or (v == 1 and not closed_right):
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"{name}: expected a value in {interval}, got {value!r}")
    return v


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Require an integer (not bool), optionally ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {_describe(value)}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {v}")
    return v


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Require ``value`` to be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


def check_bool(name: str, value: object) -> bool:
    """Require a bool (not an int) and return it."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, got {_describe(value)}")
    return value


def check_float_dtype(name: str, dtype: object) -> np.dtype:
    """Require float32 or float64 (any spelling numpy accepts); return the ``np.dtype``."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as err:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from err
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected float32 or float64, got {dt}")
    return dt


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, a seed or None) into a ``np.random.Generator``.

    Nothing in dlcourse uses numpy's global random state.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng: expected a numpy Generator, an int seed or None, got {_describe(rng)}")
