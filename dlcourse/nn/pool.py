"""Max and average pooling over kh×kw windows of each channel (``MaxPool2d``, ``AvgPool2d``).

Both are PyTorch's (``ceil_mode=False``): the window slides with the stride (default: the
kernel size, non-overlapping windows) over the input padded by ``p`` on each side, and the
output size is ``out = ⌊(H − k + 2p)/s⌋ + 1``; the padding is at most half the kernel, so no
window lies entirely in the padding.

- Max pooling pads with −∞ (a padded value never wins) and sends each output's gradient to
  the arg-max of its window, where the maximum is not differentiable at ties: **ties go to
  the first maximum in row-major order within the window** (smallest row, then smallest
  column), as PyTorch's CPU kernel does. Overlapping windows add their gradients.
- Average pooling pads with zeros and divides by kh·kw also for windows that overlap the
  padding (PyTorch's default ``count_include_pad=True``); its backward spreads
  ``dout / (kh·kw)`` evenly over each window.

Speed: no Python loop over pixels or batch elements; both kernels loop over the kh·kw kernel
offsets, each an element-wise operation on a strided slice (for 2×2 max pooling this is about
15× faster than a reshape + ``max``, see ARCHITECTURE.md). Max pooling's arg-max follows the
running maximum with arithmetic, not ``np.where`` (branch-bound on a data-dependent mask).
Copying the input into contiguous per-offset planes first (for windows that tile it) was
measured and dropped: the copy costs what the contiguous passes save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_float_array, check_ndim
from dlcourse.nn._conv_utils import Pair, conv_output_size, pair
from dlcourse.nn.module import Module

__all__ = [
    "MaxPool2d",
    "AvgPool2d",
    "Pool2dCache",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "avgpool2d_forward",
    "avgpool2d_backward",
]


@dataclass
class Pool2dCache:
    """What the pooling backward kernels need from one forward call.

    Attributes:
        x_shape: (N, C, H, W). kernel, stride, padding: pairs. out_shape: (N, C, out_h, out_w).
        dtype: the input's (and output's) dtype.
        arg: max pooling only: the position of each window's maximum as the row-major offset
            ``u·kw + v`` within its window, shape (N, C, out_h, out_w); None for average pooling.
    """

    x_shape: tuple[int, int, int, int]
    kernel: Pair
    stride: Pair
    padding: Pair
    out_shape: tuple[int, int, int, int]
    dtype: np.dtype
    arg: np.ndarray | None = None


def _slices(k: Pair, s: Pair, out: Pair) -> list[tuple[slice, slice]]:
    """For each kernel offset (u, v) in row-major order, the strided slice of the padded input
    that holds that element of every window."""
    return [
        (slice(u, u + s[0] * (out[0] - 1) + 1, s[0]), slice(v, v + s[1] * (out[1] - 1) + 1, s[1]))
        for u in range(k[0])
        for v in range(k[1])
    ]


def _padded(x: np.ndarray, p: Pair, fill: float) -> np.ndarray:
    if p == (0, 0):
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * p[0], W + 2 * p[1]), fill, dtype=x.dtype)
    xp[:, :, p[0] : p[0] + H, p[1] : p[1] + W] = x
    return xp


def _out_hw(shape: tuple[int, ...], k: Pair, s: Pair, p: Pair) -> Pair:
    H, W = shape[2:]
    return conv_output_size(H, k[0], s[0], p[0]), conv_output_size(W, k[1], s[1], p[1])


def _scatter(
    part: Callable[[int, np.ndarray | None], np.ndarray], cache: Pool2dCache, dtype: np.dtype
) -> np.ndarray:
    """Add the gradient of every kernel offset's slice back into a (N, C, H, W) image.

    ``part(k, out)`` computes the gradient of offset k's slice, (N, C, out_h, out_w), into
    ``out`` (a strided view of dx, when windows are disjoint) or a new array (``out=None``).
    """
    N, C, H, W = cache.x_shape
    (ph, pw), (kh, kw), (sh, sw) = cache.padding, cache.kernel, cache.stride
    out = cache.out_shape[2:]
    disjoint = sh >= kh and sw >= kw
    exact = (sh, sw) == (kh, kw) and (ph, pw) == (0, 0) and (out[0] * kh, out[1] * kw) == (H, W)
    shape = (N, C, H + 2 * ph, W + 2 * pw)
    dxp = np.empty(shape, dtype) if exact else np.zeros(shape, dtype)  # exact: all written
    for k, (rows, cols) in enumerate(_slices(cache.kernel, cache.stride, out)):
        if disjoint:  # each element written at most once, straight into dx
            part(k, dxp[:, :, rows, cols])
        else:
            dxp[:, :, rows, cols] += part(k, None)
    if (ph, pw) == (0, 0):
        return dxp
    return np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])


def maxpool2d_forward(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair = (0, 0)
) -> tuple[np.ndarray, Pool2dCache]:
    """Max over each window (−∞ padding); not validated (the module validates).

    Args:
        x: (N, C, H, W) float. kernel, stride, padding: pairs.

    Returns:
        out (N, C, out_h, out_w) and the :class:`Pool2dCache` holding each window's arg-max
        (first maximum in row-major order on ties).
    """
    out_hw = _out_hw(x.shape, kernel, stride, padding)
    xp = _padded(x, padding, -np.inf)
    views = [xp[:, :, rows, cols] for rows, cols in _slices(kernel, stride, out_hw)]
    # a running maximum over the offsets k in row-major order; offset k takes the arg-max only
    # where it is strictly greater, so ties keep the first maximum. The arg update is
    # arithmetic, arg = max(arg, k·[greater]) as arg < k: np.where passes or masked copies
    # with a data-dependent mask are branch-bound (2×2 max pooling's forward was 2–3× slower).
    out = views[0].copy()
    arg = np.zeros(out.shape, dtype=np.uint8 if len(views) <= 256 else np.int32)
    step = np.empty(out.shape, dtype=np.uint8)  # [v > out], then k·[v > out] (one buffer)
    for k, v in enumerate(views[1:], start=1):
        np.greater(v, out, out=step.view(bool))
        np.maximum(out, v, out=out)
        if arg.dtype != np.uint8:  # more than 256 offsets: k does not fit a uint8
            np.maximum(arg, step * arg.dtype.type(k), out=arg)
            continue
        if k > 1:
            step *= np.uint8(k)
        np.maximum(arg, step, out=arg)
    cache = Pool2dCache(tuple(x.shape), kernel, stride, padding, tuple(out.shape), x.dtype, arg)
    return out, cache


def maxpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W): each dout goes to its window's arg-max;
    overlapping windows add."""
    assert cache.arg is not None
    arg, mask = cache.arg, np.empty(cache.arg.shape, dtype=bool)  # one mask buffer for all k
    return _scatter(
        lambda k, out: np.multiply(dout, np.equal(arg, k, out=mask), out=out), cache, dout.dtype
    )


