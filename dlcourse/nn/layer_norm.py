"""Layer normalisation (Ba et al., 2016): the kernel of ``dlcourse.nn.norm`` over the trailing
``normalized_shape`` axes of each sample (see that module for the forward and backward
formulas). γ and β have shape ``normalized_shape``; there are no running estimates, so training
and evaluation agree.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlcourse._validate import as_float_array, check_int, check_positive
from dlcourse.nn.module import Parameter
from dlcourse.nn.norm import _Affine, _float_dtype, norm_forward

__all__ = ["LayerNorm"]


def _normalized_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(
            f"normalized_shape: expected an int or a non-empty tuple of ints, got {value!r}"
        )
    return tuple(check_int(f"normalized_shape[{i}]", s, minimum=1) for i, s in enumerate(value))


class LayerNorm(_Affine):
    """Layer normalisation over the trailing ``normalized_shape`` dimensions, as PyTorch's.

    Args:
        normalized_shape: an int D or a tuple (d_1, ..., d_k): the last k dimensions of the
            input, over which each sample is standardised (D for (N, D) or (N, T, D);
            (C, H, W) for whole images).
        eps: ε added to the variance.
        elementwise_affine: learn γ (ones) and β (zeros) of shape ``normalized_shape``; if
            False both are None.
        dtype: dtype of γ and β; the forward pass computes in the input's dtype.

    Parameters: gamma (alias weight), beta (alias bias): ``normalized_shape``.
    Shapes: x (*B, *normalized_shape) -> y of the same shape; identical in training and eval.
    One :class:`NormCache` is kept per call until its backward.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = check_positive("eps", eps)
        if not isinstance(elementwise_affine, bool):
            raise TypeError(
                f"elementwise_affine: expected a bool, got {type(elementwise_affine).__name__}"
            )
        self.elementwise_affine = elementwise_affine
        dt = _float_dtype(dtype)
        shape = self.normalized_shape
        self.gamma = Parameter(np.ones(shape, dtype=dt)) if elementwise_affine else None
        self.beta = Parameter(np.zeros(shape, dtype=dt)) if elementwise_affine else None

    def _param_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return self.normalized_shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (*B, *normalized_shape) -> y: same shape and dtype."""
        x = as_float_array("x", x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k :] != self.normalized_shape:
            raise ValueError(
                f"x: expected shape (..., {', '.join(map(str, self.normalized_shape))}) ending "
                f"in normalized_shape = {self.normalized_shape}, got {x.shape}"
            )
        gamma, beta = self._params_for(x)
        out, cache = norm_forward(x, tuple(range(x.ndim - k, x.ndim)), gamma, beta, self.eps)
        self._save_cache(cache)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}"
        )
