"""Two-dimensional convolution: the didactic ``corr2d``, ``im2col``/``col2im`` and ``Conv2d``.

Like PyTorch (and the notes' code), a "convolution" layer computes the cross-correlation

    out[n, f, i, j] = b[f] + Σ_{c, u, v} W[f, c, u, v] · xp[n, c, s_h·i + u, s_w·j + v],

with ``xp`` the input zero-padded by ``p`` on each side; the kernel is not flipped. The output
size is ``out = ⌊(H − k + 2p)/s⌋ + 1`` per spatial axis (the notes omit the floor, which their
own kernel (3, 5), padding (0, 1), stride (3, 4) case on an 8×8 input needs: 2×2).

im2col turns the convolution into one matrix product. Each output position (n, i, j) reads a
window of C·kh·kw input values; written as a row, the windows form the matrix
``cols`` of shape ``(N·out_h·out_w, C·kh·kw)`` (the public layout of :func:`im2col`), and

    out = cols @ W.reshape(F, C·kh·kw)ᵀ + b,     dW = doutᵀ cols,     dcols = dout W,

where ``dout`` is the upstream gradient as a ``(N·out_h·out_w, F)`` matrix. Windows overlap when
the stride is smaller than the kernel, so one input value appears in several rows: the input
gradient :func:`col2im` must **add** every row's contribution back into its place (writing
instead of adding loses all but one of them).

Speed (see ARCHITECTURE.md): internally the layer uses the transposed layout
``(C·kh·kw, N·out_h·out_w)``, built from a strided view (``sliding_window_view``) of a
zero-padded copy with one transpose-reshape copy, and one GEMM; ``col2im`` loops over the
kh·kw kernel offsets only, adding strided slices. There is no Python loop over pixels or batch
elements. ``Conv2d(...).backward(dout, need_dx=False)`` skips ``col2im`` (the first layer).
The layer reuses its large work arrays between calls (``dlcourse.nn._conv_utils.Workspace``);
the plain kernels allocate unless given one.
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
    check_ndim,
)
from dlcourse.nn._conv_utils import (
    Pair,
    Workspace,
    _col2im_t,
    _cols_t,
    _geometry,
    _pad,
    _windows,
    conv_output_size,
    pair,
)
from dlcourse.nn.grad_mode import is_grad_enabled
from dlcourse.nn.module import Module, Parameter

__all__ = [
    "Conv2d",
    "Conv2dCache",
    "conv2d_forward",
    "conv2d_backward",
    "conv_output_size",
    "corr2d",
    "im2col",
    "col2im",
    "pair",
]

def corr2d(X: object, K: object) -> np.ndarray:
    """The didactic 2-D cross-correlation (one channel, stride 1, no padding), as in the notes.

    Loops over the output positions: ``Y[i, j] = Σ_{u,v} X[i+u, j+v] · K[u, v]``.

    Args:
        X: (H, W). K: (kh, kw) with kh <= H, kw <= W.

    Returns:
        Y: (H − kh + 1, W − kw + 1), in the result dtype of X and K.

    >>> corr2d(np.arange(9.0).reshape(3, 3), np.array([[0.0, 1.0], [2.0, 3.0]]))
    array([[19., 25.],
           [37., 43.]])
    """
    X = as_float_array("X", X)
    K = as_float_array("K", K)
    check_ndim("X", X, 2, "(H, W)")
    check_ndim("K", K, 2, "(kh, kw)")
    kh, kw = K.shape
    if kh > X.shape[0] or kw > X.shape[1]:
        raise ValueError(f"K: expected a kernel no larger than X {X.shape}, got {K.shape}")
    Y = np.zeros((X.shape[0] - kh + 1, X.shape[1] - kw + 1), dtype=np.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + kh, j : j + kw] * K).sum()
    return Y


def im2col(
    x: object,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """Unroll every (zero-padded) kh×kw window of ``x`` into a row.

    Args:
        x: (N, C, H, W). kernel_size, stride, padding: an int or a pair ``(h, w)``.

    Returns:
        cols: (N·out_h·out_w, C·kh·kw) with out = ⌊(H − k + 2p)/s⌋ + 1; row ``(n·out_h + i)·out_w
        + j`` is the window of output position (i, j) of sample n, flattened in (c, u, v) order,
        so ``cols @ W.reshape(F, -1).T`` is the convolution with weights W (F, C, kh, kw).
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    k, s, p, out = _geometry(x.shape, kernel_size, stride, padding)
    N, C = x.shape[:2]
    win = _windows(_pad(x, *p), k, s, out)  # (N, C, OH, OW, kh, kw)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * out[0] * out[1], C * k[0] * k[1])


