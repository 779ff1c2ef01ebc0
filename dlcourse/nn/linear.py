"""The fully connected (affine) layer ``y = x @ W + b``.

Relation to the notes: the notes write one sample as a column, ``z = W a + b`` with ``W`` of
shape ``(out, in)``. dlcourse stores a batch as rows, ``x`` of shape ``(N, in_features)``, and
``W`` of shape ``(in_features, out_features)``, so ``y = x @ W + b`` is the notes' equation
transposed (the notes' ``W`` is this ``W.T``). The backward pass is the notes' back-propagation
rule written for a batch:

    dW = x^T dout,     db = sum_n dout[n],     dx = dout W^T.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse import init as _init
from dlcourse._validate import as_float_array, as_rng, check_choice, check_int, check_ndim
from dlcourse.nn.module import Module, Parameter

__all__ = ["Linear", "INITS"]

#: Names accepted by ``Linear(init=...)``; each is the function of ``dlcourse.init``.
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

    Cache:
        _x: the input of the last ``forward`` (N, in_features), needed for ``dW``.
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
        if not isinstance(bias, bool):
            raise TypeError(f"bias: expected a bool, got {type(bias).__name__}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {dtype}")
        if callable(init):
            init_fn = init
        else:
            check_choice("init", init, INITS)
            init_fn = getattr(_init, init)
        rng = as_rng(rng)
        shape = (self.in_features, self.out_features)
        if init == "zeros":  # deterministic: takes no rng
            W = _init.zeros(shape, dtype=dtype)
        else:
            W = np.asarray(init_fn(shape, rng=rng, dtype=dtype))
        if W.shape != shape:
            raise ValueError(f"init: expected an array of shape {shape}, got {W.shape}")
        self.W = Parameter(W.astype(dtype, copy=False))
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_features) -> y = x @ W + b: (N, out_features), in the layer's dtype."""
        x = as_float_array("x", x)
        check_ndim("x", x, 2, "(N, in_features)")
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"x: expected shape (N, in_features) = (N, {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.W.data.dtype, copy=False)
        self._x = x
        y = x @ self.W.data  # (N, out_features)
        if self.b is not None:
            y = y + self.b.data
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, out_features) -> dx: (N, in_features); adds dW = xᵀ dout, db = Σ_n dout."""
        if self._x is None:
            raise RuntimeError("Linear.backward called before forward")
        x = self._x
        dout = as_float_array("dout", dout)
        if dout.shape != (x.shape[0], self.out_features):
            raise ValueError(
                f"dout: expected shape (N, out_features) = ({x.shape[0]}, {self.out_features}),"
                f" got {dout.shape}"
            )
        dout = dout.astype(self.W.data.dtype, copy=False)
        self.W.grad += x.T @ dout  # (in_features, out_features)
        if self.b is not None:
            self.b.grad += dout.sum(axis=0)
        return dout @ self.W.data.T  # (N, in_features)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.b is not None}"
        )
