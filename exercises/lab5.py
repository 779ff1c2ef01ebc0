# GENERATED from solutions/lab5.py by `python -m dlcourse.grading.make_exercises`
# — edit solutions/, not this file.
# ruff: noqa: F401, F841
"""Lab 5 (outline lesson 5): BatchNorm and Dropout modules, and how fast a network converges
with and without them.

You write:

1. ``BatchNorm1d.forward`` — batch normalisation of (N, D) features: the batch's statistics in
   training (and the running estimates updated as PyTorch does), the running estimates in
   ``eval()`` (exercise ``lab5.batchnorm_forward``);
2. ``BatchNorm1d.backward`` — dx in closed form, and dγ, dβ added into the gradients
   (``lab5.batchnorm_backward``);
3. ``Dropout.forward`` and ``Dropout.backward`` — inverted dropout, p the **drop**
   probability as in PyTorch (``lab5.dropout_forward``, ``lab5.dropout_backward``);
4. ``build_net`` — the lab's network, an MLP with optional BatchNorm and Dropout made of your
   modules (``lab5.build_net``), and ``epochs_to_target``, the convergence measure of the
   experiment (``lab5.epochs_to_target``).

The modules follow the ``dlcourse.nn.Module`` protocol (``forward``, ``backward(dout) -> dx``,
parameters as ``Parameter`` attributes, ``train()``/``eval()`` set ``self.training``), so a
network of them trains with ``dlcourse.train.fit``. Keep what ``backward`` needs as
attributes in ``forward``; never modify an array you are given.

Write each piece yourself: while an exercise is graded, the package's own version
(``dlcourse.nn.BatchNorm1d``, ``dlcourse.nn.Dropout`` and their kernels) raises "implement
this yourself" when your code calls it. The book's page is
``book/03_optimization/08_lab5_bn_dropout.ipynb``. Grade your work with ``dlcourse grade lab5``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.nn import Linear, Module, Parameter, ReLU, Sequential

__all__ = ["BatchNorm1d", "Dropout", "build_net", "epochs_to_target"]


class BatchNorm1d(Module):
    """Batch normalisation of (N, D) features, per feature (Ioffe & Szegedy, 2015).

    Training mode, with the batch's mean μ and *biased* variance σ² (divide by N)::

        x̂ = (x − μ) / √(σ² + ε),     y = γ ⊙ x̂ + β

    and the running estimates updated as PyTorch does (``momentum`` is the weight of the new
    batch; the running variance takes the *unbiased* batch variance, N/(N − 1)·σ²)::

        running_mean <- (1 − momentum)·running_mean + momentum·μ
        running_var  <- (1 − momentum)·running_var  + momentum·σ²·N/(N − 1)

    Evaluation mode (``eval()``): the same formula with μ, σ² replaced by ``running_mean``,
    ``running_var`` (a prediction no longer depends on the rest of its batch), no update.

    Args:
        num_features: D.
        eps: ε > 0, added to the variance under the square root.
        momentum: in [0, 1], the weight of the new batch in the running estimates.

    Parameters: ``gamma`` (D,) = 1, ``beta`` (D,) = 0. Buffers: ``running_mean`` (D,) = 0,
    ``running_var`` (D,) = 1 (assign new arrays or update them in place: both are kept).

    The cache: ``forward`` stores ``self.x_hat`` (N, D), ``self.inv_std`` (D,) = 1/√(σ² + ε)
    of the statistics it used, and ``self.batch_stats`` (True in training mode); ``backward``
    reads only these three and ``gamma`` (so it is graded on its own, with the cache set by
    the test).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features: expected an int >= 1, got {num_features!r}")
        if not eps > 0:
            raise ValueError(f"eps: expected a number > 0, got {eps!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum: expected a number in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, float(eps), float(momentum)
        self.gamma = Parameter(np.ones(num_features))
        self.beta = Parameter(np.zeros(num_features))
        self.register_buffer("running_mean", np.zeros(num_features))
        self.register_buffer("running_var", np.ones(num_features))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) -> y: (N, D). Training: needs N >= 2; updates the running estimates."""
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"x: expected shape (N, {self.num_features}), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if self.training and x.shape[0] < 2:
            raise ValueError(f"x: expected N >= 2 in training mode, got shape {x.shape}")
        raise NotImplementedError("exercise lab5.batchnorm_forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, D) -> dx: (N, D); adds dγ = Σ_n dout ⊙ x̂ and dβ = Σ_n dout into
        ``gamma.grad`` and ``beta.grad`` (``+=``).

        Training mode (μ and σ² depend on every x of the batch; means over the batch)::

            dx̂ = γ ⊙ dout,   dx = (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)) / √(σ² + ε)

        Evaluation mode (fixed statistics): dx = dx̂ / √(running_var + ε).
        """
        raise NotImplementedError("exercise lab5.batchnorm_backward")


