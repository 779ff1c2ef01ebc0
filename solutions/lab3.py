"""Lab 3 (outline lesson 3): convolution and pooling from scratch, and a CNN trained with them.

You write:

1. ``output_size`` — the number of windows along an axis (exercise ``lab3.output_size``), and
   ``im2col`` — unroll every kh×kw window of a zero-padded (N, C, H, W) batch into a row of a
   matrix (``lab3.im2col``);
2. ``col2im`` — its adjoint: put the rows back into an image, **adding** where windows overlap,
   and drop the padding (``lab3.col2im``);
3. ``Conv2d.forward`` and ``Conv2d.backward`` — cross-correlation (PyTorch's ``Conv2d``) as one
   matrix product over im2col's rows, and its gradients (``lab3.conv_forward``,
   ``lab3.conv_backward``; the backward is graded on its own: it reads only the documented
   cache ``self.x_shape`` and ``self.cols`` that the forward keeps);
4. ``MaxPool2d`` — forward (padding with −∞) and backward (each gradient goes to its window's
   arg-max; on ties the first maximum in row-major order within the window, as PyTorch)
   (``lab3.maxpool``), and ``AvgPool2d`` (zero padding that counts in the divisor kh·kw)
   (``lab3.avgpool``);
5. ``train_cnn`` — a small CNN built from *your* ``Conv2d`` and ``MaxPool2d`` (and the package's
   ``ReLU``, ``Flatten`` and ``Linear``), trained with ``dlcourse.optim.Adam`` on the package's
   softmax cross-entropy (``lab3.train_cnn``).

Sizes: out = ⌊(H − k + 2p)/s⌋ + 1 per spatial axis (the notes omit the floor). Images are
(N, C, H, W); a kernel_size, stride or padding is an int or a pair (h, w) — the given code turns
it into a pair with ``_pair``. Keep what ``backward`` needs as an attribute in ``forward``. Never
modify an array you are given.

Speed counts: no Python loop over pixels or batch elements. ``np.lib.stride_tricks.
sliding_window_view`` gives the windows of an array without copying; in ``col2im`` a loop over
the kh·kw kernel offsets (each adding a strided slice) is fine. The graded tests time your
layers against the package's on a 28×28 batch, and ``train_cnn`` against a time budget.

Write each piece yourself: while an exercise is graded, the package's own version
(``dlcourse.nn.conv.im2col``, ``col2im``, ``dlcourse.nn.Conv2d``, ``dlcourse.nn.MaxPool2d``,
``AvgPool2d``, their kernels in ``dlcourse.nn.pool``, ``dlcourse.train.fit``, ...) raises
"implement this yourself" when your code calls it.

Grade your work with ``dlcourse grade lab3``.
"""

from __future__ import annotations

import numpy as np

from dlcourse.losses import softmax_cross_entropy
from dlcourse.nn import Flatten, Linear, Module, Parameter, ReLU, Sequential
from dlcourse.optim import Adam

__all__ = [
    "output_size",
    "im2col",
    "col2im",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "train_cnn",
]

Size = int | tuple[int, int]


def _pair(value: Size) -> tuple[int, int]:
    """3 -> (3, 3); (3, 5) -> (3, 5)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    h, w = value
    return int(h), int(w)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Windows along one axis: ⌊(size − kernel + 2·padding)/stride⌋ + 1."""
    # BEGIN SOLUTION lab3.output_size
    return (size - kernel + 2 * padding) // stride + 1
    # END SOLUTION


