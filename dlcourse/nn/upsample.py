"""Resizing layers: adaptive average pooling, max unpooling and nearest upsampling.

- ``AdaptiveAvgPool2d(output_size)`` averages over bins chosen from the output size, as
  PyTorch: bin i of an axis of length H covers ``start = ⌊i·H/out⌋ … end = ⌈(i+1)·H/out⌉ − 1``
  (neighbouring bins may overlap by one element when out does not divide H). The average over
  a rectangle is the product of two 1-D averages, so the layer is two matrix products,
  ``out = A_h · x · A_wᵀ`` with ``A[i, start:end] = 1/(end − start)``, and its backward is
  ``dx = A_hᵀ · dout · A_w`` (no Python loop over pixels or samples).
- ``MaxUnpool2d(kernel_size, stride=None, padding=0)`` is a right inverse of max pooling for
  the kept values: it puts each input value at the position max pooling took it from and zeros
  elsewhere. The positions are PyTorch's **flat per-plane indices** ``h·W + w`` into the
  unpadded (H, W) plane of each (n, c); :func:`maxpool2d_indices` reads them from a
  :class:`dlcourse.nn.MaxPool2d` call (its :class:`Pool2dCache`), and
  :func:`max_pool2d_with_indices` pools and returns them. Backward gathers ``dout`` at the
  indices (as PyTorch).
- ``Upsample(scale_factor)`` (nearest neighbour): output size ``⌊H·s⌋``, output row i copies
  input row ``min(⌊i / s⌋, H − 1)`` (PyTorch's ``mode="nearest"``, computed in float32 as its
  kernel does); backward adds each output gradient into the input element it was copied from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_array, as_float_array, check_choice, check_ndim
from dlcourse.nn._conv_utils import Pair, pair
from dlcourse.nn.module import Module
from dlcourse.nn.pool import MaxPool2d, Pool2dCache, maxpool2d_forward

__all__ = [
    "AdaptiveAvgPool2d",
    "MaxUnpool2d",
    "Upsample",
    "adaptive_bins",
    "maxpool2d_indices",
    "max_pool2d_with_indices",
]


def _image(x: object) -> np.ndarray:
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    return x


def _check_dout(dout: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    d = as_float_array("dout", dout, allow_nan=True)
    if d.shape != shape:
        raise ValueError(f"dout: expected shape {shape} (the forward output), got {d.shape}")
    return d.astype(dtype, copy=False)


# --------------------------------------------------------------------------- adaptive pooling


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling bins ``[(start, end), ...]`` of an axis of length ``size``
    split into ``out`` bins: start = ⌊i·size/out⌋, end = ⌈(i+1)·size/out⌉ (end exclusive)."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _bin_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix of the bins of :func:`adaptive_bins`."""
    A = np.zeros((out, size), dtype)
    for i, (s, e) in enumerate(adaptive_bins(size, out)):  # a loop over output bins of one axis
        A[i, s:e] = 1.0 / (e - s)
    return A


