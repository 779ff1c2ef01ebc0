"""Finite-difference gradient checks (pure functions on arrays).

Centred differences: for a scalar function f and a unit vector e_i,

    ∂f/∂x_i ≈ (f(x + ε e_i) − f(x − ε e_i)) / (2ε),

whose truncation error is O(ε²) (the ε and ε³ terms of the two Taylor expansions cancel),
against O(ε) for the one-sided difference. Rounding adds about u·|f|/ε (u ≈ 1.1e-16 in
float64), so ε = 1e-6 balances the two at roughly 1e-10 absolute error for f of order 1.
Gradient checks therefore run in float64; float32 would lose most digits.

Each function works on a float64 **copy** of ``x`` and passes that copy to ``f``: the
caller's array is never touched. For the common pattern where ``f`` ignores its argument and
reads a parameter array directly (``f = lambda _: model_loss()``), pass ``inplace=True``:
the entries of ``x`` itself (which must then be a writeable float64 array) are perturbed one
at a time and restored, also when ``f`` raises.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse import _validate as V

__all__ = [
    "numerical_gradient",
    "numerical_jacobian_vector",
    "numerical_derivative",
    "relative_error",
    "check_gradient",
]


def _work_array(x: object, inplace: bool) -> np.ndarray:
    if inplace:
        if not isinstance(x, np.ndarray) or x.dtype != np.float64:
            raise TypeError(f"x: inplace=True needs a float64 ndarray, got {V._describe(x)}")
        if not x.flags.writeable:
            raise ValueError("x: inplace=True needs a writeable array, got a read-only one")
        return x
    return np.array(V.as_float_array("x", x), dtype=np.float64)  # always a fresh copy


def _scalar(value: object) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"f: expected a scalar result, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def numerical_gradient(f: Callable[[np.ndarray], object], x: object, eps: float = 1e-6,
                       *, inplace: bool = False) -> np.ndarray:
    """Centred-difference gradient ∇f(x) of a scalar function f, shape of ``x``, float64.

    Costs 2·x.size calls of f. See the module docstring for ``inplace``.
    """
    eps = V.check_positive("eps", eps)
    xw = _work_array(x, inplace)
    grad = np.zeros(xw.shape, dtype=np.float64)
    for i in np.ndindex(xw.shape):  # index xw itself: also right for non-contiguous views
        old = xw[i]
        try:
            xw[i] = old + eps
            fp = _scalar(f(xw))
            xw[i] = old - eps
            fm = _scalar(f(xw))
        finally:
            xw[i] = old
        grad[i] = (fp - fm) / (2.0 * eps)
    return grad


def numerical_jacobian_vector(f: Callable[[np.ndarray], object], x: object, dout: object,
                              eps: float = 1e-6, *, inplace: bool = False) -> np.ndarray:
    """Vector–Jacobian product d Σ(f(x) ⊙ dout) / dx = Jᵀ dout by centred differences.

    f maps ``x`` to an array of the shape of ``dout`` (the upstream gradient). This is what
    a layer's ``backward(dout)`` must return. Result: shape of ``x``, float64.
    """
    d = V.as_float_array("dout", dout).astype(np.float64)

    def g(z: np.ndarray) -> float:
        out = np.asarray(f(z))
        if out.shape != d.shape:
            raise ValueError(f"dout: expected the shape of f(x) {out.shape}, got {d.shape}")
        return float(np.sum(out * d))

    return numerical_gradient(g, x, eps, inplace=inplace)


def numerical_derivative(f: Callable[[np.ndarray], object], x: object,
                         eps: float = 1e-6) -> np.ndarray:
    """Element-wise derivative (f(x + ε) − f(x − ε)) / (2ε) of an element-wise function.

    Only valid when output i depends on input i alone (activations): then one vectorised
    pair of calls gives every f'(x_i), without the rounding noise that summing the other
    outputs would add. Result: shape of ``x``, float64.
    """
    eps = V.check_positive("eps", eps)
    xw = _work_array(x, inplace=False)
    fp, fm = np.asarray(f(xw + eps), dtype=np.float64), np.asarray(f(xw - eps), dtype=np.float64)
    if fp.shape != xw.shape:
        raise ValueError(f"f: expected an element-wise result of shape {xw.shape}, got {fp.shape}")
    return (fp - fm) / (2.0 * eps)


def relative_error(a: object, b: object, floor: float | None = None) -> float:
    """max_i |a_i − b_i| / max(floor, |a_i| + |b_i|), CS231n's element-wise measure.

    0 for identical arrays, symmetric in a and b, at most 1. ``floor=None`` (default) uses
    floor = max(1e-8, 1e-3 · max_j(|a_j| + |b_j|)): entries more than 1000 times smaller than
    the largest are judged by their absolute error against that scale. This makes the
    measure scale-invariant (above the 1e-8 floor) and keeps the rounding noise of a finite
    difference (≈ 1e-16·|f|/ε ≈ 1e-10) from failing a correct gradient whose true entry is
    ~1e-5; a real mistake in such an entry still gives an error far above 1e-6. Pass
    ``floor=1e-8`` for CS231n's plain form. In float64 a correct gradient usually gives
    < 1e-7; > 1e-3 almost always means a bug. Empty arrays give 0.
    """
    x = V.as_float_array("a", a).astype(np.float64)
    y = V.as_float_array("b", b).astype(np.float64)
    V.check_same_shape("a", x, "b", y)
    if x.size == 0:
        return 0.0
    denom = np.abs(x) + np.abs(y)
    if floor is None:
        fl = max(1e-8, 1e-3 * float(np.max(denom)))
    else:
        fl = V.check_positive("floor", floor)
    return float(np.max(np.abs(x - y) / np.maximum(fl, denom)))


def check_gradient(f: Callable[[np.ndarray], object], x: object, analytic: object,
                   tol: float = 1e-6, eps: float = 1e-6, *, floor: float | None = None,
                   inplace: bool = False) -> tuple[bool, float]:
    """Compare an analytic gradient of scalar f at x with centred differences.

    analytic: shape of ``x``. Returns ``(ok, err)`` with err = relative_error(analytic,
    numerical_gradient(f, x, eps), floor) and ok = err < tol (see :func:`relative_error`
    for ``floor``).
    """
    tol = V.check_positive("tol", tol)
    an = V.as_float_array("analytic", analytic).astype(np.float64)
    shape = V.as_array("x", x).shape
    if an.shape != shape:
        raise ValueError(f"analytic: expected the shape of x {shape}, got {an.shape}")
    err = relative_error(an, numerical_gradient(f, x, eps, inplace=inplace), floor)
    return err < tol, err
