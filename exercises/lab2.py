# GENERATED from solutions/lab2.py by `python -m dlcourse.grading.make_exercises`
# — edit solutions/, not this file.
# ruff: noqa: F401, F841
"""Lab 2 (outline lesson 2): activation layers, Adam, and an MLP trained with them.

You write:

1. the activation layers ``ReLU``, ``Sigmoid`` and ``Tanh`` — ``forward`` and ``backward``
   (exercises ``lab2.relu``, ``lab2.sigmoid``, ``lab2.tanh``);
2. ``Adam.step`` — Adam with bias correction (``lab2.adam_step``);
3. ``build_mlp`` — a stack of ``dlcourse.nn.Linear`` layers with *your* ``ReLU`` between them
   (``lab2.build_mlp``);
4. ``train_mlp`` — mini-batch training of that MLP with *your* ``Adam`` and the package's
   softmax cross-entropy (``lab2.train_mlp``).

``Linear`` and the loss come from the ``dlcourse`` package (lab 1 had you write them), so this
lab does not depend on your lab 1. An activation layer works on any shape S and returns the
same shape; ``backward(dout)`` returns ``dx = dout ⊙ f'(x)``. Keep what ``backward`` needs as
an attribute in ``forward``. Never modify an array you are given.

Write each piece yourself: while an exercise is graded, the package's own version of it
(``dlcourse.functional.relu`` and ``relu_grad``, ``dlcourse.nn.ReLU``, the registry
``dlcourse.nn.activation.ACTIVATIONS``, ``dlcourse.optim.Adam``, ``dlcourse.train.fit``, ...)
raises "implement this yourself" when your code calls it.

Grade your work with ``dlcourse grade lab2``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dlcourse.losses import softmax_cross_entropy
from dlcourse.nn import Linear, Module, Parameter, Sequential

__all__ = ["ReLU", "Sigmoid", "Tanh", "Adam", "build_mlp", "train_mlp"]


class ReLU(Module):
    """``f(x) = max(x, 0)``; ``f'(x) = 1`` where ``x > 0``, else 0 (Eq. of the 激活函数 table)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape S -> max(x, 0): shape S (x is not modified)."""
        raise NotImplementedError("exercise lab2.relu")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: shape S -> dx = dout ⊙ 1[x > 0]: shape S, x the last forward's input."""
        raise NotImplementedError("exercise lab2.relu")


class Sigmoid(Module):
    """``σ(x) = 1 / (1 + e^{−x})``; ``σ'(x) = σ(x)(1 − σ(x))``.

    ``forward`` must not overflow: for x = −1000, ``exp(−x)`` overflows, so compute ``e^{x}``
    where x < 0 instead (σ(x) = e^{x} / (1 + e^{x})). No RuntimeWarning may be raised.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape S -> σ(x): shape S, values in [0, 1] (x is not modified)."""
        raise NotImplementedError("exercise lab2.sigmoid")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: shape S -> dx = dout ⊙ σ(x)(1 − σ(x)): shape S."""
        raise NotImplementedError("exercise lab2.sigmoid")


class Tanh(Module):
    """``tanh(x)``; ``tanh'(x) = 1 − tanh(x)²``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape S -> tanh(x): shape S (x is not modified)."""
        raise NotImplementedError("exercise lab2.tanh")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: shape S -> dx = dout ⊙ (1 − tanh(x)²): shape S."""
        raise NotImplementedError("exercise lab2.tanh")


class Adam:
    """Adam (Kingma & Ba, 2015). At step t = 1, 2, ... with g = ``p.grad``::

        M_t = β1 M_{t−1} + (1 − β1) g           G_t = β2 G_{t−1} + (1 − β2) g ⊙ g
        M̂_t = M_t / (1 − β1^t)                  Ĝ_t = G_t / (1 − β2^t)
        p <- p − lr · M̂_t / (√Ĝ_t + ε)

    Args:
        params: the parameters to train; lr: α > 0; betas: (β1, β2) in [0, 1); eps: ε >= 0.

    State (given): ``self.t`` steps taken so far (0 before the first step); ``self.M[i]``
    and ``self.G[i]``, zero arrays shaped like ``self.params[i].data``.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params = list(params)
        if not self.params or not all(isinstance(p, Parameter) for p in self.params):
            raise TypeError("params: expected a non-empty list of Parameter")
        if lr <= 0 or eps < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"expected lr > 0, betas in [0, 1), eps >= 0: {lr}, {betas}, {eps}")
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.t = 0
        self.M = [np.zeros_like(p.data) for p in self.params]
        self.G = [np.zeros_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.params:
            p.grad[...] = 0.0

    def step(self) -> None:
        """One Adam update of every ``p.data``, in place (``p.grad`` is not changed)."""
        raise NotImplementedError("exercise lab2.adam_step")


def build_mlp(sizes: Sequence[int], rng: np.random.Generator | int | None = None) -> Sequential:
    """``Sequential(Linear(s0, s1), ReLU(), Linear(s1, s2), ReLU(), ..., Linear(s_{k−1}, s_k))``.

    Uses ``dlcourse.nn.Linear`` (its default He initialisation, drawing from one generator
    ``rng`` layer after layer) and your ``ReLU``; no activation after the last layer (it
    outputs logits).

    Args:
        sizes: layer widths ``[D, H1, ..., C]``, at least two.
        rng: Generator, seed or None.

    Returns:
        The network, ``2 (len(sizes) − 1) − 1`` modules.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least [D, C], got {list(sizes)}")
    raise NotImplementedError("exercise lab2.build_mlp")


def train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    hidden: Sequence[int] = (64,),
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 32,
    rng: np.random.Generator | int | None = None,
) -> Sequential:
    """Train ``build_mlp([D, *hidden, C], rng)`` with your ``Adam`` on softmax cross-entropy.

    Each epoch visits the samples in a new random order (from ``rng``) in mini-batches:
    zero the gradients, forward, ``dlogits`` from ``dlcourse.losses.softmax_cross_entropy``,
    backward, step.

    Args:
        X: (N, D) inputs; y: (N,) labels in [0, C) with C = y.max() + 1.
        hidden: widths of the hidden layers.
        epochs, lr, batch_size: the training schedule.
        rng: Generator, seed or None; used for the initial weights and the shuffling.

    Returns:
        The trained network: ``model(X_test).argmax(1)`` are its predictions.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X, y: expected shapes (N, D) and (N,), got {X.shape}, {y.shape}")
    raise NotImplementedError("exercise lab2.train_mlp")
