"""Activation functions, their derivatives, and a numerically stable softmax.

Every activation ``f(x)`` comes with ``f_grad(x)`` = f'(x) evaluated element-wise at ``x``
(the *input*, not the output); both take an array of any shape and return an array of the
same shape and dtype (float32 stays float32; integers become float64). Formulas follow the
activation table of chapter 前馈神经网络 ("常见激活函数及其导数"); Swish and GELU follow
the same chapter's slides. Nothing here modifies the caller's array.

The exact GELU needs the error function. numpy has none and scipy is not a dependency, so
``_erfc`` implements W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
approximations for the error function", Math. Comp. 23, 1969, the SPECFUN ``CALERF``
coefficients), vectorised: below 1e-15 relative error in float64 (checked against
``math.erfc``), about 0.1 s per million elements, without a Python loop.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse import _validate as V

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "prelu", "prelu_grad", "prelu_grad_gamma",
    "elu", "elu_grad", "softplus", "softplus_grad", "swish", "swish_grad",
    "gelu", "gelu_grad", "softmax", "log_softmax", "one_hot",
]

_GELU_MODES = ("none", "tanh", "sigmoid")
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715  # cubic coefficient of the tanh approximation
_GELU_SIGMOID_C = 1.702  # GELU(x) ≈ x σ(1.702 x)

# Cody (1969) coefficients: A/B erf on |x| <= 0.46875; C/D erfc on (0.46875, 4]; P/Q x > 4.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1  # 1/sqrt(pi)


def _exp_minus_square(y: np.ndarray) -> np.ndarray:
    """exp(−y²) with y² split as ysq² + (y − ysq)(y + ysq), ysq = y rounded down to 1/16 (Cody)."""
    ysq = np.trunc(y * 16.0) / 16.0
    return np.exp(-ysq * ysq) * np.exp(-(y - ysq) * (y + ysq))


def _erfc(z: np.ndarray) -> np.ndarray:
    """erfc(z) for a float64 array, Cody's three-interval rational approximation."""
    z = np.asarray(z, dtype=np.float64)
    y = np.minimum(np.abs(z), 30.0)  # erfc(30) underflows to 0: clipping changes nothing
    out = np.empty_like(y)
    small, mid, big = y <= 0.46875, (y > 0.46875) & (y <= 4.0), y > 4.0
    t = y[small] ** 2  # erf(y) = y R(y^2)
    num, den = _A[4] * t, t
    for i in range(3):
        num, den = (num + _A[i]) * t, (den + _B[i]) * t
    out[small] = 1.0 - y[small] * (num + _A[3]) / (den + _B[3])
    ym = y[mid]  # erfc(y) = exp(-y^2) R(y)
    num, den = _C[8] * ym, ym
    for i in range(7):
        num, den = (num + _C[i]) * ym, (den + _D[i]) * ym
    out[mid] = _exp_minus_square(ym) * (num + _C[7]) / (den + _D[7])
    yb = y[big]  # erfc(y) = exp(-y^2) / y (1/sqrt(pi) - R(1/y^2) / y^2)
    t = 1.0 / yb**2
    num, den = _P[5] * t, t
    for i in range(4):
        num, den = (num + _P[i]) * t, (den + _Q[i]) * t
    out[big] = _exp_minus_square(yb) * (_SQRPI - t * (num + _P[4]) / (den + _Q[4])) / yb
    return np.where(z < 0, 2.0 - out, out)


def _x(x: object) -> np.ndarray:
    return V.as_float_array("x", x)


# Private kernels (prefixed "_") take an already validated float array and are what the
# nn layers call; the public functions validate first.


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid(x: object) -> np.ndarray:
    """Logistic function σ(x) = 1 / (1 + exp(-x)), any shape.

    Evaluated as 1/(1+e^{-|x|}) or e^{-|x|}/(1+e^{-|x|}) by sign, so x = ±1000 gives 1 and 0
    without an overflow warning.
    """
    return _sigmoid(_x(x))


def sigmoid_grad(x: object) -> np.ndarray:
    """σ'(x) = σ(x)(1 − σ(x)) (activation table, Logistic row).

    Evaluated as σ(x)σ(−x) (1 − σ(x) = σ(−x)), which keeps full relative accuracy in both
    tails where 1 − σ(x) would cancel; the same trick is used by swish and GELU below.
    """
    return _sigmoid_grad(_x(x))


def _sigmoid_grad(x: np.ndarray) -> np.ndarray:
    return _sigmoid(x) * _sigmoid(-x)


