"""Chapter 4 (卷积神经网络) exercises: TDNN as a 1-D convolution, pooling, 1×1 convolution,
an improved LeNet.

From the course notes: nndl exercise 6-1 (time-delay, convolutional and recurrent networks
compared) and exercises 10 (improve LeNet), 11 (max vs average pooling), 12 (simplify
AlexNet, written only) and 16 (the 1×1 convolution) of the textbook chapter's list. The
written answers are in ``solutions/ch04.md`` and in the book's page ``book/04_cnn/exercises.md``.

Fill in every function body that raises ``NotImplementedError("exercise <id>")``, then run
``dlcourse grade ch04`` (or ``dlcourse grade ch04.pooling`` for a single exercise).

Conventions: images are (N, C, H, W); sequences for ``Conv1d`` are (N, C, L) (channels
first, as PyTorch's); a time-delay layer reads sequences as (N, T, D) (time first, a
feature vector per step). Vectorise: no Python loop over samples, time steps or pixels (a
loop over the K delays of a kernel is fine). While an exercise is graded, the package's own
answer (its convolution and pooling layers and kernels) raises "implement this yourself"
when your code calls it; ``train_improved_lenet`` may use every layer of the package.
Nothing here may modify the caller's arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse import nn
from dlcourse._validate import as_float_array, check_choice, check_int, check_ndim, check_shape
from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.optim import Adam
from dlcourse.train import fit

__all__ = [
    "tdnn_layer",
    "tdnn_as_conv1d_weight",
    "pool2d",
    "conv1x1",
    "conv1x1_as_linear",
    "train_improved_lenet",
]


# ------------------------------------------------------------------ 6-1: TDNN = 1-D convolution
def _tdnn_weight(W: object) -> np.ndarray:
    """Check a TDNN weight (K, D, F) (given; not an exercise)."""
    W = as_float_array("W", W)
    check_ndim("W", W, 3, "(K, D, F)")
    return W


def tdnn_layer(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A time-delay layer: the output at time t sees the inputs at t, t − 1, ..., t − K + 1.

    ``h_t = b + Σ_{k=0}^{K−1} x_{t−k} W[k]`` — the notes' convolution (5.57) ``y_t = Σ_k w_k
    x_{t−k}`` with a matrix per delay: a TDNN is a 1-D convolution over time.

    Args:
        x: (N, T, D) sequences of D features.
        W: (K, D, F): ``W[k]`` weighs the input delayed by k steps (K <= T).
        b: (F,).

    Returns:
        (N, T − K + 1, F): output s (s = 0, ..., T − K) belongs to time t = s + K − 1 and is
        ``b + Σ_k x[:, t − k] @ W[k]`` (only times with a full history, as a narrow
        convolution).
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 3, "(N, T, D)")
    W = _tdnn_weight(W)
    K, D, F = W.shape
    check_shape("W", W, (None, x.shape[2], None))
    check_shape("b", as_float_array("b", b), (F,))
    if K > x.shape[1]:
        raise ValueError(f"W: expected at most T = {x.shape[1]} delays, got K = {K}")
    # BEGIN SOLUTION ch04.tdnn
    N, T, _ = x.shape
    steps = T - K + 1
    out = np.zeros((N, steps, F), dtype=np.result_type(x, W))
    for k in range(K):  # output s is time t = s + K − 1; its input delayed by k is t − k
        out += x[:, K - 1 - k : K - 1 - k + steps] @ W[k]
    return out + b
    # END SOLUTION


def tdnn_as_conv1d_weight(W: np.ndarray) -> np.ndarray:
    """The ``Conv1d`` weight (F, D, K) for which ``Conv1d`` on ``x.transpose(0, 2, 1)`` equals
    :func:`tdnn_layer` (transposed back), i.e. a TDNN layer is a 1-D convolution.

    ``Conv1d`` computes a cross-correlation, ``out[:, f, s] = Σ_{d,j} w[f, d, j] x[:, d, s + j]``
    (PyTorch's definition), while the TDNN's sum runs over delays (a true convolution).

    Args:
        W: (K, D, F), the TDNN weight of :func:`tdnn_layer`.

    Returns:
        (F, D, K), a new array.
    """
    W = _tdnn_weight(W)
    # BEGIN SOLUTION ch04.tdnn_conv1d
    # tap j of the cross-correlation reads x[s + j] = x[t − (K − 1 − j)]: delay k = K − 1 − j
    return np.ascontiguousarray(W[::-1].transpose(2, 1, 0))
    # END SOLUTION


# ------------------------------------------------------------------ 11: max vs average pooling
def pool2d(x: np.ndarray, k: int, mode: str) -> np.ndarray:
    """k×k pooling with stride k of (N, C, H, W) maps, H and W divisible by k.

    Args:
        x: (N, C, H, W). k: the window (and stride). mode: ``"max"`` or ``"avg"``.

    Returns:
        (N, C, H // k, W // k): ``out[n, c, i, j]`` is the maximum or the mean of
        ``x[n, c, k·i : k·i + k, k·j : k·j + k]``. Vectorised (reshape the windows onto their
        own axes; no loop).
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    k = check_int("k", k, minimum=1)
    check_choice("mode", mode, ("max", "avg"))
    if x.shape[2] % k or x.shape[3] % k:
        raise ValueError(f"x: expected H and W divisible by k = {k}, got shape {x.shape}")
    # BEGIN SOLUTION ch04.pooling
    N, C, H, W = x.shape
    # windows[n, c, i, r, j, s] = x[n, c, k·i + r, k·j + s]: rows split into (i, r), columns (j, s)
    windows = x.reshape(N, C, H // k, k, W // k, k)
    if mode == "max":
        return windows.max(axis=(3, 5))
    return windows.mean(axis=(3, 5))
    # END SOLUTION


# ------------------------------------------------------------------ 16: 1×1 convolution
def _conv1x1_params(W: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    """Check a 1×1 convolution's (W (F, C, 1, 1), b (F,)) (given; not an exercise)."""
    W = as_float_array("W", W)
    check_ndim("W", W, 4, "(F, C, 1, 1)")
    check_shape("W", W, (None, None, 1, 1))
    b = as_float_array("b", b)
    check_shape("b", b, (W.shape[0],))
    return W, b


def conv1x1(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A 1×1 convolution as one matrix product over the channels of every pixel.

    Args:
        x: (N, C, H, W). W: (F, C, 1, 1), ``Conv2d``'s layout. b: (F,).

    Returns:
        (N, F, H, W): ``out[n, :, i, j] = W[:, :, 0, 0] @ x[n, :, i, j] + b``.
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    W, b = _conv1x1_params(W, b)
    check_shape("W", W, (None, x.shape[1], 1, 1))
    # BEGIN SOLUTION ch04.conv1x1
    pixels = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a row of channels per pixel
    out = pixels @ W[:, :, 0, 0].T + b  # (N, H, W, F)
    return out.transpose(0, 3, 1, 2)
    # END SOLUTION


def conv1x1_as_linear(W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``Linear`` parameters that give the same outputs as a 1×1 convolution.

    ``Linear`` computes ``y = x @ W_lin + b_lin``; applied to each pixel's channel vector, i.e.
    to ``x.transpose(0, 2, 3, 1)`` of shape (N, H, W, C), it is a fully connected layer shared
    by all pixels.

    Args:
        W: (F, C, 1, 1), ``Conv2d``'s layout. b: (F,).

    Returns:
        ``(W_lin, b_lin)`` of shapes (C, F) and (F,), new arrays.
    """
    W, b = _conv1x1_params(W, b)
    # BEGIN SOLUTION ch04.conv1x1_linear
    return W[:, :, 0, 0].T.copy(), b.copy()
    # END SOLUTION


# ------------------------------------------------------------------ 10: improve LeNet
def train_improved_lenet(
    X: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> Callable[[np.ndarray], np.ndarray]:
    """Train a better LeNet on (N, 1, 16, 16) images with labels 0–9 and return its predictor.

    The baseline is the notes' LeNet, ``dlcourse.models.LeNet5(image_size=16)`` (sigmoid,
    5×5 convolutions without padding, max pooling, 16·1·1 → 120 → 84 → 10) trained with Adam
    1e-3, batch 64, 3 epochs: it stays near chance on this data. Change what exercise 10
    suggests (window sizes, channels, activation, normalisation, learning rate,
    initialisation, optimiser, epochs) so that the accuracy on a held-out split clears the
    graded test's floor within its time budget. Any layer of ``dlcourse`` may be used. Draw
    every random choice (weights, shuffling) from ``rng`` so that the run is reproducible.

    Args:
        X: (N, 1, H, W) images in [0, 1] (16×16 in the graded test). y: (N,) labels 0–9.
        rng: a ``np.random.Generator``.

    Returns:
        ``predict(X_new) -> (M,) int labels`` for images (M, 1, H, W).
    """
    X = as_float_array("X", X)
    check_ndim("X", X, 4, "(N, 1, H, W)")
    y = np.asarray(y)
    check_shape("y", y, (X.shape[0],))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a np.random.Generator, got {type(rng).__name__}")
    # BEGIN SOLUTION ch04.improve_lenet
    # LeNet's two conv–pool stages, with 3×3 windows padded to keep the small images, more
    # channels, BatchNorm + ReLU instead of sigmoid, one linear classifier; Adam 3e-3, 5 epochs
    f32 = np.float32
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng, dtype=f32), nn.BatchNorm2d(16, dtype=f32),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng, dtype=f32), nn.BatchNorm2d(32, dtype=f32),
        nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * (X.shape[2] // 4) * (X.shape[3] // 4), 10, rng=rng, dtype=f32),
    )
    loader = DataLoader(X.astype(f32), y, batch_size=64, shuffle=True, rng=rng)
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=3e-3), loader, epochs=5, quiet=True)
    model.eval()

    def predict(X_new: np.ndarray) -> np.ndarray:
        with nn.no_grad():
            return model(np.asarray(X_new, dtype=f32)).argmax(axis=1)

    return predict
    # END SOLUTION