def col2im(
    cols: object,
    x_shape: tuple[int, int, int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> np.ndarray:
    """The adjoint of :func:`im2col`: put each row's values back into their window, **adding**
    where windows overlap (the padding is dropped).

    Args:
        cols: (N·out_h·out_w, C·kh·kw), in :func:`im2col`'s layout.
        x_shape: (N, C, H, W), the shape of the image :func:`im2col` unrolled.
        kernel_size, stride, padding: as given to :func:`im2col`.

    Returns:
        (N, C, H, W): ``col2im(dcols, ...)`` is the gradient with respect to ``x`` of any loss
        whose gradient with respect to ``im2col(x, ...)`` is ``dcols``.
    """
    cols = as_float_array("cols", cols, allow_nan=True)
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4:
        raise ValueError(f"x_shape: expected a tuple (N, C, H, W), got {x_shape!r}")
    shape = tuple(check_int(f"x_shape[{i}]", d, minimum=1) for i, d in enumerate(x_shape))
    k, s, p, out = _geometry(shape, kernel_size, stride, padding)
    N, C = shape[:2]
    want = (N * out[0] * out[1], C * k[0] * k[1])
    if cols.shape != want:
        raise ValueError(
            f"cols: expected shape (N·out_h·out_w, C·kh·kw) = {want} for x_shape {shape}, "
            f"got {cols.shape}"
        )
    dcols_t = cols.reshape(N, out[0], out[1], C, k[0], k[1]).transpose(3, 4, 5, 0, 1, 2)
    return _col2im_t(dcols_t, shape, k, s, p, out)


@dataclass
class Conv2dCache:
    """What :func:`conv2d_backward` needs from one forward call.

    Attributes:
        cols: the input's columns in the internal layout (C·kh·kw, N·out_h·out_w).
        W: the weights used, (F, C, kh, kw) (the array itself, not a copy).
        x_shape: (N, C, H, W). stride, padding: pairs. has_bias: whether b was added.
    """

    cols: np.ndarray
    W: np.ndarray
    x_shape: tuple[int, int, int, int]
    stride: Pair
    padding: Pair
    has_bias: bool


def conv2d_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    ws: Workspace | None = None,
) -> tuple[np.ndarray, Conv2dCache]:
    """Cross-correlation of ``x`` with ``W`` plus ``b`` (PyTorch's ``conv2d``), by im2col + GEMM.

    Args:
        x: (N, C, H, W); W: (F, C, kh, kw); b: (F,) or None; stride, padding: pairs. Same float
            dtype; not validated (the :class:`Conv2d` module validates). ws: the layer's
            reusable buffers (``dlcourse.nn._workspace``), or None to allocate.

    Returns:
        out: (N, F, out_h, out_w), C-contiguous, and the :class:`Conv2dCache`.
    """
    N, F, k = x.shape[0], W.shape[0], W.shape[2:]
    out_hw = (
        conv_output_size(x.shape[2], k[0], stride[0], padding[0]),
        conv_output_size(x.shape[3], k[1], stride[1], padding[1]),
    )
    cols = _cols_t(x, k, stride, padding, out_hw, ws)  # (CKK, N·OH·OW)
    if ws is None:
        gemm = W.reshape(F, -1) @ cols  # (F, N·OH·OW)
    else:
        gemm = np.matmul(W.reshape(F, -1), cols, out=ws.scratch("gemm", (F, cols.shape[1]),
                                                                   x.dtype)[0])
    if b is not None:
        gemm += b[:, None]
    out = np.array(gemm.reshape(F, N, *out_hw).transpose(1, 0, 2, 3), order="C")  # a copy
    cache = Conv2dCache(cols, W, x.shape, tuple(stride), tuple(padding), b is not None)
    return out, cache


def conv2d_backward(
    dout: np.ndarray, cache: Conv2dCache, need_dx: bool = True, need_dW: bool = True,
    ws: Workspace | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of :func:`conv2d_forward`: ``dW = dout · colsᵀ``, ``db = Σ dout``,
    ``dx = col2im(Wᵀ · dout)``.

    Args:
        dout: (N, F, out_h, out_w). cache: from the forward call.
        need_dx: False skips the input gradient (no col2im). need_dW: False skips dW and db.
        ws: the layer's buffers; the cache's columns go back to its free list.

    Returns:
        ``(dx (N, C, H, W) or None, dW (F, C, kh, kw) or None, db (F,) or None)``.
    """
    W = cache.W
    F = W.shape[0]
    out_hw = dout.shape[2:]
    F_shape = (F, dout.shape[0], *out_hw)
    if ws is None:
        d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, N·OH·OW)
    else:
        d2 = ws.scratch("d2", (F, cache.cols.shape[1]), dout.dtype)[0]
        np.copyto(d2.reshape(F_shape), dout.transpose(1, 0, 2, 3))
    dx = dW = db = None
    if need_dW:
        dW = (cache.cols @ d2.T).T.reshape(W.shape)  # (CKK, F) product: faster in OpenBLAS
        db = d2.sum(axis=1) if cache.has_bias else None
    if need_dx:
        W2t = W.reshape(F, -1).T
        if ws is None:
            dcols = W2t @ d2  # (CKK, N·OH·OW)
        else:
            dcols = np.matmul(W2t, d2, out=ws.scratch("dcols", cache.cols.shape, d2.dtype)[0])
        k, s, p = W.shape[2:], cache.stride, cache.padding
        dx = _col2im_t(dcols, cache.x_shape, k, s, p, out_hw, ws)
    if ws is not None:
        ws.give(cache.cols)
    return dx, dW, db


class Conv2d(Module):
    """2-D convolution layer (cross-correlation, as PyTorch's ``nn.Conv2d``).

    Args:
        in_channels: C. out_channels: F.
        kernel_size, stride, padding: an int or a pair ``(h, w)``; padding adds zeros.
        bias: whether to learn ``b`` (if False, ``self.b`` is None).
        rng: Generator, seed or None for the weights. dtype: float64 (default) or float32.
        init: name of a ``dlcourse.init`` function (see ``dlcourse.init.INITS``) or a
            callable ``init(shape, rng=..., dtype=...)``; fans are fan_in = C·kh·kw,
            fan_out = F·kh·kw. ``b`` starts at 0.

    Parameters:
        W: (out_channels, in_channels, kh, kw); b: (out_channels,).

    Shapes: x (N, in_channels, H, W) -> (N, out_channels, out_h, out_w) with
    out = ⌊(H − k + 2p)/s⌋ + 1. One :class:`Conv2dCache` (the columns) is kept per call.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
        init: str | Callable[..., np.ndarray] = "kaiming_uniform",
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.kernel_size = pair("kernel_size", kernel_size, minimum=1)
        self.stride = pair("stride", stride, minimum=1)
        self.padding = pair("padding", padding, minimum=0)
        check_bool("bias", bias)
        dtype = check_float_dtype("dtype", dtype)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.W = Parameter(_init.initialize(init, shape, rng=as_rng(rng), dtype=dtype))
        self.b = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self._ws = Workspace()  # reused buffers (speed; see dlcourse.nn._workspace)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in_channels, H, W) -> (N, out_channels, out_h, out_w), in the layer's dtype."""
        x = as_float_array("x", x)
        check_ndim("x", x, 4, "(N, C, H, W)")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"x: expected shape (N, in_channels, H, W) = (N, {self.in_channels}, H, W), "
                f"got {x.shape}"
            )
        _geometry(x.shape, self.kernel_size, self.stride, self.padding)
        x = x.astype(self.W.data.dtype, copy=False)
        b = self.b.data if self.b is not None else None
        out, cache = conv2d_forward(x, self.W.data, b, self.stride, self.padding, self._ws)
        if is_grad_enabled():
            self._save_cache(cache)
        else:  # inference: the columns are not kept, so they can serve the next call
            self._ws.give(cache.cols)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, out_channels, out_h, out_w) -> dx: (N, in_channels, H, W) (None if not
        ``need_dx``); adds dW and db into the parameters' grads unless frozen."""
        cache: Conv2dCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        N, _, H, W = cache.x_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        OH, OW = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
        want = (N, self.out_channels, OH, OW)
        if dout.shape != want:
            raise ValueError(f"dout: expected shape {want} (the forward output), got {dout.shape}")
        self._caches.pop()
        dout = dout.astype(cache.W.dtype, copy=False)
        need_dW = self._wants_grad(self.W, self.b)
        dx, dW, db = conv2d_backward(dout, cache, need_dx, need_dW, self._ws)
        self._accumulate((self.W, dW), (self.b, db))
        return dx

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.b is not None}"
        )
