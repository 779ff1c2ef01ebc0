"""Layers that only change an array's shape."""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_float_array
from dlcourse.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Flatten every axis but the batch axis: ``(N, d_1, ..., d_k) -> (N, d_1 * ... * d_k)``.

    Used between convolutional layers ``(N, C, H, W)`` and dense layers ``(N, C*H*W)``.

    Cache:
        _x_shape: the input shape, used by ``backward`` to reshape ``dout`` back.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, d_1, ..., d_k) -> out: (N, d_1 * ... * d_k) (a view when possible)."""
        x = as_float_array("x", x)
        if x.ndim < 2:
            raise ValueError(
                f"x: expected an array (N, d_1, ...) of at least 2 dimensions, got shape {x.shape}"
            )
        self._x_shape = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, d_1 * ... * d_k) -> dx: (N, d_1, ..., d_k)."""
        if self._x_shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        dout = as_float_array("dout", dout)
        N = self._x_shape[0]
        want = (N, int(np.prod(self._x_shape[1:])))
        if dout.shape != want:
            raise ValueError(
                f"dout: expected shape {want} (the output of forward), got {dout.shape}"
            )
        return dout.reshape(self._x_shape)
