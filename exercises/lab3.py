# GENERATED from solutions/lab3.py by `python -m dlcourse.grading.make_exercises`
# — edit solutions/, not this file.
# ruff: noqa: F401, F841
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
    raise NotImplementedError("exercise lab3.output_size")


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
    raise NotImplementedError("exercise lab3.im2col")


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
    raise NotImplementedError("exercise lab3.col2im")


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
        raise NotImplementedError("exercise lab3.conv_forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, F, out_h, out_w) -> dx: (N, C, H, W); adds dW into ``W.grad`` and db into
        ``b.grad``; uses the cache ``self.x_shape``, ``self.cols`` of the last forward."""
        raise NotImplementedError("exercise lab3.conv_backward")


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
        raise NotImplementedError("exercise lab3.maxpool")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W)."""
        raise NotImplementedError("exercise lab3.maxpool")


class AvgPool2d(_Pool2d):
    """Average pooling of each channel (PyTorch's ``nn.AvgPool2d``): zero padding, divided by
    kh·kw also where a window overlaps the padding; the backward spreads dout/(kh·kw) evenly
    over each window; overlapping windows add.

    Shapes: x (N, C, H, W) -> (N, C, out_h, out_w).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, C, out_h, out_w) (x is not modified)."""
        raise NotImplementedError("exercise lab3.avgpool")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, out_h, out_w) -> dx: (N, C, H, W)."""
        raise NotImplementedError("exercise lab3.avgpool")


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
    raise NotImplementedError("exercise lab3.train_cnn")
