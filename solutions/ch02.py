"""Chapter 2 (前馈神经网络) exercises: backpropagation, dying ReLU, initialisation, edges.

From the course notes: the slides' single-neuron back-propagation example; nndl exercises
4-3 (dying ReLU), 4-8 (why not W = 0, b = 0), 4-9 (does a larger learning rate cure vanishing
gradients?); exercises 8 (all-equal initial weights in softmax regression) and 9 (a fully
connected layer that detects edges) of the textbook chapter's exercise list. The written
answers are in ``solutions/ch02.md`` and in the book's page ``book/02_feedforward/exercises.md``.

Fill in every function body that raises ``NotImplementedError("exercise <id>")``, then run
``dlcourse grade ch02`` (or ``dlcourse grade ch02.backprop`` for a single exercise).

Conventions (those of ``dlcourse.nn.Linear``): a batch is stored as rows, ``X`` of shape
``(N, D)``; a layer computes ``Z = A @ W + b`` with ``W`` of shape ``(D_in, D_out)`` and ``b`` of
shape ``(D_out,)`` (the notes' ``z = W a + b`` with the notes' ``W`` transposed). The loss of a
classifier is the softmax cross-entropy averaged over the batch, so ∂L/∂logits = (p − onehot)/N.
Nothing here may modify the caller's arrays. Back-propagate by hand: while those exercises
are graded, the package's layers (``dlcourse.nn.Linear`` and its kernels), its softmax
cross-entropy and the automatic differentiation of ``dlcourse.autograd`` raise "implement
this yourself" when your code calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from dlcourse import functional as F
from dlcourse.nn.activation import ACTIVATIONS as REGISTRY

__all__ = [
    "ACTIVATIONS",
    "activation_functions",
    "backprop_single_neuron",
    "dead_units",
    "layer_backward",
    "mlp_backprop",
    "layer_gradient_norms",
    "train_gd",
    "softmax_regression_gd",
    "edge_detector_weights",
    "edge_maps",
]

ArrayFn = Callable[[np.ndarray], np.ndarray]

#: Activation names accepted below, each mapped to ``(f, f_grad)`` with the default
#: parameters of the package's one registry :data:`dlcourse.nn.activation.ACTIVATIONS`
#: (``f_grad(z)`` is f'(z) evaluated at the pre-activation ``z``; LeakyReLU's slope is 0.01,
#: ELU's α is 1). Activations with a trained parameter (PReLU) are left out.
ACTIVATIONS: dict[str, tuple[ArrayFn, ArrayFn]] = {
    name: (partial(spec.f, **spec.params), partial(spec.grad, **spec.params))
    for name, spec in REGISTRY.items()
    if not spec.learnable
}


def activation_functions(name: str) -> tuple[ArrayFn, ArrayFn]:
    """``(f, f_grad)`` for an activation name of :data:`ACTIVATIONS` (given; not an exercise)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def _params(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
    """Check that ``weights``/``biases`` describe a chain of layers (given; not an exercise)."""
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError(
            f"weights, biases: expected two non-empty lists of the same length, got "
            f"{len(weights)} and {len(biases)}"
        )
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        W, b = np.asarray(W), np.asarray(b)
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(
                f"weights[{i}], biases[{i}]: expected shapes (D_in, D_out) and (D_out,), got "
                f"{W.shape} and {b.shape}"
            )
        if i and W.shape[0] != np.shape(weights[i - 1])[1]:
            raise ValueError(
                f"weights[{i}]: expected {np.shape(weights[i - 1])[1]} rows to follow "
                f"weights[{i - 1}], got shape {W.shape}"
            )


# --------------------------------------------------------------------------- slides' example
def backprop_single_neuron(
    x: float, w: float, b: float, y_gt: float
) -> tuple[float, float, float]:
    """The slides' worked example: one linear neuron ``y = w x + b`` and ``L = ½ (y − y_gt)²``.

    Forward: compute y and L. Backward (chain rule): ∂L/∂y, then ∂L/∂w = ∂L/∂y · ∂y/∂w and
    ∂L/∂b = ∂L/∂y · ∂y/∂b. With x = 1.5, w = 0.8, b = 0.2, y_gt = 0.8 the slides find
    y = 1.4 and L = 0.18.

    Args:
        x, w, b, y_gt: real numbers (the input, the weight, the bias, the target).

    Returns:
        ``(L, dL_dw, dL_db)`` as Python floats.
    """
    # BEGIN SOLUTION ch02.single_neuron
    y = w * x + b  # forward
    dL_dy = y - y_gt  # d(½ (y − y_gt)²)/dy
    return float(0.5 * dL_dy**2), float(dL_dy * x), float(dL_dy)
    # END SOLUTION


# --------------------------------------------------------------------------- 4-3 dying ReLU
def dead_units(W: np.ndarray, b: np.ndarray, X: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Which units of the layer ``A = f(X @ W + b)`` are dead on the data ``X`` (exercise 4-3).

    A unit m is *dead* when f'(z) = 0 for every sample: then no gradient reaches its weights
    ``W[:, m]`` and bias ``b[m]`` (∂L/∂W = Xᵀ (dA ⊙ f'(Z))), so gradient descent can never
    revive it.

    Args:
        W: (D, M) weights; b: (M,) biases; X: (N, D) inputs.
        activation: a name of :data:`ACTIVATIONS`.

    Returns:
        Boolean array of shape (M,): True for each dead unit.
    """
    _, f_grad = activation_functions(activation)
    # BEGIN SOLUTION ch02.dead_relu
    Z = np.asarray(X) @ np.asarray(W) + np.asarray(b)  # (N, M) pre-activations
    return np.all(f_grad(Z) == 0, axis=0)
    # END SOLUTION


def layer_backward(
    W: np.ndarray,
    b: np.ndarray,
    X: np.ndarray,
    dA: np.ndarray,
    activation: str = "relu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of one layer ``A = f(Z)``, ``Z = X @ W + b`` (eqs. δ = f'(z) ⊙ ∂L/∂a,
    ∂L/∂W = δ aᵀ in the notes' column layout).

    Args:
        W: (D, M); b: (M,); X: (N, D) the layer's input.
        dA: (N, M), the gradient ∂L/∂A of the loss with respect to the layer's output.
        activation: a name of :data:`ACTIVATIONS`.

    Returns:
        ``(dX, dW, db)`` of shapes (N, D), (D, M), (M,).
    """
    _, f_grad = activation_functions(activation)
    # BEGIN SOLUTION ch02.dead_relu_fix
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    delta = np.asarray(dA) * f_grad(X @ W + b)  # (N, M): ∂L/∂Z
    return delta @ W.T, X.T @ delta, delta.sum(axis=0)
    # END SOLUTION


# --------------------------------------------------------------------------- backpropagation
def mlp_backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    activation: str = "sigmoid",
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Loss and gradients of an L-layer perceptron by backpropagation (δ recursion).

    Forward: A⁽⁰⁾ = X; for l = 1..L−1: Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ + b⁽ˡ⁾, A⁽ˡ⁾ = f(Z⁽ˡ⁾); the last
    layer is linear, Z⁽ᴸ⁾ = A⁽ᴸ⁻¹⁾ W⁽ᴸ⁾ + b⁽ᴸ⁾ are the logits. Loss: the mean over the N
    samples of the softmax cross-entropy −log softmax(Z⁽ᴸ⁾)[y].

    Backward: δ⁽ᴸ⁾ = (softmax(Z⁽ᴸ⁾) − onehot(y)) / N; ∂L/∂W⁽ˡ⁾ = A⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁾,
    ∂L/∂b⁽ˡ⁾ = Σₙ δ⁽ˡ⁾ₙ; δ⁽ˡ⁻¹⁾ = f'(Z⁽ˡ⁻¹⁾) ⊙ (δ⁽ˡ⁾ W⁽ˡ⁾ᵀ).

    Args:
        weights: L arrays, ``weights[l]`` of shape (D_l, D_{l+1}); D_0 = D, D_L = C classes.
        biases: L arrays, ``biases[l]`` of shape (D_{l+1},).
        X: (N, D) inputs; y: (N,) integer labels in [0, C).
        activation: the hidden layers' activation, a name of :data:`ACTIVATIONS`.

    Returns:
        ``(loss, dWs, dbs)``: the loss (float) and lists of gradients shaped like
        ``weights`` and ``biases``.
    """
    _params(weights, biases)
    f, f_grad = activation_functions(activation)
    # BEGIN SOLUTION ch02.backprop
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    N, L = X.shape[0], len(weights)
    A, Zs = [X], []  # A[l] is the input of layer l; Zs[l] its pre-activation
    for l in range(L):
        Zs.append(A[l] @ weights[l] + biases[l])
        if l < L - 1:
            A.append(f(Zs[l]))
    logp = F.log_softmax(Zs[-1])  # (N, C)
    loss = float(-np.mean(logp[np.arange(N), y]))
    delta = (np.exp(logp) - F.one_hot(y, logp.shape[1])) / N  # δ⁽ᴸ⁾
    dWs: list[np.ndarray] = [np.empty(0)] * L
    dbs: list[np.ndarray] = [np.empty(0)] * L
    for l in range(L - 1, -1, -1):
        dWs[l] = A[l].T @ delta
        dbs[l] = delta.sum(axis=0)
        if l > 0:
            delta = f_grad(Zs[l - 1]) * (delta @ np.asarray(weights[l]).T)
    return loss, dWs, dbs
    # END SOLUTION


# --------------------------------------------------------------------------- 4-9 vanishing
def layer_gradient_norms(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    activation: str = "sigmoid",
) -> np.ndarray:
    """Frobenius norm ‖∂L/∂W⁽ˡ⁾‖ of each layer's weight gradient (exercise 4-9).

    Same network and loss as :func:`mlp_backprop`.

    Returns:
        float array of shape (L,), entry l for ``weights[l]`` (l = 0 is next to the input).
    """
    # BEGIN SOLUTION ch02.grad_norms
    _, dWs, _ = mlp_backprop(weights, biases, X, y, activation)
    return np.array([np.linalg.norm(dW) for dW in dWs])
    # END SOLUTION


# --------------------------------------------------------------------------- 4-8 symmetry
def train_gd(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    steps: int,
    activation: str = "sigmoid",
) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
    """Full-batch gradient descent on the network of :func:`mlp_backprop` (exercise 4-8).

    Each step: compute the loss and the gradients at the current parameters, then
    W⁽ˡ⁾ ← W⁽ˡ⁾ − lr ∂L/∂W⁽ˡ⁾ and b⁽ˡ⁾ ← b⁽ˡ⁾ − lr ∂L/∂b⁽ˡ⁾ for every layer.

    Args:
        weights, biases: the initial parameters (not modified).
        X: (N, D); y: (N,) labels.
        lr: learning rate; steps: number of updates (≥ 0).
        activation: hidden activation.

    Returns:
        ``(weights, biases, losses)``: new lists with the trained parameters and the loss
        measured before each step (``len(losses) == steps``).
    """
    # BEGIN SOLUTION ch02.symmetry
    Ws = [np.array(W, dtype=np.float64, copy=True) for W in weights]
    bs = [np.array(b, dtype=np.float64, copy=True) for b in biases]
    losses = []
    for _ in range(steps):
        loss, dWs, dbs = mlp_backprop(Ws, bs, X, y, activation)
        losses.append(loss)
        Ws = [W - lr * dW for W, dW in zip(Ws, dWs, strict=True)]
        bs = [b - lr * db for b, db in zip(bs, dbs, strict=True)]
    return Ws, bs, losses
    # END SOLUTION


# --------------------------------------------------------------------------- exercise 8
def softmax_regression_gd(
    X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, lr: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression trained by full-batch gradient descent (course exercise 8).

    Model: p = softmax(X W + b); loss: mean cross-entropy; gradient of the loss with
    respect to the logits: (p − onehot(y)) / N. Each step updates W and b by −lr × gradient.

    Args:
        X: (N, D); y: (N,) labels in [0, C); W: (D, C), b: (C,) initial parameters (may be
            all equal, e.g. all zeros; not modified); lr: learning rate; steps: ≥ 0.

    Returns:
        ``(W, b)`` after training, new arrays.
    """
    # BEGIN SOLUTION ch02.equal_init_softmax
    X = np.asarray(X, dtype=np.float64)
    W = np.array(W, dtype=np.float64, copy=True)
    b = np.array(b, dtype=np.float64, copy=True)
    onehot = F.one_hot(y, W.shape[1])
    N = X.shape[0]
    for _ in range(steps):
        G = (F.softmax(X @ W + b) - onehot) / N  # (N, C): differs from class to class
        W = W - lr * (X.T @ G)
        b = b - lr * G.sum(axis=0)
    return W, b
    # END SOLUTION


# --------------------------------------------------------------------------- exercise 9
def edge_detector_weights(h: int, w: int) -> np.ndarray:
    """A fully connected layer (no bias) that detects edges in flattened h×w images.

    An image ``img`` (h, w) enters the layer flattened row by row, ``x = img.reshape(-1)``
    (pixel (i, j) is input ``i*w + j``), and the layer computes ``out = x @ W``. The outputs
    are, in this order:

    1. h·(w−1) *vertical-edge* units, one per horizontally adjacent pair, in row-major order
       of (i, j) with j < w−1: ``img[i, j+1] − img[i, j]``;
    2. (h−1)·w *horizontal-edge* units, one per vertically adjacent pair, in row-major order
       of (i, j) with i < h−1: ``img[i+1, j] − img[i, j]``.

    So ``out[:h*(w-1)].reshape(h, w-1) == np.diff(img, axis=1)`` and
    ``out[h*(w-1):].reshape(h-1, w) == np.diff(img, axis=0)``.

    Args:
        h, w: image height and width, each ≥ 2.

    Returns:
        float64 array W of shape (h·w, h·(w−1) + (h−1)·w).
    """
    for name, v in (("h", h), ("w", w)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise ValueError(f"{name}: expected an integer >= 2, got {v!r}")
    # BEGIN SOLUTION ch02.edge_fc
    n_vert = h * (w - 1)
    W = np.zeros((h * w, n_vert + (h - 1) * w))
    pix = np.arange(h * w).reshape(h, w)  # input index of pixel (i, j)
    left, right = pix[:, :-1].ravel(), pix[:, 1:].ravel()
    cols = np.arange(n_vert)
    W[right, cols], W[left, cols] = 1.0, -1.0
    top, bottom = pix[:-1, :].ravel(), pix[1:, :].ravel()
    cols = n_vert + np.arange((h - 1) * w)
    W[bottom, cols], W[top, cols] = 1.0, -1.0
    return W
    # END SOLUTION


def edge_maps(images: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Detect edges in a batch of images with the layer of :func:`edge_detector_weights`.

    Flatten each image, apply the layer, and mark an edge where the absolute response
    exceeds ``threshold`` (strictly).

    Args:
        images: (N, h, w) grey-level images.
        threshold: ≥ 0.

    Returns:
        ``(vertical, horizontal)`` boolean arrays of shapes (N, h, w−1) and (N, h−1, w):
        ``vertical[n, i, j]`` marks an edge between pixels (i, j) and (i, j+1),
        ``horizontal[n, i, j]`` between pixels (i, j) and (i+1, j).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images: expected a 3-D array (N, h, w), got shape {images.shape}")
    # BEGIN SOLUTION ch02.edge_maps
    N, h, w = images.shape
    out = np.abs(images.reshape(N, h * w) @ edge_detector_weights(h, w)) > threshold
    n_vert = h * (w - 1)
    return out[:, :n_vert].reshape(N, h, w - 1), out[:, n_vert:].reshape(N, h - 1, w)
    # END SOLUTION