def im2col(x: np.ndarray, kernel_size: Size, stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """Unroll every kh×kw window of ``x`` (zero-padded by ``padding`` on each side) into a row.

    Args:
        x: (N, C, H, W). kernel_size, stride, padding: an int or a pair (h, w).

    Returns:
        cols: (N·out_h·out_w, C·kh·kw). Row ``(n·out_h + i)·out_w + j`` is the window of output
        position (i, j) of sample n, flattened in (c, u, v) order (channel first, then the
        kernel row u, then the kernel column v), so that ``cols @ W.reshape(F, -1).T`` is the
        cross-correlation with weights W of shape (F, C, kh, kw).
    """
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    # BEGIN SOLUTION lab3.im2col
    OH, OW = output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # a padded copy; x is not modified
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    win = win[:, :, : sh * (OH - 1) + 1 : sh, : sw * (OW - 1) + 1 : sw]  # (N, C, OH, OW, kh, kw)
    # copy in (c, u, v, n, i, j) order, whose long contiguous runs copy ~5× faster than rows
    # of 3×3 snippets, then transpose for free: the same values as the row layout
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * kh * kw, N * OH * OW).T
    # END SOLUTION


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: Size,
    stride: Size = 1,
    padding: Size = 0,
) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each row's values back into its window.

    Args:
        cols: (N·out_h·out_w, C·kh·kw), in :func:`im2col`'s layout.
        x_shape: (N, C, H, W), the shape of the image that was unrolled.
        kernel_size, stride, padding: as given to :func:`im2col`.

    Returns:
        dx: (N, C, H, W). Where windows overlap, the contributions are **added**; what falls
        on the padding is dropped. ``col2im(dcols, ...)`` is the gradient with respect to x
        of a loss whose gradient with respect to ``im2col(x, ...)`` is ``dcols``.
    """
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size), _pair(stride), _pair(padding)
    N, C, H, W = x_shape
    # BEGIN SOLUTION lab3.col2im
    OH, OW = (H - kh + 2 * ph) // sh + 1, (W - kw + 2 * pw) // sw + 1
    d = cols.reshape(N, OH, OW, C, kh, kw)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for u in range(kh):  # a loop over kernel offsets, not pixels
        for v in range(kw):
            rows = slice(u, u + sh * (OH - 1) + 1, sh)
            columns = slice(v, v + sw * (OW - 1) + 1, sw)
            dxp[:, :, rows, columns] += d[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    return dxp[:, :, ph : ph + H, pw : pw + W]
    # END SOLUTION


class Conv2d(Module):
    """2-D convolution layer: cross-correlation plus bias, as PyTorch's ``nn.Conv2d``.

    ``out[n, f, i, j] = b[f] + Σ_{c,u,v} W[f, c, u, v] · xp[n, c, s_h·i + u, s_w·j + v]`` with
    ``xp`` the zero-padded input. Parameters (given): ``W`` (F, C, kh, kw), He-initialised from
    ``rng``, and ``b`` (F,) zeros.

    Shapes: x (N, C, H, W) -> (N, F, out_h, out_w).

    Cache (what ``forward`` keeps for ``backward``, which must read nothing else):
    ``self.x_shape`` = x.shape and ``self.cols`` = ``im2col(x, kernel_size, stride, padding)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size,
        stride: Size = 1,
        padding: Size = 0,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding = _pair(padding)
        kh, kw = self.kernel_size
        fan_in = in_channels * kh * kw
        W = np.random.default_rng(rng).normal(size=(out_channels, in_channels, kh, kw))
        self.W = Parameter(W * np.sqrt(2.0 / fan_in))
        self.b = Parameter(np.zeros(out_channels))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, F, out_h, out_w) (x is not modified); keeps the cache."""
        # BEGIN SOLUTION lab3.conv_forward
        N, _, H, W = x.shape
        F = self.W.data.shape[0]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        OH, OW = output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)
        self.x_shape = x.shape
        self.cols = im2col(x, self.kernel_size, self.stride, self.padding)  # (N·OH·OW, CKK)
        out = self.cols @ self.W.data.reshape(F, -1).T + self.b.data  # (N·OH·OW, F)
        return out.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)
        # END SOLUTION

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, F, out_h, out_w) -> dx: (N, C, H, W); adds dW into ``W.grad`` and db into
        ``b.grad``; uses the cache ``self.x_shape``, ``self.cols`` of the last forward."""
        # BEGIN SOLUTION lab3.conv_backward
        F = self.W.data.shape[0]
        d2 = dout.transpose(0, 2, 3, 1).reshape(-1, F)  # (N·OH·OW, F), rows as in cols
        self.W.grad += (d2.T @ self.cols).reshape(self.W.data.shape)
        self.b.grad += dout.sum(axis=(0, 2, 3))
        dcols = d2 @ self.W.data.reshape(F, -1)  # (N·OH·OW, C·kh·kw)
        return col2im(dcols, self.x_shape, self.kernel_size, self.stride, self.padding)
        # END SOLUTION


class _Pool2d(Module):
    """Shared arguments: kernel_size; stride (None: the kernel size); padding."""

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)