def _tanh_grad(x: np.ndarray) -> np.ndarray:
    # sech²(x) = 4e/(1 + e)² with e = exp(−2|x|) in (0, 1]: no overflow, and full relative
    # accuracy in the tails, where 1 − tanh(x)² rounds to 0 (|x| > 9 in float32, 19 in float64)
    e = np.asarray(np.abs(x))  # an array also for a 0-d x (np.abs returns a scalar then)
    e *= -2.0
    np.exp(e, out=e)  # in place: twice as fast as 1 − tanh(x)² with temporaries
    d = e + 1.0
    d *= d
    e *= 4.0
    e /= d
    return e if e.ndim else e[()]


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _relu_grad(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(x.dtype)


def tanh(x: object) -> np.ndarray:
    """tanh(x) = (e^x − e^{-x}) / (e^x + e^{-x}), any shape."""
    return np.tanh(_x(x))


def tanh_grad(x: object) -> np.ndarray:
    """tanh'(x) = 1 − tanh(x)² (activation table, Tanh row).

    Evaluated as 4e/(1 + e)², e = exp(−2|x|) (the same value, sech²(x)), which keeps full
    relative accuracy where 1 − tanh(x)² would round to 0.
    """
    return _tanh_grad(_x(x))


def relu(x: object) -> np.ndarray:
    """ReLU(x) = max(0, x), any shape."""
    return _relu(_x(x))


def relu_grad(x: object) -> np.ndarray:
    """ReLU'(x) = I(x > 0) (activation table; the value 0 is used at the kink x = 0)."""
    return _relu_grad(_x(x))


def leaky_relu(x: object, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU(x) = x if x > 0 else γ x, with γ = ``negative_slope`` >= 0."""
    x = _x(x)
    g = V.check_nonnegative("negative_slope", negative_slope)
    return np.where(x > 0, x, g * x)


def leaky_relu_grad(x: object, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU'(x) = 1 if x > 0 else γ."""
    x = _x(x)
    g = V.check_nonnegative("negative_slope", negative_slope)
    return np.where(x > 0, 1.0, g).astype(x.dtype)


def _prelu_args(x: object, gamma: object) -> tuple[np.ndarray, np.ndarray]:
    x = _x(x)
    g = V.as_float_array("gamma", gamma).astype(x.dtype, copy=False)
    try:
        ok = np.broadcast_shapes(g.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"gamma: expected a shape that broadcasts to x's shape {x.shape} "
            f"(e.g. (D,) for x (N, D), (C, 1, 1) for x (N, C, H, W)), got {g.shape}"
        )
    return x, g


def prelu(x: object, gamma: object) -> np.ndarray:
    """PReLU_i(x) = x if x > 0 else γ_i x, with one slope per feature.

    ``gamma`` broadcasts against ``x`` without changing its shape: ``(D,)`` for x ``(N, D)``,
    ``(C, 1, 1)`` for x ``(N, C, H, W)``, or a scalar. Output has x's shape and dtype.
    """
    x, g = _prelu_args(x, gamma)
    return np.where(x > 0, x, g * x)


def prelu_grad(x: object, gamma: object) -> np.ndarray:
    """∂PReLU/∂x = 1 if x > 0 else γ_i, shape of ``x``."""
    x, g = _prelu_args(x, gamma)
    return np.where(x > 0, 1.0, g).astype(x.dtype, copy=False)


def prelu_grad_gamma(x: object, gamma: object) -> np.ndarray:
    """∂PReLU/∂γ_i element-wise = 0 if x > 0 else x, shape of ``x``.

    The gradient of a loss w.r.t. ``gamma`` is ``dout * prelu_grad_gamma(x, gamma)`` summed
    over the axes along which ``gamma`` was broadcast (e.g. ``axis=0`` for gamma ``(D,)``).
    """
    x, _ = _prelu_args(x, gamma)
    return np.where(x > 0, 0.0, x).astype(x.dtype, copy=False)


def elu(x: object, alpha: float = 1.0) -> np.ndarray:
    """ELU(x) = max(0, x) + min(0, α(exp(x) − 1)) (activation table, ELU row, γ = α)."""
    x = _x(x)
    a = V.check_nonnegative("alpha", alpha)
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x: object, alpha: float = 1.0) -> np.ndarray:
    """ELU'(x) = I(x > 0) + I(x <= 0) α exp(x)."""
    x = _x(x)
    a = V.check_nonnegative("alpha", alpha)
    return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0))).astype(x.dtype, copy=False)


def softplus(x: object) -> np.ndarray:
    """softplus(x) = log(1 + exp(x)), evaluated as log1p(exp(−|x|)) + max(x, 0) (no overflow)."""
    x = _x(x)
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def softplus_grad(x: object) -> np.ndarray:
    """softplus'(x) = 1 / (1 + exp(−x)) = σ(x) (activation table, SoftPlus row)."""
    return _sigmoid(_x(x))


def swish(x: object, beta: float = 1.0) -> np.ndarray:
    """swish(x) = x σ(βx), β >= 0 (β = 1 is PyTorch's SiLU)."""
    x = _x(x)
    b = V.check_nonnegative("beta", beta)
    return x * _sigmoid(b * x)