@dataclass
class AdaptivePoolCache:
    """Ah (out_h, H) and Aw (out_w, W): the averaging matrices of one call."""

    Ah: np.ndarray
    Aw: np.ndarray
    out_shape: tuple[int, int, int, int]


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (PyTorch's ``nn.AdaptiveAvgPool2d``).

    Args:
        output_size: an int, a pair ``(out_h, out_w)``; a None entry keeps that input size.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w), dtype kept; ``AdaptiveAvgPool2d(1)`` is
    global average pooling.

    >>> AdaptiveAvgPool2d((1, 2))(np.arange(6.0).reshape(1, 1, 2, 3))[0, 0]
    array([[2., 3.]])
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
            sizes = tuple(
                None if v is None else pair("output_size", v, minimum=1)[0] for v in output_size
            )
        else:
            sizes = pair("output_size", output_size, minimum=1)  # type: ignore[arg-type]
        self.output_size: tuple[int | None, int | None] = sizes  # type: ignore[assignment]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, out_h, out_w)."""
        x = _image(x)
        N, C, H, W = x.shape
        oh = H if self.output_size[0] is None else self.output_size[0]
        ow = W if self.output_size[1] is None else self.output_size[1]
        if H < 1 or W < 1:
            raise ValueError(f"x: expected H, W >= 1, got shape {x.shape}")
        Ah, Aw = _bin_matrix(H, oh, x.dtype), _bin_matrix(W, ow, x.dtype)
        out = np.matmul(Ah, x @ Aw.T)  # (N, C, H, ow) -> (N, C, oh, ow)
        self._save_cache(AdaptivePoolCache(Ah, Aw, (N, C, oh, ow)))
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W) (None if not ``need_dx``)."""
        cache: AdaptivePoolCache = self._peek_cache()
        dout = _check_dout(dout, cache.out_shape, cache.Ah.dtype)
        self._caches.pop()
        if not need_dx:
            return None
        return np.matmul(cache.Ah.T, dout @ cache.Aw)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --------------------------------------------------------------------------- max unpooling


def maxpool2d_indices(source: MaxPool2d | Pool2dCache) -> np.ndarray:
    """PyTorch's ``return_indices`` of a max pooling call: for each output (n, c, i, j) the
    flat index ``h·W + w`` of its maximum in the unpadded (H, W) plane.

    Args:
        source: a :class:`Pool2dCache` of ``maxpool2d_forward``, or a :class:`MaxPool2d`
            module (its latest forward call not yet differentiated, so call this before its
            backward and outside ``no_grad``).

    Returns:
        int64 array (N, C, out_h, out_w).
    """
    if isinstance(source, MaxPool2d):
        cache = source._peek_cache()
    elif isinstance(source, Pool2dCache):
        cache = source
    else:
        raise TypeError(
            f"source: expected a MaxPool2d or a Pool2dCache, got {type(source).__name__}"
        )
    if cache.arg is None:
        raise ValueError("source: expected the cache of a max pooling call (it holds no arg-max)")
    W = cache.x_shape[3]
    kw, (sh, sw), (ph, pw) = cache.kernel[1], cache.stride, cache.padding
    oh, ow = cache.out_shape[2:]
    arg = cache.arg.astype(np.int64)
    rows = np.arange(oh)[:, None] * sh - ph + arg // kw  # (N, C, oh, ow) by broadcasting
    cols = np.arange(ow)[None, :] * sw - pw + arg % kw
    return rows * W + cols


def max_pool2d_with_indices(
    x: object,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling that also returns the indices (PyTorch's ``return_indices=True``), no grad.

    Returns:
        out (N, C, out_h, out_w) and the int64 flat indices of :func:`maxpool2d_indices`.
    """
    pool = MaxPool2d(kernel_size, stride, padding)  # validates the arguments
    out = pool(_image(x))  # validates x
    if pool.num_cached_calls:
        cache = pool._pop_cache()
    else:  # under no_grad the module kept no cache
        cache = maxpool2d_forward(_image(x), pool.kernel_size, pool.stride, pool.padding)[1]
    return out, maxpool2d_indices(cache)


@dataclass
class UnpoolCache:
    """flat indices (N, C, H_in·W_in) into each output plane, the input shape and dtype."""

    idx: np.ndarray
    x_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int, int]
    dtype: np.dtype


