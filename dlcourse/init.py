"""Parameter initialisers (chapter 5.2.4 of the notes, "参数初始化").

Every initialiser takes the array ``shape``, ``rng`` (a ``np.random.Generator``, an int seed or
None) and ``dtype`` (float32 or float64, default float64) and returns a new array. Draws are
made in float64 and then cast, so a seed gives the same values (up to rounding) in both
dtypes. Nothing uses numpy's global random state.

Fan-in and fan-out (M_in, M_out) follow dlcourse's layouts (see :func:`fans`): a dense
``W`` is ``(in_features, out_features)`` — the transpose of PyTorch's ``Linear.weight`` —
and a convolution ``W`` is ``(F, C, kh, kw)``.

- fixed variance: N(0, σ²), or U[−r, r] with r = √(3σ²) (Eqs. (5.13)–(5.14));
- Xavier/Glorot (Glorot & Bengio, 2010): var = gain² · 2/(M_in + M_out),
  uniform r = gain · √(6/(M_in + M_out));
- He/Kaiming (He et al., 2015): var = 2/M_in for ReLU (Eq. (5.15)), uniform r = √(6/M_in);
  written here as var = gain²/M with gain = √2 for ReLU;
- orthogonal (Saxe et al., 2014, Eq. (5.18)): the SVD of a standard Gaussian matrix gives an
  orthogonal factor, scaled by a gain ρ (ρ = √2 for ReLU).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from dlcourse import _validate as V

__all__ = [
    "fans", "zeros", "constant", "normal", "uniform", "xavier_normal", "xavier_uniform",
    "kaiming_normal", "kaiming_uniform", "orthogonal", "INITS", "initialize",
]

RELU_GAIN = math.sqrt(2.0)

Shape = int | Sequence[int]


def _shape(shape: object) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape
    ):
        raise TypeError(f"shape: expected an int or a tuple of ints, got {shape!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"shape: expected non-negative sizes, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _dtype(dtype: object) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype: expected float32 or float64, got {dtype!r}") from err
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def _real(name: str, value: object) -> float:
    arr = V.as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name}: expected a scalar, got an array of shape {arr.shape}")
    return float(arr)


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) = (M_in, M_out) of a weight of this shape.

    - dense ``(in_features, out_features)``: (in_features, out_features);
    - convolution ``(F, C, kh, kw)`` (any number of trailing kernel dims):
      (C·kh·kw, F·kh·kw).
    """
    s = _shape(shape)
    if len(s) < 2:
        raise ValueError(
            f"shape: expected a weight shape with at least 2 dimensions "
            f"((in, out) or (F, C, kh, kw)), got {s}"
        )
    if len(s) == 2:
        return s[0], s[1]
    receptive = math.prod(s[2:])
    return s[1] * receptive, s[0] * receptive


def zeros(shape: Shape, dtype: object = np.float64) -> np.ndarray:
    """All zeros (the usual bias initialisation)."""
    return np.zeros(_shape(shape), dtype=_dtype(dtype))


def constant(shape: Shape, value: float, dtype: object = np.float64) -> np.ndarray:
    """Every entry equal to ``value`` (e.g. 1 for an LSTM forget-gate bias, 0.01 for ReLU)."""
    return np.full(_shape(shape), _real("value", value), dtype=_dtype(dtype))


def normal(shape: Shape, std: float = 0.01, mean: float = 0.0,
           rng: np.random.Generator | int | None = None, dtype: object = np.float64
           ) -> np.ndarray:
    """Gaussian N(mean, std²) entries (fixed-variance initialisation)."""
    s, dt = _shape(shape), _dtype(dtype)
    sd = V.check_nonnegative("std", std)
    m = _real("mean", mean)
    return (m + sd * V.as_rng(rng).standard_normal(s)).astype(dt)


def uniform(shape: Shape, low: float = -0.05, high: float = 0.05,
            rng: np.random.Generator | int | None = None, dtype: object = np.float64
            ) -> np.ndarray:
    """Uniform U[low, high) entries; U[−r, r] has variance r²/3 (Eqs. (5.13)–(5.14))."""
    s, dt = _shape(shape), _dtype(dtype)
    lo, hi = _real("low", low), _real("high", high)
    if not lo < hi:
        raise ValueError(f"high: expected a value > low = {lo!r}, got {hi!r}")
    return V.as_rng(rng).uniform(lo, hi, size=s).astype(dt)


