"""Helpers of the convolution and pooling layers: argument pairs, output sizes, the strided
im2col/col2im in the internal (C·kh·kw, N·out_h·out_w) layout, and reusable work buffers.

Why buffers: numpy takes every large array (> 128 KiB) fresh from the operating system, whose
pages are faulted in and zeroed on first touch; for the convolutions of chapter 4 that costs a
large part of the arithmetic (fwd + bwd of (64, 32, 16, 16) -> 64 3×3: ~34 ms with reused
buffers against ~55 ms without, on the course machines). A layer therefore keeps a
:class:`Workspace`:

- named scratch arrays (:meth:`Workspace.scratch`), valid until the next request of the same
  name — for values used within one forward or backward call only;
- a small free list of arrays that outlive a call (:meth:`Workspace.take` /
  :meth:`Workspace.give`): the columns a forward stores in its cache come from it and go back
  to it when their backward has used them, so a layer called several times before its
  backwards (see "Caches and reuse" in ``dlcourse.nn.module``) gets distinct arrays.

Arrays handed to the caller (a layer's output, dx) are never workspace arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace", "Pair", "pair", "conv_output_size"]


class Workspace:
    """Scratch arrays by name and a free list of arrays of any shape (at most ``keep``)."""

    def __init__(self, keep: int = 2) -> None:
        self._scratch: dict[str, np.ndarray] = {}
        self._free: list[np.ndarray] = []
        self.keep = keep

    def scratch(self, name: str, shape: tuple[int, ...], dtype: np.dtype,
                fill: float | None = None) -> tuple[np.ndarray, bool]:
        """An array of ``shape``/``dtype`` reused across calls; returns ``(array, fresh)``.

        A fresh array is filled with ``fill`` (if given); a reused one keeps its old content
        (callers that write only part of it, e.g. the interior of a padded copy, rely on that).
        """
        a = self._scratch.get(name)
        if a is not None and a.shape == shape and a.dtype == dtype:
            return a, False
        a = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype=dtype)
        self._scratch[name] = a
        return a, True

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array of ``shape``/``dtype`` from the free list (or a new one); content undefined."""
        for i, a in enumerate(self._free):
            if a.shape == shape and a.dtype == dtype:
                return self._free.pop(i)
        return np.empty(shape, dtype=dtype)

    def give(self, a: np.ndarray) -> None:
        """Return an array obtained from :meth:`take` once nothing refers to it any more."""
        if len(self._free) >= self.keep:
            self._free.pop(0)
        self._free.append(a)

    def clear(self) -> None:
        """Release every array."""
        self._scratch.clear()
        self._free.clear()


Pair = tuple[int, int]


def pair(name: str, value: int | tuple[int, int], minimum: int = 0) -> Pair:
    """An int ``k`` -> ``(k, k)``; a pair of ints is kept (as PyTorch's ``kernel_size`` etc.)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
        a, b = value
    else:
        a = b = value
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return int(a), int(b)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """``⌊(size − kernel + 2·padding) / stride⌋ + 1`` (one spatial axis)."""
    return (size - kernel + 2 * padding) // stride + 1


def _geometry(
    shape: tuple[int, ...], kernel_size: object, stride: object, padding: object
) -> tuple[Pair, Pair, Pair, Pair]:
    """Validated ``(kernel, stride, padding, (out_h, out_w))`` for an input of ``shape``."""
    kh, kw = pair("kernel_size", kernel_size, minimum=1)  # type: ignore[arg-type]
    sh, sw = pair("stride", stride, minimum=1)  # type: ignore[arg-type]
    ph, pw = pair("padding", padding, minimum=0)  # type: ignore[arg-type]
    H, W = shape[-2:]
    if H + 2 * ph < kh or W + 2 * pw < kw:
        raise ValueError(  # the input is too small for the kernel: name both
            f"x: expected a padded input (H + 2·padding, W + 2·padding) at least kernel_size "
            f"{(kh, kw)}, got {(H + 2 * ph, W + 2 * pw)} from x of shape {tuple(shape)}"
        )
    out = (conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw))
    return (kh, kw), (sh, sw), (ph, pw), out


def _pad(x: np.ndarray, ph: int, pw: int, ws: Workspace | None = None) -> np.ndarray:
    """x (..., H, W) zero-padded by ``ph``/``pw`` on each side (x itself if no padding)."""
    if ph == 0 and pw == 0:
        return x
    H, W = x.shape[-2:]
    shape = x.shape[:-2] + (H + 2 * ph, W + 2 * pw)
    xp = np.zeros(shape, x.dtype) if ws is None else ws.scratch("xp", shape, x.dtype, 0.0)[0]
    xp[..., ph : ph + H, pw : pw + W] = x  # a reused buffer's border is still zero
    return xp


def _windows(xp: np.ndarray, k: Pair, s: Pair, out: Pair) -> np.ndarray:
    """Strided view (N, C, out_h, out_w, kh, kw) of the windows of the padded input (no copy)."""
    v = np.lib.stride_tricks.sliding_window_view(xp, k, axis=(2, 3))
    return v[:, :, : (out[0] - 1) * s[0] + 1 : s[0], : (out[1] - 1) * s[1] + 1 : s[1]]


def _cols_t(
    x: np.ndarray, k: Pair, s: Pair, p: Pair, out: Pair, ws: Workspace | None = None
) -> np.ndarray:
    """The internal layout: columns (C·kh·kw, N·out_h·out_w), one copy of the windows (into
    an array of ``ws``'s free list if given)."""
    N, C = x.shape[:2]
    win = _windows(_pad(x, *p, ws), k, s, out).transpose(1, 4, 5, 0, 2, 3)  # (C,kh,kw,N,OH,OW)
    shape = (C * k[0] * k[1], N * out[0] * out[1])
    if ws is None:
        return win.reshape(shape)
    cols = ws.take(shape, x.dtype)
    np.copyto(cols.reshape(win.shape), win)
    return cols


def _col2im_t(
    dcols: np.ndarray, x_shape: tuple[int, ...], k: Pair, s: Pair, p: Pair, out: Pair,
    ws: Workspace | None = None,
) -> np.ndarray:
    """Inverse-add of :func:`_cols_t`: dcols (C·kh·kw, N·OH·OW) -> (N, C, H, W), overlaps added.

    Loops over the kh·kw kernel offsets; each adds one strided slice of the padded image.
    """
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw), (OH, OW) = k, s, p, out
    d = dcols.reshape(C, kh, kw, N, OH, OW)
    shape = (C, N, H + 2 * ph, W + 2 * pw)
    if ws is None:
        dxp = np.zeros(shape, dtype=dcols.dtype)
    else:
        dxp = ws.scratch("dxp", shape, dcols.dtype)[0]
        dxp.fill(0)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u : u + sh * (OH - 1) + 1 : sh, v : v + sw * (OW - 1) + 1 : sw] += d[:, u, v]
    return np.array(dxp[:, :, ph : ph + H, pw : pw + W].transpose(1, 0, 2, 3), order="C")
