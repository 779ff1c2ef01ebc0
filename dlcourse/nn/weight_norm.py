"""Weight normalisation: an affine layer whose weight is reparameterised as W = g · v/‖v‖.

Weight normalisation (Salimans & Kingma, 2016; one of the notes' 逐层归一化 methods) separates
each output unit's weight vector into a direction v_m/‖v_m‖ and a length g_m. With dlcourse's
row layout ``y = x @ W + b`` and W of shape (D, M) = (in_features, out_features), unit m's weight
vector is the column W[:, m], so the norm is taken over the input dimension (axis 0):

    W[:, m] = g_m · v[:, m] / ‖v[:, m]‖,     y = x W + b.

No batch statistics are involved (it works for any batch size and is identical in training
and evaluation). Given dW = xᵀ dout from the affine layer, the chain rule through the
reparameterisation gives, per unit, with v̂ = v/‖v‖:

    dg_m = v̂_m · dW[:, m],     dv[:, m] = (g_m/‖v_m‖) · (dW[:, m] − v̂_m dg_m),

i.e. dv is dW scaled by g/‖v‖ and projected orthogonally to v (so a gradient step does not
change ‖v‖ to first order). PyTorch's ``weight_norm(nn.Linear(D, M), dim=0)`` is the same layer
with ``weight_v`` = vᵀ and ``weight_g`` = g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse import init as _init
from dlcourse._validate import as_float_array, as_rng, check_bool, check_float_dtype, check_int
from dlcourse.nn.linear import LinearCache, linear_backward, linear_forward
from dlcourse.nn.module import Module, Parameter

__all__ = [
    "WeightNormLinear",
    "WeightNormCache",
    "weight_norm_linear_forward",
    "weight_norm_linear_backward",
]


@dataclass
class WeightNormCache:
    """What :func:`weight_norm_linear_backward` needs from one forward call.

    Attributes:
        linear: the cache of the affine map with the effective W (input x (..., D), W (D, M)).
        v_hat: the unit directions v/‖v‖, (D, M).
        norm: ‖v[:, m]‖ per unit, (M,).
        g: the lengths used, (M,).
    """

    linear: LinearCache
    v_hat: np.ndarray
    norm: np.ndarray
    g: np.ndarray


def weight_norm_linear_forward(
    x: np.ndarray, v: np.ndarray, g: np.ndarray, b: np.ndarray | None
) -> tuple[np.ndarray, WeightNormCache]:
    """y = x @ (g · v/‖v‖) + b, the norm over axis 0 (the inputs) per output unit.

    Args:
        x: (..., D); v: (D, M) with no zero column; g: (M,); b: (M,) or None. Same float
            dtype; not validated.

    Returns:
        y (..., M) and the :class:`WeightNormCache`.
    """
    norm = np.sqrt(np.sum(v * v, axis=0))  # (M,)
    v_hat = v / norm  # (D, M)
    W = v_hat * g  # (D, M)
    out, lin = linear_forward(x, W, b)
    return out, WeightNormCache(linear=lin, v_hat=v_hat, norm=norm, g=g)


def weight_norm_linear_backward(
    dout: np.ndarray, cache: WeightNormCache, need_dx: bool = True, need_params: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`weight_norm_linear_forward` (see the module docstring).

    Args:
        dout: (..., M); cache: from the forward call; need_dx: False skips dx;
            need_params: False skips dv, dg and db.

    Returns:
        ``(dx (..., D) or None, dv (D, M) or None, dg (M,) or None, db (M,) or None)``.
    """
    dx, dW, db = linear_backward(dout, cache.linear, need_dx=need_dx, need_dW=need_params)
    if dW is None:
        return dx, None, None, None
    dg = np.sum(dW * cache.v_hat, axis=0)  # (M,)
    dv = dW - cache.v_hat * dg  # the part of dW orthogonal to v
    dv *= cache.g / cache.norm
    return dx, dv, dg, db


class WeightNormLinear(Module):
    """Affine layer ``y = x @ W + b`` with ``W = g · v/‖v‖`` (norm over the input dimension).

    Args:
        in_features: D. out_features: M. bias: whether to learn ``b`` (else None).
        rng: Generator, seed or None for v (``kaiming_uniform``, as ``Linear``'s W).
        dtype: float64 (default, for gradient checks) or float32; the input is cast to it.

    Parameters:
        v: (in_features, out_features), the directions; g: (out_features,), the lengths,
        initialised to ‖v[:, m]‖ so that W = v at the start (as PyTorch's ``weight_norm``);
        b: (out_features,), zero at the start.

    Shapes: x (..., in_features) -> y (..., out_features). One :class:`WeightNormCache` is kept
    per call until its backward.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.out_features = check_int("out_features", out_features, minimum=1)
        check_bool("bias", bias)
        dtype = check_float_dtype("dtype", dtype)
        shape = (self.in_features, self.out_features)
        v = _init.kaiming_uniform(shape, rng=as_rng(rng), dtype=dtype)
        self.v = Parameter(v)
        self.g = Parameter(np.sqrt(np.sum(v * v, axis=0)))
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def weight(self) -> np.ndarray:
        """The effective weight W = g · v/‖v‖, shape (in_features, out_features) (a new array)."""
        v = self.v.data
        return v / np.sqrt(np.sum(v * v, axis=0)) * self.g.data

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (..., in_features) -> y = x @ W + b: (..., out_features), in the layer's dtype."""
        x = as_float_array("x", x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: expected shape (..., in_features) = (..., {self.in_features}), got {x.shape}"
            )
        v = self.v.data
        zero = np.flatnonzero(~np.any(v != 0, axis=0))
        if zero.size:
            raise ValueError(
                f"v: expected non-zero columns (W = g·v/‖v‖ needs ‖v[:, m]‖ > 0), got zero "
                f"columns {zero.tolist()}"
            )
        x = x.astype(v.dtype, copy=False)
        b = self.b.data if self.b is not None else None
        out, cache = weight_norm_linear_forward(x, v, self.g.data.astype(v.dtype, copy=False), b)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (..., out_features) -> dx: (..., in_features) (None if not ``need_dx``); adds
        dv, dg and db into the parameters' grads (unless frozen)."""
        cache: WeightNormCache = self._peek_cache()
        x = cache.linear.x
        dout = as_float_array("dout", dout, allow_nan=True)
        want = x.shape[:-1] + (self.out_features,)
        if dout.shape != want:
            raise ValueError(
                f"dout: expected shape (..., out_features) = {want} (the forward output), "
                f"got {dout.shape}"
            )
        self._caches.pop()
        dout = dout.astype(x.dtype, copy=False)
        need_params = self._wants_grad(self.v, self.g, self.b)
        dx, dv, dg, db = weight_norm_linear_backward(
            dout, cache, need_dx=need_dx, need_params=need_params
        )
        self._accumulate((self.v, dv), (self.g, dg), (self.b, db))
        return dx

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.b is not None}"
        )