class MaxUnpool2d(Module):
    """Max unpooling (PyTorch's ``nn.MaxUnpool2d``): values to the positions max pooling
    took them from, zeros elsewhere.

    Args:
        kernel_size, stride (default: kernel_size), padding: ints or pairs, those of the max
            pooling being undone; they fix the default output size
            ``(H_in − 1)·s − 2p + k`` per axis.

    ``forward(x, indices, output_size=None)``: x (N, C, H_in, W_in); indices of the same shape,
    integers, PyTorch's flat per-plane indices (:func:`maxpool2d_indices`), or the
    :class:`MaxPool2d` whose latest call produced x (its saved arg-max is used); output_size (H, W)
    or (N, C, H, W) for a pooled input whose size the default does not recover (within one
    stride of it, as PyTorch). Returns (N, C, H, W). An index used twice (overlapping windows)
    keeps the value of the last one in row-major order; backward gathers ``dout`` at every
    index (as PyTorch).

    >>> x = np.array([[[[1.0, 2.0], [4.0, 3.0]]]])
    >>> out, idx = max_pool2d_with_indices(x, 2)
    >>> MaxUnpool2d(2)(out, idx)[0, 0]
    array([[0., 0.],
           [4., 0.]])
    """

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

    def _output_hw(self, x_shape: tuple[int, ...], output_size: object) -> Pair:
        default = tuple(
            (x_shape[2 + d] - 1) * self.stride[d] - 2 * self.padding[d] + self.kernel_size[d]
            for d in range(2)
        )
        if output_size is None:
            if min(default) < 1:
                raise ValueError(f"x: shape {x_shape} gives an empty default output {default}")
            return default  # type: ignore[return-value]
        if not isinstance(output_size, (tuple, list)) or len(output_size) not in (2, 4):
            raise ValueError(
                f"output_size: expected (H, W) or (N, C, H, W), got {output_size!r}"
            )
        hw = pair("output_size", tuple(output_size[-2:]), minimum=1)
        for d in range(2):
            lo, hi = default[d] - self.stride[d], default[d] + self.stride[d]
            if not lo < hw[d] < hi:
                raise ValueError(
                    f"output_size: expected each size strictly between {lo} and {hi} on axis "
                    f"{d} (default {default} ± stride), got {hw}"
                )
        return hw

    def forward(self, x: np.ndarray, indices: object, output_size: object = None) -> np.ndarray:
        """x, indices: (N, C, H_in, W_in) (or indices: a MaxPool2d) -> (N, C, H, W)."""
        x = _image(x)
        if isinstance(indices, (MaxPool2d, Pool2dCache)):  # the indices that pooling saved
            indices = maxpool2d_indices(indices)
        idx = as_array("indices", indices)
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices: expected an integer array, got dtype {idx.dtype}")
        if idx.shape != x.shape:
            raise ValueError(f"indices: expected the shape of x {x.shape}, got {idx.shape}")
        N, C = x.shape[:2]
        H, W = self._output_hw(x.shape, output_size)
        flat = idx.reshape(N, C, x.shape[2] * x.shape[3]).astype(np.intp, copy=False)  # N >= 0
        if flat.size and (flat.min() < 0 or flat.max() >= H * W):
            raise ValueError(
                f"indices: expected values in [0, {H * W}) for an output plane of {(H, W)}, "
                f"got values from {flat.min()} to {flat.max()}"
            )
        out = np.zeros((N, C, H * W), x.dtype)
        np.put_along_axis(out, flat, x.reshape(flat.shape), axis=2)
        self._save_cache(UnpoolCache(flat, tuple(x.shape), (N, C, H, W), x.dtype))
        return out.reshape(N, C, H, W)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, C, H, W) -> dx: (N, C, H_in, W_in), ``dout`` gathered at the indices."""
        cache: UnpoolCache = self._peek_cache()
        dout = _check_dout(dout, cache.out_shape, cache.dtype)
        self._caches.pop()
        if not need_dx:
            return None
        N, C = cache.x_shape[:2]
        planes = dout.reshape(N, C, math.prod(cache.out_shape[2:]))  # not -1: N may be 0
        dx = np.take_along_axis(planes, cache.idx, axis=2)
        return dx.reshape(cache.x_shape)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# --------------------------------------------------------------------------- upsampling


def _nearest_source(size: int, out: int, factor: float) -> np.ndarray:
    """Source index of each output index along one axis (PyTorch's nearest, float32 scale)."""
    if out == size:
        return np.arange(out)
    if out == 2 * size:
        return np.arange(out) >> 1
    scale = np.float32(1.0 / factor)
    src = np.floor(np.arange(out, dtype=np.float32) * scale).astype(np.intp)
    return np.minimum(src, size - 1)


@dataclass
class UpsampleCache:
    """x_shape, out_shape, dtype, and the source rows / columns (None for integer factors)."""

    x_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int, int]
    dtype: np.dtype
    rows: np.ndarray | None
    cols: np.ndarray | None


