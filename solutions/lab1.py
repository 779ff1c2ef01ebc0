"""Lab 1 (outline lesson 1): a linear softmax classifier trained with SGD, built from scratch.

You write four pieces and then put them together:

1. ``Linear.forward`` and ``Linear.backward`` — the affine layer ``y = x @ W + b``
   (exercises ``lab1.linear_forward``, ``lab1.linear_backward``);
2. ``SGD.step`` — plain stochastic gradient descent with optional weight decay
   (``lab1.sgd_step``);
3. ``softmax_cross_entropy`` — the stable, batch-averaged loss and its gradient
   (``lab1.softmax_ce``);
4. ``train_linear_classifier`` — mini-batch training with *your* three pieces
   (``lab1.train_linear``).

Conventions (ARCHITECTURE.md): a batch is a row per sample, ``x`` of shape (N, D); ``W`` has
shape (D, M) so ``y = x @ W + b`` is the notes' ``z = W a + b`` transposed. ``backward``
*adds* (``+=``) into ``Parameter.grad``. Never modify an array you are given.

Write each piece yourself: while an exercise is graded, the package's own version of it
(``dlcourse.nn.Linear``, ``dlcourse.optim.SGD``, ``dlcourse.losses.softmax_cross_entropy``,
``dlcourse.train.fit``, ...) raises "implement this yourself" when your code calls it.

Grade your work with ``dlcourse grade lab1`` (or one exercise: ``dlcourse grade
lab1.softmax_ce``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dlcourse.nn import Module, Parameter

__all__ = ["Linear", "SGD", "softmax_cross_entropy", "train_linear_classifier"]


def _check_matrix(name: str, a: np.ndarray, cols: int | None = None) -> None:
    """Raise ``ValueError`` unless ``a`` is a 2-D array (with ``cols`` columns if given)."""
    if not isinstance(a, np.ndarray) or a.ndim != 2 or (cols is not None and a.shape[1] != cols):
        shape = getattr(a, "shape", type(a).__name__)
        want = f"(N, {cols})" if cols is not None else "(N, D)"
        raise ValueError(f"{name}: expected an array of shape {want}, got {shape}")


class Linear(Module):
    """Affine layer ``y = x @ W + b``.

    Args:
        in_features: D, the size of each input row.
        out_features: M, the size of each output row.
        rng: ``np.random.Generator``, seed or None, for the initial ``W``.

    Parameters:
        W: (D, M), uniform in ±1/√D; b: (M,), zeros.

    Cache:
        x: the input of the last ``forward``, (N, D) (set for you in ``forward``).
    """

    def __init__(
        self, in_features: int, out_features: int, rng: np.random.Generator | int | None = None
    ) -> None:
        super().__init__()
        rng = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(in_features)
        self.W = Parameter(rng.uniform(-bound, bound, size=(in_features, out_features)))
        self.b = Parameter(np.zeros(out_features))
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute ``y = x @ W + b``.

        Args:
            x: (N, D) inputs (not modified).

        Returns:
            y: (N, M).
        """
        _check_matrix("x", x, self.W.data.shape[0])
        self.x = x  # the cache backward needs
        # BEGIN SOLUTION lab1.linear_forward
        return x @ self.W.data + self.b.data
        # END SOLUTION

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Back-propagate ``dout`` = dL/dy through the layer.

        Adds ``dL/dW = xᵀ dout`` (D, M) into ``W.grad`` and ``dL/db = Σ_n dout[n]`` (M,) into
        ``b.grad`` (sum, not mean: the loss already averaged over the batch), using the cached
        ``self.x``.

        Args:
            dout: (N, M) upstream gradient (not modified).

        Returns:
            dx: (N, D) = dout @ Wᵀ.
        """
        if self.x is None:
            raise RuntimeError("Linear.backward called before forward")
        _check_matrix("dout", dout, self.W.data.shape[1])
        if dout.shape[0] != self.x.shape[0]:
            raise ValueError(f"dout: expected {self.x.shape[0]} rows (as x), got {dout.shape[0]}")
        # BEGIN SOLUTION lab1.linear_backward
        self.W.grad += self.x.T @ dout
        self.b.grad += dout.sum(axis=0)
        return dout @ self.W.data.T
        # END SOLUTION


class SGD:
    """Stochastic gradient descent with weight decay (algorithm 5.1).

    For every parameter ``θ`` with gradient ``g``: ``θ <- θ − lr · (g + λ θ)``, λ the
    ``weight_decay`` (the gradient of the L2 penalty ½λ‖θ‖²).

    Args:
        params: the parameters to train (e.g. ``model.parameters()``).
        lr: learning rate > 0.
        weight_decay: λ >= 0.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params or not all(isinstance(p, Parameter) for p in self.params):
            raise TypeError("params: expected a non-empty list of Parameter")
        if lr <= 0 or weight_decay < 0:
            raise ValueError(f"expected lr > 0 and weight_decay >= 0, got {lr}, {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.params:
            p.grad[...] = 0.0

    def step(self) -> None:
        """Update every ``p.data`` in place from ``p.grad`` (``p.grad`` itself is not changed)."""
        # BEGIN SOLUTION lab1.sgd_step
        for p in self.params:
            p.data -= self.lr * (p.grad + self.weight_decay * p.data)
        # END SOLUTION


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient.

    ``loss = −(1/N) Σ_n log softmax(z_n)[y_n]`` and ``dlogits = (softmax(z) − onehot(y)) / N``.
    Stable for any logits: subtract each row's maximum before ``exp`` (no overflow, no
    RuntimeWarning, even for logits of ±1000).

    Args:
        logits: z, (N, C) (not modified).
        y: (N,) integer labels in [0, C).

    Returns:
        ``(loss, dlogits)``: a Python float and an (N, C) array.
    """
    _check_matrix("logits", logits)
    if y.shape != (logits.shape[0],):
        raise ValueError(f"y: expected shape ({logits.shape[0]},), got {y.shape}")
    # BEGIN SOLUTION lab1.softmax_ce
    N = logits.shape[0]
    rows = np.arange(N)
    z = logits - logits.max(axis=1, keepdims=True)  # a new array: logits is untouched
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -float(log_p[rows, y].mean())
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1.0
    return loss, dlogits / N
    # END SOLUTION


def train_linear_classifier(
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 20,
    lr: float = 0.5,
    batch_size: int = 32,
    rng: np.random.Generator | int | None = None,
) -> Linear:
    """Train a softmax regression ``Linear(D, C)`` with your ``SGD`` and loss.

    Each epoch visits the samples in a new random order (from ``rng``) in mini-batches of
    ``batch_size``: zero the gradients, forward, loss and ``dlogits``, backward, step.

    Args:
        X: (N, D) training inputs; y: (N,) labels in [0, C) with C = y.max() + 1.
        epochs, lr, batch_size: the training schedule.
        rng: Generator, seed or None; used for the initial weights and the shuffling.

    Returns:
        The trained ``Linear`` model: ``model(X_test).argmax(1)`` are its predictions.
    """
    _check_matrix("X", X)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y: expected shape ({X.shape[0]},), got {y.shape}")
    # BEGIN SOLUTION lab1.train_linear
    rng = np.random.default_rng(rng)
    N, D = X.shape
    model = Linear(D, int(y.max()) + 1, rng=rng)
    opt = SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad()
            _, dlogits = softmax_cross_entropy(model(X[idx]), y[idx])
            model.backward(dlogits)
            opt.step()
    return model
    # END SOLUTION