def avgpool2d_forward(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair = (0, 0)
) -> tuple[np.ndarray, Pool2dCache]:
    """Mean over each window, zero padding counted in the divisor kh·kw; not validated.

    Args:
        x: (N, C, H, W) float. kernel, stride, padding: pairs.

    Returns:
        out (N, C, out_h, out_w) and the :class:`Pool2dCache`.
    """
    out_hw = _out_hw(x.shape, kernel, stride, padding)
    xp = _padded(x, padding, 0.0)
    slices = _slices(kernel, stride, out_hw)
    rows, cols = slices[0]
    out = xp[:, :, rows, cols].copy()
    for rows, cols in slices[1:]:
        out += xp[:, :, rows, cols]
    out *= 1.0 / len(slices)  # a Python float keeps float32 float32
    return out, Pool2dCache(tuple(x.shape), kernel, stride, padding, tuple(out.shape), x.dtype)


def avgpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dout (N, C, out_h, out_w) -> dx (N, C, H, W): dout/(kh·kw) to every element of each
    window; overlapping windows add."""
    scale = 1.0 / (cache.kernel[0] * cache.kernel[1])  # a Python float keeps float32
    return _scatter(lambda k, out: np.multiply(dout, scale, out=out), cache, dout.dtype)


class _Pool2d(Module):
    """Shared arguments, validation and cache handling of the pooling modules."""

    _forward = staticmethod(maxpool2d_forward)

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = pair("kernel_size", kernel_size, minimum=1)
        self.stride = self.kernel_size if stride is None else pair("stride", stride, minimum=1)
        self.padding = pair("padding", padding, minimum=0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"padding: expected at most half the kernel size {self.kernel_size} "
                f"(as PyTorch), got {self.padding}"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, out_h, out_w), out = ⌊(H − k + 2p)/s⌋ + 1; dtype kept."""
        x = as_float_array("x", x)
        check_ndim("x", x, 4, "(N, C, H, W)")
        k, p = self.kernel_size, self.padding
        if x.shape[2] + 2 * p[0] < k[0] or x.shape[3] + 2 * p[1] < k[1]:
            raise ValueError(
                f"x: expected a padded size (H + 2p, W + 2p) of at least the kernel size {k}, "
                f"got {(x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1])} from shape {x.shape}"
            )
        out, cache = self._forward(x, k, self.stride, p)
        self._save_cache(cache)
        return out

    def _backward(self, dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W) (None if not ``need_dx``)."""
        cache: Pool2dCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != cache.out_shape:
            raise ValueError(
                f"dout: expected shape {cache.out_shape} (the forward output), got {dout.shape}"
            )
        self._caches.pop()
        if not need_dx:
            return None
        return self._backward(dout.astype(cache.dtype, copy=False), cache)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling (PyTorch's ``nn.MaxPool2d`` with ``ceil_mode=False``, ``dilation=1``).

    Args:
        kernel_size: an int or a pair (kh, kw). stride: an int, a pair or None (= kernel_size).
        padding: an int or a pair, at most half the kernel; padded with −∞.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w). The gradient goes to each window's
    maximum; ties go to the first maximum in row-major order within the window (as PyTorch).

    >>> MaxPool2d(2, stride=1)(np.arange(9.0).reshape(1, 1, 3, 3))[0, 0]
    array([[4., 5.],
           [7., 8.]])
    """

    _forward = staticmethod(maxpool2d_forward)

    def _backward(self, dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
        return maxpool2d_backward(dout, cache)


class AvgPool2d(_Pool2d):
    """Average pooling (PyTorch's ``nn.AvgPool2d`` with its defaults: ``ceil_mode=False``,
    ``count_include_pad=True``).

    Args:
        kernel_size: an int or a pair (kh, kw). stride: an int, a pair or None (= kernel_size).
        padding: an int or a pair, at most half the kernel; padded with zeros, which count in
            the divisor kh·kw.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w).

    >>> AvgPool2d(2, stride=1)(np.arange(9.0).reshape(1, 1, 3, 3))[0, 0]
    array([[2., 3.],
           [5., 6.]])
    """

    _forward = staticmethod(avgpool2d_forward)

    def _backward(self, dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
        return avgpool2d_backward(dout, cache)
