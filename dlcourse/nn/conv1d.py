"""One-dimensional convolution: the notes' narrow / wide / same ``conv1d`` and the ``Conv1d``
layer over sequences ``(N, C, L)``.

Two conventions, both in this module:

- :func:`conv1d` is the notes' (and the mathematicians') **convolution** of a sequence x of
  length M with a kernel w of length K, Eq. (5.57) ``y_t = Σ_k w_k · x_{t−k}`` (the kernel is
  flipped, so it is commutative and equals ``np.convolve``). The three modes differ only by the
  zero padding P at each end, with stride 1:

  ==========  ============  ==============
  mode         padding P     output length
  ==========  ============  ==============
  ``narrow``   0             M − K + 1
  ``wide``     K − 1         M + K − 1
  ``same``     (K − 1)/2     M
  ==========  ============  ==============

  For an even K the "same" padding is not an integer: the output is the wide result's
  entries ``(K − 1)//2 … (K − 1)//2 + M − 1`` (as ``np.convolve(..., "same")``).
- :class:`Conv1d` is PyTorch's ``nn.Conv1d``: a **cross-correlation** (kernel not flipped),
  ``out[n, f, t] = b[f] + Σ_{c,k} W[f, c, k] · xp[n, c, s·t + k]``, with ``W`` of shape
  ``(out_channels, in_channels, K)`` and out = ⌊(L − K + 2p)/s⌋ + 1. It runs on the 2-D
  kernels of :mod:`dlcourse.nn.conv` with a height of 1 (im2col + one GEMM, no Python loop over
  positions or samples). A time-delay neural network (TDNN, exercise 6-1) is exactly this layer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse import init as _init
from dlcourse._validate import (
    as_float_array,
    as_rng,
    check_bool,
    check_choice,
    check_float_dtype,
    check_int,
    check_ndim,
)
from dlcourse.nn._conv_utils import Workspace, conv_output_size
from dlcourse.nn.conv import Conv2dCache, conv2d_backward, conv2d_forward
from dlcourse.nn.grad_mode import is_grad_enabled
from dlcourse.nn.module import Module, Parameter

__all__ = ["Conv1d", "conv1d", "conv1d_forward", "conv1d_backward", "CONV1D_MODES"]

#: The notes' three kinds of 1-D convolution and their padding for a kernel of length K.
CONV1D_MODES = ("narrow", "wide", "same")


def conv1d(x: object, w: object, mode: str = "narrow") -> np.ndarray:
    """Convolution (kernel flipped, Eq. (5.57)) of sequences with a kernel, stride 1.

    Args:
        x: (..., M), one sequence or a batch of sequences (leading axes are kept).
        w: (K,), the kernel, K <= M for ``"narrow"``.
        mode: ``"narrow"`` (no padding, length M − K + 1), ``"wide"`` (K − 1 zeros at each
            end, length M + K − 1) or ``"same"`` (length M).

    Returns:
        (..., out_len) in the result dtype of x and w (float32 stays float32).

    >>> conv1d(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 10.0]), mode="wide")
    array([ 1., 12., 23., 34., 40.])
    """
    x = as_float_array("x", x)
    w = as_float_array("w", w)
    check_choice("mode", mode, CONV1D_MODES)
    if x.ndim < 1:
        raise ValueError(f"x: expected an array of shape (..., M), got shape {x.shape}")
    check_ndim("w", w, 1, "(K,)")
    M, K = x.shape[-1], w.shape[0]
    if K < 1:
        raise ValueError(f"w: expected a kernel of length K >= 1, got shape {w.shape}")
    if mode == "narrow" and K > M:
        raise ValueError(f"w: expected a kernel no longer than x (M = {M}) for a narrow "
                         f"convolution, got K = {K}")
    dtype = np.result_type(x.dtype, w.dtype)
    xp = np.zeros(x.shape[:-1] + (M + 2 * (K - 1),), dtype)  # the wide padding
    xp[..., K - 1 : K - 1 + M] = x
    wf = w[::-1].astype(dtype, copy=False)  # convolution = correlation with the flipped kernel
    full_len = M + K - 1
    y = np.zeros(x.shape[:-1] + (full_len,), dtype)
    for k in range(K):  # a loop over kernel offsets only
        y += wf[k] * xp[..., k : k + full_len]
    if mode == "wide":
        return y
    start = K - 1 if mode == "narrow" else (K - 1) // 2
    length = M - K + 1 if mode == "narrow" else M
    return np.ascontiguousarray(y[..., start : start + length])


def conv1d_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, stride: int = 1, padding: int = 0,
    ws: Workspace | None = None,
) -> tuple[np.ndarray, Conv2dCache]:
    """Cross-correlation of sequences (PyTorch's ``conv1d``); not validated.

    Args:
        x: (N, C, L); W: (F, C, K); b: (F,) or None; same float dtype. ws: reusable buffers.

    Returns:
        out (N, F, out_len) with out_len = ⌊(L − K + 2p)/s⌋ + 1, and the cache of the 2-D kernel
        (the input seen as (N, C, 1, L)).
    """
    out, cache = conv2d_forward(x[:, :, None, :], W[:, :, None, :], b, (1, stride),
                                (0, padding), ws)
    return out[:, :, 0, :], cache


def conv1d_backward(
    dout: np.ndarray, cache: Conv2dCache, need_dx: bool = True, need_dW: bool = True,
    ws: Workspace | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`conv1d_forward`: dout (N, F, out_len) ->
    ``(dx (N, C, L) or None, dW (F, C, K) or None, db (F,) or None)``."""
    dx, dW, db = conv2d_backward(dout[:, :, None, :], cache, need_dx, need_dW, ws)
    return (
        None if dx is None else dx[:, :, 0, :],
        None if dW is None else dW[:, :, 0, :],
        db,
    )


class Conv1d(Module):
    """1-D convolution layer over sequences (cross-correlation, as PyTorch's ``nn.Conv1d``).

    Args:
        in_channels: C. out_channels: F. kernel_size: K (an int).
        stride: an int >= 1. padding: zeros added at each end (an int >= 0).
        bias: whether to learn ``b`` (if False, ``self.b`` is None).
        rng, dtype, init: as :class:`dlcourse.nn.Conv2d` (fan_in = C·K, fan_out = F·K).

    Parameters:
        W: (out_channels, in_channels, K); b: (out_channels,).

    Shapes: x (N, in_channels, L) -> (N, out_channels, out_len), out_len = ⌊(L − K + 2p)/s⌋ + 1.
    With stride 1, padding 0, K − 1 and (K − 1)/2 give the notes' narrow, wide and same lengths.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
        init: str | Callable[..., np.ndarray] = "kaiming_uniform",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.kernel_size = _one_int("kernel_size", kernel_size, 1)
        self.stride = _one_int("stride", stride, 1)
        self.padding = _one_int("padding", padding, 0)
        check_bool("bias", bias)
        dtype = check_float_dtype("dtype", dtype)
        shape = (self.out_channels, self.in_channels, self.kernel_size)
        self.W = Parameter(_init.initialize(init, shape, rng=as_rng(rng), dtype=dtype))
        self.b = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self._ws = Workspace()

    def _out_len(self, L: int) -> int:
        return conv_output_size(L, self.kernel_size, self.stride, self.padding)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, L) -> (N, out_channels, out_len), in the layer's dtype."""
        x = as_float_array("x", x)
        check_ndim("x", x, 3, "(N, C, L)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x: expected shape (N, in_channels, L) = (N, {self.in_channels}, L), "
                f"got {x.shape}"
            )
        if x.shape[2] + 2 * self.padding < self.kernel_size:
            raise ValueError(
                f"x: expected a padded length L + 2p >= kernel_size {self.kernel_size}, "
                f"got {x.shape[2] + 2 * self.padding} from shape {x.shape}"
            )
        x = x.astype(self.W.data.dtype, copy=False)
        b = self.b.data if self.b is not None else None
        out, cache = conv1d_forward(x, self.W.data, b, self.stride, self.padding, self._ws)
        if is_grad_enabled():
            self._save_cache(cache)
        else:
            self._ws.give(cache.cols)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, out_channels, out_len) -> dx: (N, in_channels, L) (None if not
        ``need_dx``); adds dW and db into the parameters' grads unless frozen."""
        cache: Conv2dCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        N, _, _, L = cache.x_shape
        want = (N, self.out_channels, self._out_len(L))
        if dout.shape != want:
            raise ValueError(f"dout: expected shape {want} (the forward output), got {dout.shape}")
        self._caches.pop()
        dout = dout.astype(cache.W.dtype, copy=False)
        need_dW = self._wants_grad(self.W, self.b)
        dx, dW, db = conv1d_backward(dout, cache, need_dx, need_dW, self._ws)
        self._accumulate((self.W, dW), (self.b, db))
        return None if dx is None else np.ascontiguousarray(dx)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.b is not None}"
        )


def _one_int(name: str, value: object, minimum: int) -> int:
    """An int (or a 1-tuple of one, as PyTorch's ``(k,)``) >= ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name}: expected an int or a 1-tuple, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected a value >= {minimum}, got {value!r}")
    return int(value)
