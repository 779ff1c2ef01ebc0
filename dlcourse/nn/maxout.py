"""The maxout unit: the maximum of ``pieces`` affine functions of the input.

A maxout unit m computes ``z_{k,m} = x · W[k, :, m] + b[k, m]`` for k = 1, ..., K pieces and
outputs ``max_k z_{k,m}``: a piecewise-linear convex function of x whose pieces are learned, so
ReLU (K = 2 with one piece fixed at 0) and LeakyReLU (pieces x and γx) are special cases
(Goodfellow et al., 2013; the feed-forward chapter's activation list). The gradient flows only
through the winning piece of each unit:

    dz[k, m] = dout[m] if k is the arg-max for unit m, else 0,
    dW[k] = xᵀ dz[k],   db[k] = Σ_n dz[k],   dx = Σ_k dz[k] W[k]ᵀ.

Ties are broken towards the first piece (``np.argmax``), where the max is not differentiable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse import init as _init
from dlcourse._validate import as_float_array, as_rng, check_float_dtype, check_int
from dlcourse.nn.module import Module, Parameter

__all__ = ["Maxout", "MaxoutCache", "maxout_forward", "maxout_backward"]


@dataclass
class MaxoutCache:
    """What :func:`maxout_backward` needs from one forward call.

    Attributes:
        x: the input, shape (..., D).
        W: the weights used, (K, D, M).
        winner: index of the winning piece per unit, shape (..., M), ints in [0, K).
    """

    x: np.ndarray
    W: np.ndarray
    winner: np.ndarray


def maxout_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, MaxoutCache]:
    """out[..., m] = max_k (x @ W[k] + b[k])[..., m].

    Args:
        x: (..., D); W: (K, D, M); b: (K, M). Same float dtype; not validated.

    Returns:
        out (..., M) and the :class:`MaxoutCache`.
    """
    K, D, M = W.shape
    lead = x.shape[:-1]
    x2 = x.reshape(-1, D)  # (R, D)
    z = (x2 @ W.transpose(1, 0, 2).reshape(D, K * M)).reshape(-1, K, M) + b  # (R, K, M)
    winner = np.argmax(z, axis=1)  # (R, M)
    out = np.take_along_axis(z, winner[:, None, :], axis=1)[:, 0, :]  # (R, M)
    return out.reshape(lead + (M,)), MaxoutCache(x=x, W=W, winner=winner.reshape(lead + (M,)))


def maxout_backward(
    dout: np.ndarray, cache: MaxoutCache, need_dx: bool = True, need_dW: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`maxout_forward` (see the module docstring).

    Args:
        dout: (..., M); cache: from the forward call; need_dx / need_dW: skip dx or (dW, db).

    Returns:
        ``(dx (..., D) or None, dW (K, D, M) or None, db (K, M) or None)``.
    """
    K, D, M = cache.W.shape
    d2 = dout.reshape(-1, M)  # (R, M)
    R = d2.shape[0]
    winner = cache.winner.reshape(R, M)
    dz = np.zeros((R, K, M), dtype=dout.dtype)
    np.put_along_axis(dz, winner[:, None, :], d2[:, None, :], axis=1)
    dz2 = dz.reshape(R, K * M)
    dx = dW = db = None
    if need_dx:
        Wcat = cache.W.transpose(1, 0, 2).reshape(D, K * M)
        dx = (dz2 @ Wcat.T).reshape(cache.x.shape)  # (..., D)
    if need_dW:
        x2 = cache.x.reshape(-1, D)
        dW = (x2.T @ dz2).reshape(D, K, M).transpose(1, 0, 2)  # (K, D, M)
        db = dz.sum(axis=0)  # (K, M)
    return dx, dW, db


class Maxout(Module):
    """Maxout layer: ``out_features`` units, each the max of ``pieces`` affine functions.

    Args:
        in_features: D. out_features: M. pieces: K >= 1 (K = 1 is a plain Linear layer).
        rng: Generator, seed or None for the weights (each piece initialised like a
            ``Linear`` with ``kaiming_uniform``); dtype: float64 (default) or float32.

    Parameters:
        W: (pieces, in_features, out_features); b: (pieces, out_features), zero at start.

    Shapes: x (..., in_features) -> out (..., out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        pieces: int,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.out_features = check_int("out_features", out_features, minimum=1)
        self.pieces = check_int("pieces", pieces, minimum=1)
        dtype = check_float_dtype("dtype", dtype)
        rng = as_rng(rng)
        W = np.stack(
            [
                _init.kaiming_uniform((self.in_features, self.out_features), rng=rng, dtype=dtype)
                for _ in range(self.pieces)
            ]
        )
        self.W = Parameter(W.astype(dtype, copy=False))
        self.b = Parameter(np.zeros((self.pieces, self.out_features), dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (..., in_features) -> out: (..., out_features), in the layer's dtype."""
        x = as_float_array("x", x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: expected shape (..., in_features) = (..., {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.W.data.dtype, copy=False)
        out, cache = maxout_forward(x, self.W.data, self.b.data)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (..., out_features) -> dx: (..., in_features) (None if not ``need_dx``);
        adds dW and db (through each unit's winning piece) unless frozen."""
        cache: MaxoutCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != cache.winner.shape:
            raise ValueError(
                f"dout: expected shape {cache.winner.shape} (the forward output), got {dout.shape}"
            )
        self._caches.pop()
        dout = dout.astype(cache.x.dtype, copy=False)
        need_dW = self._wants_grad(self.W, self.b)
        dx, dW, db = maxout_backward(dout, cache, need_dx=need_dx, need_dW=need_dW)
        self._accumulate((self.W, dW), (self.b, db))
        return dx

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}"
        )