def swish_grad(x: object, beta: float = 1.0) -> np.ndarray:
    """swish'(x) = σ(βx) + βx σ(βx)(1 − σ(βx))."""
    x = _x(x)
    b = V.check_nonnegative("beta", beta)
    s = _sigmoid(b * x)
    return s + b * x * s * _sigmoid(-b * x)


def _gelu_mode(approximate: object) -> str:
    V.check_choice("approximate", approximate, _GELU_MODES)
    return str(approximate)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = erfc(−x/√2) / 2, accurate in both tails; result has x's dtype."""
    return (0.5 * _erfc(-x.astype(np.float64) / math.sqrt(2.0))).astype(x.dtype)


def gelu(x: object, approximate: str = "none") -> np.ndarray:
    """GELU(x) = x P(X <= x) = x Φ(x) with X ~ N(0, 1) (chapter 前馈神经网络, GELU slide).

    ``approximate="tanh"``: 0.5 x (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³), evaluated as
    x σ(2u) (the same value without cancellation for x << 0);
    ``approximate="sigmoid"``: x σ(1.702 x). Same names and results as PyTorch for
    "none" and "tanh".
    """
    x = _x(x)
    mode = _gelu_mode(approximate)
    if mode == "none":
        return x * _normal_cdf(x)
    if mode == "sigmoid":
        return x * _sigmoid(_GELU_SIGMOID_C * x)
    # 0.5 (1 + tanh(u)) = σ(2u): no cancellation for x << 0; clipping avoids x³ overflow
    xc = np.clip(x, -100.0, 100.0)
    return x * _sigmoid(2.0 * _SQRT_2_OVER_PI * (xc + _GELU_TANH_C * xc**3))


def gelu_grad(x: object, approximate: str = "none") -> np.ndarray:
    """GELU'(x) = Φ(x) + x φ(x) with φ(x) = exp(−x²/2)/√(2π), or the chosen approximation's:

    - tanh: 0.5(1 + t) + 0.5 x (1 − t²) u', t = tanh(u), u' = √(2/π)(1 + 3·0.044715 x²);
    - sigmoid: σ(1.702x) + 1.702 x σ(1.702x)(1 − σ(1.702x)).
    """
    x = _x(x)
    mode = _gelu_mode(approximate)
    xc = np.clip(x, -100.0, 100.0)  # x φ(x) and the tanh term vanish long before |x| = 100
    if mode == "none":
        pdf = np.exp(-0.5 * xc * xc) / math.sqrt(2.0 * math.pi)
        return _normal_cdf(x) + xc * pdf
    if mode == "sigmoid":
        s = _sigmoid(_GELU_SIGMOID_C * x)
        return s + _GELU_SIGMOID_C * x * s * _sigmoid(-_GELU_SIGMOID_C * x)
    v = 2.0 * _SQRT_2_OVER_PI * (xc + _GELU_TANH_C * xc**3)  # 2u
    s = _sigmoid(v)  # (1 + t)/2
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_TANH_C * xc * xc)
    return s + 2.0 * xc * s * _sigmoid(-v) * du  # 0.5 x (1 − t²) u', 1 − t² = 4 σ(2u)σ(−2u)


def _axis(axis: object, ndim: int) -> int:
    if ndim == 0:
        raise ValueError("x: expected an array with at least one axis, got a 0-D array")
    a = V.check_int("axis", axis)
    if not -ndim <= a < ndim:
        raise ValueError(f"axis: expected an integer in [{-ndim}, {ndim}), got {a}")
    return a


def softmax(x: object, axis: int = -1) -> np.ndarray:
    """softmax(x)_j = exp(x_j) / Σ_i exp(x_i) along ``axis`` (default: last).

    x: logits of any shape with at least one dimension, e.g. (N, C). Stable: the maximum
    along ``axis`` is subtracted first (in a new array; the caller's ``x`` is untouched).
    """
    x = _x(x)
    a = _axis(axis, x.ndim)
    e = np.exp(x - np.max(x, axis=a, keepdims=True))
    return e / np.sum(e, axis=a, keepdims=True)


def log_softmax(x: object, axis: int = -1) -> np.ndarray:
    """log softmax(x)_j = (x_j − m) − log Σ_i exp(x_i − m), m = max_i x_i, along ``axis``.

    Stable for any finite logits: never takes the log of an underflowed probability.
    """
    x = _x(x)
    a = _axis(axis, x.ndim)
    z = x - np.max(x, axis=a, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=a, keepdims=True))


def one_hot(y: object, num_classes: int) -> np.ndarray:
    """One-hot encoding: integer labels of shape S (e.g. (N,) or (N, T)) → float64 (*S, C).

    ``out[..., c] = 1`` where ``y == c``; labels must lie in [0, num_classes).
    """
    c = V.check_int("num_classes", num_classes, minimum=1)
    arr = V.as_array("y", y)
    flat = V.check_labels("y", arr.reshape(-1), arr.size, c)
    out = np.zeros((flat.size, c), dtype=np.float64)
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(*arr.shape, c)