class MaxPool2d(_Pool2d):
    """Max pooling of each channel (PyTorch's ``nn.MaxPool2d``): the padding is −∞ (a padded
    value never wins); the gradient goes to each window's maximum, on ties to the first one in
    row-major order within the window; overlapping windows add.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, out_h, out_w) (x is not modified)."""
        # BEGIN SOLUTION lab3.maxpool
        N, C, H, W = x.shape
        (ph, pw), k, s = self.padding, self.kernel_size, self.stride
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        self.xp_shape = (N * C, 1, H + 2 * ph, W + 2 * pw)  # every channel an image
        cols = im2col(xp.reshape(self.xp_shape), k, s)  # (N·C·OH·OW, kh·kw)
        self.arg = cols.argmax(axis=1)  # the first maximum in row-major order
        OH, OW = output_size(H, k[0], s[0], ph), output_size(W, k[1], s[1], pw)
        self.out_shape = (N, C, OH, OW)
        return cols[np.arange(len(cols)), self.arg].reshape(self.out_shape)
        # END SOLUTION

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W)."""
        # BEGIN SOLUTION lab3.maxpool
        kh, kw = self.kernel_size
        dcols = np.zeros((dout.size, kh * kw), dtype=dout.dtype)
        dcols[np.arange(dout.size), self.arg] = dout.reshape(-1)
        dxp = col2im(dcols, self.xp_shape, self.kernel_size, self.stride)
        N, C, H, W = self.out_shape[:2] + self.xp_shape[2:]
        (ph, pw) = self.padding
        return dxp.reshape(N, C, H, W)[:, :, ph : H - ph, pw : W - pw]
        # END SOLUTION


class AvgPool2d(_Pool2d):
    """Average pooling of each channel (PyTorch's ``nn.AvgPool2d``): zero padding, divided by
    kh·kw also where a window overlaps the padding; the backward spreads dout/(kh·kw) evenly
    over each window; overlapping windows add.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, out_h, out_w) (x is not modified)."""
        # BEGIN SOLUTION lab3.avgpool
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        self.x_shape = (N * C, 1, H, W)
        cols = im2col(x.reshape(self.x_shape), self.kernel_size, self.stride, self.padding)
        OH, OW = output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)
        return cols.mean(axis=1).reshape(N, C, OH, OW)
        # END SOLUTION

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W)."""
        # BEGIN SOLUTION lab3.avgpool
        kh, kw = self.kernel_size
        dcols = np.repeat(dout.reshape(-1, 1) / (kh * kw), kh * kw, axis=1)
        dx = col2im(dcols, self.x_shape, self.kernel_size, self.stride, self.padding)
        return dx.reshape(dout.shape[:2] + self.x_shape[2:])
        # END SOLUTION


def train_cnn(
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 8,
    lr: float = 3e-3,
    batch_size: int = 32,
    rng: np.random.Generator | int | None = None,
) -> Sequential:
    """Train a small CNN from your layers with ``dlcourse.optim.Adam`` on softmax cross-entropy.

    The network (draw every layer's initial weights from one generator
    ``g = np.random.default_rng(rng)``, first layer first)::

        Conv2d(C, 8, 3, padding=1, rng=g), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, rng=g), ReLU(), MaxPool2d(2),
        Flatten(), Linear(16 · ⌊H/4⌋ · ⌊W/4⌋, K, rng=g)

    with your ``Conv2d`` and ``MaxPool2d``, the package's ``ReLU``, ``Flatten`` and ``Linear``
    and K = y.max() + 1 classes. Each epoch visits the samples in a new random order (drawn from
    g) in mini-batches: zero the gradients, forward, ``dlogits`` from
    ``dlcourse.losses.softmax_cross_entropy``, backward, ``Adam(model.parameters(), lr).step()``.

    Args:
        X: (N, C, H, W) images; y: (N,) labels in [0, K).
        epochs, lr, batch_size: the schedule. rng: Generator, seed or None.

    Returns:
        The trained network (a ``dlcourse.nn.Sequential``): ``model(X_test).argmax(1)`` predicts.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 4 or y.shape != (X.shape[0],):
        raise ValueError(f"X, y: expected shapes (N, C, H, W) and (N,), got {X.shape}, {y.shape}")
    # BEGIN SOLUTION lab3.train_cnn
    g = np.random.default_rng(rng)
    N, C, H, W = X.shape
    model = Sequential(
        Conv2d(C, 8, 3, padding=1, rng=g), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1, rng=g), ReLU(), MaxPool2d(2),
        Flatten(), Linear(16 * (H // 4) * (W // 4), int(y.max()) + 1, rng=g),
    )
    opt = Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = g.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad()
            _, dlogits = softmax_cross_entropy(model(X[idx]), y[idx])
            model.backward(dlogits)
            opt.step()
    return model
    # END SOLUTION
