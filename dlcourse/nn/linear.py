"""The fully connected (affine) layer ``y = x @ W + b``.

Relation to the notes: the notes write one sample as a column, ``z = W a + b`` with ``W`` of
shape ``(out, in)``. dlcourse stores a batch as rows, ``x`` of shape ``(N, in_features)``, and
``W`` of shape ``(in_features, out_features)``, so ``y = x @ W + b`` is the notes' equation
transposed (the notes' ``W`` is this ``W.T``). The backward pass is the notes' back-propagation
rule written for a batch:

    dW = x^T dout,     db = sum_n dout[n],     dx = dout W^T.

Any leading dimensions are allowed: ``x`` of shape ``(..., in_features)`` (e.g. ``(N, T, D)``
for a sequence) is treated as a batch of ``prod(...)`` rows, so ``dW`` sums over all of them.

The kernels :func:`linear_forward` / :func:`linear_backward` do the arithmetic and trust their
inputs; the :class:`Linear` module validates, keeps one :class:`LinearCache` per call and adds
the gradients into its parameters (see "Caches and reuse" in ``dlcourse.nn.module``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse import init as _init
from dlcourse._validate import (
    as_float_array,
    as_rng,
    check_bool,
    check_float_dtype,
    check_int,
)
from dlcourse.init import INITS
from dlcourse.nn.module import Module, Parameter

__all__ = ["Linear", "INITS", "LinearCache", "linear_forward", "linear_backward"]

@dataclass
class LinearCache:
    """What :func:`linear_backward` needs from one forward call.

    Attributes:
        x: the input, shape (..., D).
        W: the weights used, shape (D, M) (the array itself, not a copy).
        has_bias: whether a bias was added (then db is returned).
    """

    x: np.ndarray
    W: np.ndarray
    has_bias: bool


def linear_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None
) -> tuple[np.ndarray, LinearCache]:
    """Affine map ``out = x @ W + b`` (the notes' z = Wa + b, rows as samples).

    Args:
        x: (..., D); W: (D, M); b: (M,) or None. Same float dtype; not validated.

    Returns:
        out: (..., M) and the :class:`LinearCache` for :func:`linear_backward`.
    """
    out = x @ W  # (..., M)
    if b is not None:
        out += b
    return out, LinearCache(x=x, W=W, has_bias=b is not None)


def linear_backward(
    dout: np.ndarray, cache: LinearCache, need_dx: bool = True, need_dW: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of the affine map: ``dx = dout Wᵀ``, ``dW = xᵀ dout``, ``db = Σ dout``.

    Args:
        dout: (..., M), the upstream gradient dL/dout.
        cache: from :func:`linear_forward`.
        need_dx: False skips dx (the first layer of a network: nobody needs dL/dx).
        need_dW: False skips dW and db (frozen parameters).

    Returns:
        ``(dx (..., D) or None, dW (D, M) or None, db (M,) or None)``; the leading dimensions
        of ``x`` and ``dout`` are summed over in dW and db.
    """
    x, W = cache.x, cache.W
    D, M = W.shape
    dx = dout @ W.T if need_dx else None  # (..., D)
    dW = db = None
    if need_dW:
        x2 = x.reshape(-1, D)
        d2 = dout.reshape(-1, M)
        dW = x2.T @ d2  # (D, M)
        db = d2.sum(axis=0) if cache.has_bias else None
    return dx, dW, db


class Linear(Module):
    """Affine layer ``y = x @ W + b``.

    Args:
        in_features: D, the size of each input row.
        out_features: M, the size of each output row.
        bias: whether to learn ``b`` (if False, ``self.b`` is None).
        rng: Generator, seed or None for the weight initialisation.
        dtype: float64 (default, for gradient checks) or float32.
        init: name of the ``dlcourse.init`` function for ``W`` (see ``INITS``): He
            ("kaiming_*") suits ReLU networks, Xavier ("xavier_*") sigmoid/tanh networks.
            A callable ``init(shape, rng=..., dtype=...)`` is also accepted. ``b`` starts at 0.

    Parameters:
        W: (in_features, out_features); b: (out_features,).

    Shapes: x (..., in_features) -> y (..., out_features), e.g. (N, D) -> (N, M) or
    (N, T, D) -> (N, T, M). One :class:`LinearCache` is kept per call until its backward.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
        init: str | Callable[..., np.ndarray] = "kaiming_uniform",
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.out_features = check_int("out_features", out_features, minimum=1)
        check_bool("bias", bias)
        dtype = check_float_dtype("dtype", dtype)
        shape = (self.in_features, self.out_features)
        self.W = Parameter(_init.initialize(init, shape, rng=as_rng(rng), dtype=dtype))
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (..., in_features) -> y = x @ W + b: (..., out_features), in the layer's dtype."""
        x = as_float_array("x", x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x: expected shape (..., in_features) = (..., {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.W.data.dtype, copy=False)
        b = self.b.data if self.b is not None else None
        out, cache = linear_forward(x, self.W.data, b)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (..., out_features) -> dx: (..., in_features) (None if not ``need_dx``).

        Adds dW = xᵀ dout and db = Σ dout into the parameters' grads (unless frozen), for the
        most recent forward call not yet differentiated.
        """
        cache: LinearCache = self._peek_cache()
        x = cache.x
        dout = as_float_array("dout", dout, allow_nan=True)
        want = x.shape[:-1] + (self.out_features,)
        if dout.shape != want:
            raise ValueError(
                f"dout: expected shape (..., out_features) = {want} (the forward output), "
                f"got {dout.shape}"
            )
        self._caches.pop()
        dout = dout.astype(x.dtype, copy=False)
        need_dW = self._wants_grad(self.W, self.b)
        dx, dW, db = linear_backward(dout, cache, need_dx=need_dx, need_dW=need_dW)
        self._accumulate((self.W, dW), (self.b, db))
        return dx

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.b is not None}"
        )