class Dropout(Module):
    """Inverted dropout: in training each element is dropped (set to 0) with probability p and
    the kept ones are scaled by 1/(1 − p), so that E[out] = x::

        μ ~ Bernoulli(1 − p) element-wise,   out = x ⊙ μ / (1 − p),   dx = dout ⊙ μ / (1 − p)

    A new mask is drawn at every training-mode forward, from ``self.rng`` only. In ``eval()``
    the layer is the identity (out = x, dx = dout). p = 0 is the identity too.

    Args:
        p: drop probability in [0, 1) (PyTorch's meaning; the notes speak of the keep
            probability 1 − p).
        rng: Generator, seed or None: the layer's own source of masks.

    The cache: ``forward`` stores ``self.mask``, the boolean keep-mask μ of its call (``None``
    in eval mode or for p = 0); ``backward`` reads only ``self.mask`` and ``self.p`` (so it is
    graded on its own, with the mask set by the test).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p: expected a drop probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = np.random.default_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape S -> out: shape S (x is not modified)."""
        raise NotImplementedError("exercise lab5.dropout_forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: shape S -> dx = dout ⊙ μ / (1 − p) with the last forward's mask (dout in eval)."""
        raise NotImplementedError("exercise lab5.dropout_backward")


def build_net(
    sizes: Sequence[int],
    batch_norm: bool = False,
    dropout: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> Sequential:
    """The lab's MLP: per hidden layer ``Linear, [BatchNorm1d], ReLU, [Dropout]``, then a last
    ``Linear`` that outputs logits.

    For ``sizes = [D, H1, H2, C]`` with ``batch_norm=True`` and ``dropout=0.5``::

        Linear(D, H1), BatchNorm1d(H1), ReLU(), Dropout(0.5),
        Linear(H1, H2), BatchNorm1d(H2), ReLU(), Dropout(0.5), Linear(H2, C)

    ``Linear`` and ``ReLU`` come from ``dlcourse.nn``; ``BatchNorm1d`` and ``Dropout`` are
    yours. One generator ``g = np.random.default_rng(rng)`` is used for everything: every
    ``Linear(…, rng=g)`` in order, and every ``Dropout(dropout, rng=g)``.

    Args:
        sizes: layer widths ``[D, H1, ..., C]``, at least two.
        batch_norm: insert a ``BatchNorm1d`` after every hidden ``Linear``.
        dropout: drop probability of a ``Dropout`` after every hidden ReLU (0: none).
        rng: Generator, seed or None.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least [D, C], got {list(sizes)}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout: expected a drop probability in [0, 1), got {dropout!r}")
    raise NotImplementedError("exercise lab5.build_net")


def epochs_to_target(val_accuracy: Sequence[float], target: float = 0.97) -> int | None:
    """The first epoch (counted from 1) whose validation accuracy is at least ``target``;
    None if no epoch reaches it. E.g. ``epochs_to_target([0.9, 0.97, 0.96])`` is 2."""
    raise NotImplementedError("exercise lab5.epochs_to_target")