class Upsample(Module):
    """Nearest-neighbour upsampling (PyTorch's ``nn.Upsample(scale_factor=s, mode="nearest")``).

    Args:
        scale_factor: a positive number or a pair ``(s_h, s_w)``; output size ⌊H·s⌋.
        mode: only ``"nearest"``.

    Shapes: x (N, C, H, W) -> (N, C, ⌊H·s_h⌋, ⌊W·s_w⌋), dtype kept. With integer factors
    every input pixel becomes an s_h×s_w block, and its gradient is the block's sum.

    >>> Upsample(2)(np.array([[[[1.0, 2.0]]]]))[0, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """

    def __init__(self, scale_factor: float | tuple[float, float], mode: str = "nearest") -> None:
        super().__init__()
        check_choice("mode", mode, ("nearest",))
        values = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        if len(values) != 2:
            raise ValueError(f"scale_factor: expected a number or a pair, got {scale_factor!r}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"scale_factor: expected a number or a pair, got {scale_factor!r}")
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"scale_factor: expected values > 0, got {scale_factor!r}")
        self.scale_factor = (float(values[0]), float(values[1]))
        self.mode = mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, ⌊H·s_h⌋, ⌊W·s_w⌋)."""
        x = _image(x)
        N, C, H, W = x.shape
        sh, sw = self.scale_factor
        OH, OW = math.floor(H * sh), math.floor(W * sw)
        if OH < 1 or OW < 1:
            raise ValueError(f"x: shape {x.shape} upsampled by {self.scale_factor} is empty")
        if sh.is_integer() and sw.is_integer():  # blocks: one strided copy per offset
            kh, kw = int(sh), int(sw)
            out = np.empty((N, C, OH, OW), x.dtype)
            for u in range(kh):
                for v in range(kw):
                    out[:, :, u::kh, v::kw] = x
            rows = cols = None
        else:
            rows, cols = _nearest_source(H, OH, sh), _nearest_source(W, OW, sw)
            out = x[:, :, rows][:, :, :, cols]
        self._save_cache(UpsampleCache(tuple(x.shape), (N, C, OH, OW), x.dtype, rows, cols))
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W), each output's gradient added into
        its source pixel."""
        cache: UpsampleCache = self._peek_cache()
        dout = _check_dout(dout, cache.out_shape, cache.dtype)
        self._caches.pop()
        if not need_dx:
            return None
        N, C, H, W = cache.x_shape
        if cache.rows is None or cache.cols is None:
            kh, kw = cache.out_shape[2] // H, cache.out_shape[3] // W
            blocks = dout.reshape(N, C, H, kh, W, kw)  # pairwise adds: ~10x faster than .sum
            rows_sum = blocks[:, :, :, 0].copy()  # (N, C, H, W, kw)
            for u in range(1, kh):
                rows_sum += blocks[:, :, :, u]
            dx = rows_sum[..., 0].copy()
            for v in range(1, kw):
                dx += rows_sum[..., v]
            return dx
        Sh = np.zeros((H, cache.out_shape[2]), cache.dtype)  # selection matrices, transposed
        Sh[cache.rows, np.arange(cache.out_shape[2])] = 1.0
        Sw = np.zeros((W, cache.out_shape[3]), cache.dtype)
        Sw[cache.cols, np.arange(cache.out_shape[3])] = 1.0
        return np.matmul(Sh, dout @ Sw.T)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"