def xavier_normal(shape: Shape, gain: float = 1.0,
                  rng: np.random.Generator | int | None = None, dtype: object = np.float64
                  ) -> np.ndarray:
    """Xavier/Glorot Gaussian: N(0, gain² · 2 / (M_in + M_out)), fans from :func:`fans`."""
    fan_in, fan_out = fans(shape)
    g = V.check_nonnegative("gain", gain)
    std = g * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return normal(shape, std=std, rng=rng, dtype=dtype)


def xavier_uniform(shape: Shape, gain: float = 1.0,
                   rng: np.random.Generator | int | None = None, dtype: object = np.float64
                   ) -> np.ndarray:
    """Xavier/Glorot uniform: U[−r, r], r = gain · √(6 / (M_in + M_out))."""
    fan_in, fan_out = fans(shape)
    g = V.check_nonnegative("gain", gain)
    r = g * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return _symmetric_uniform(shape, r, rng, dtype)


def _kaiming_fan(shape: Shape, mode: str) -> int:
    V.check_choice("mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = fans(shape)
    return max(fan_in if mode == "fan_in" else fan_out, 1)


def kaiming_normal(shape: Shape, gain: float = RELU_GAIN, mode: str = "fan_in",
                   rng: np.random.Generator | int | None = None, dtype: object = np.float64
                   ) -> np.ndarray:
    """He/Kaiming Gaussian: N(0, gain²/M), M = fan_in by default; for ReLU (gain √2) the
    variance is 2/M_in, Eq. (5.15). ``mode="fan_out"`` preserves the backward variance."""
    g = V.check_nonnegative("gain", gain)
    std = g / math.sqrt(_kaiming_fan(shape, mode))
    return normal(shape, std=std, rng=rng, dtype=dtype)


def kaiming_uniform(shape: Shape, gain: float = RELU_GAIN, mode: str = "fan_in",
                    rng: np.random.Generator | int | None = None, dtype: object = np.float64
                    ) -> np.ndarray:
    """He/Kaiming uniform: U[−r, r], r = gain · √(3/M); for ReLU r = √(6/M_in) (He init)."""
    g = V.check_nonnegative("gain", gain)
    r = g * math.sqrt(3.0 / _kaiming_fan(shape, mode))
    return _symmetric_uniform(shape, r, rng, dtype)


def _symmetric_uniform(shape: Shape, r: float, rng: np.random.Generator | int | None,
                       dtype: object) -> np.ndarray:
    s, dt = _shape(shape), _dtype(dtype)
    return V.as_rng(rng).uniform(-r, r, size=s).astype(dt)


def orthogonal(shape: Shape, gain: float = 1.0,
               rng: np.random.Generator | int | None = None, dtype: object = np.float64
               ) -> np.ndarray:
    """Orthogonal initialisation scaled by ``gain`` (Eq. (5.18), Saxe et al. 2014).

    The weight is viewed as a matrix Q of shape (shape[0], prod(shape[1:])). A standard
    Gaussian matrix A of that shape is factored A = U S Vᵀ and Q is the factor with A's
    shape: U if rows >= cols (then QᵀQ = I), else Vᵀ (then QQᵀ = I). Returns gain · Q.
    """
    s, dt = _shape(shape), _dtype(dtype)
    g = V.check_nonnegative("gain", gain)
    if len(s) < 2:
        raise ValueError(f"shape: expected at least 2 dimensions for a matrix, got {s}")
    rows, cols = s[0], math.prod(s[1:])
    a = V.as_rng(rng).standard_normal((rows, cols))
    u, _, vt = np.linalg.svd(a, full_matrices=False)  # u (rows, k), vt (k, cols)
    q = u if rows >= cols else vt
    return (g * q).reshape(s).astype(dt)


#: Names accepted by the layers' ``init=`` argument (``Linear``, ``Conv2d``, ``MLP``).
INITS = (
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
    "orthogonal",
    "normal",
    "uniform",
    "zeros",
)


def initialize(init: object, shape: Shape, rng: np.random.Generator | int | None = None,
               dtype: object = np.float64) -> np.ndarray:
    """A weight array for a layer: ``init`` is a name of :data:`INITS` or a callable
    ``init(shape, rng=..., dtype=...)``; the result is checked to have ``shape`` and cast to
    ``dtype`` ("zeros" takes no rng)."""
    shape = _shape(shape)
    dt = _dtype(dtype)
    if callable(init):
        fn = init
    else:
        V.check_choice("init", init, INITS)
        fn = globals()[str(init)]
    W = zeros(shape, dtype=dt) if init == "zeros" else np.asarray(fn(shape, rng=rng, dtype=dt))
    if W.shape != shape:
        raise ValueError(f"init: expected an array of shape {shape}, got {W.shape}")
    return W.astype(dt, copy=False)
