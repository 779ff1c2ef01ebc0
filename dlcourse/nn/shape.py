"""Layers that only change an array's shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_float_array
from dlcourse.nn.module import Module

__all__ = ["Flatten", "FlattenCache"]


@dataclass
class FlattenCache:
    """What ``Flatten.backward`` needs from one forward call: the input shape (N, d_1, ...)."""

    x_shape: tuple[int, ...]


class Flatten(Module):
    """Flatten every axis but the batch axis: ``(N, d_1, ..., d_k) -> (N, d_1 * ... * d_k)``.

    Used between convolutional layers ``(N, C, H, W)`` and dense layers ``(N, C*H*W)``.

    One :class:`FlattenCache` (the input shape) is kept per call, to reshape ``dout`` back.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, d_1, ..., d_k) -> out: (N, d_1 * ... * d_k) (a view when possible)."""
        x = as_float_array("x", x)
        if x.ndim < 2:
            raise ValueError(
                f"x: expected an array (N, d_1, ...) of at least 2 dimensions, got shape {x.shape}"
            )
        self._save_cache(FlattenCache(x_shape=x.shape))
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, d_1 * ... * d_k) -> dx: (N, d_1, ..., d_k) (None if not ``need_dx``)."""
        x_shape = self._peek_cache().x_shape
        dout = as_float_array("dout", dout)
        N = x_shape[0]
        want = (N, int(np.prod(x_shape[1:])))
        if dout.shape != want:
            raise ValueError(
                f"dout: expected shape {want} (the output of forward), got {dout.shape}"
            )
        self._caches.pop()
        return dout.reshape(x_shape) if need_dx else None
