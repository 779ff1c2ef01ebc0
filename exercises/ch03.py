# GENERATED from solutions/ch03.py by `python -m dlcourse.grading.make_exercises`
# — edit solutions/, not this file.
# ruff: noqa: F401, F841
"""Chapter 3 (网络优化与正则化) exercises: gradient noise, learning rates, momentum, Adam, BN.

From the course notes: nndl exercises 7-1 (why the learning rate may grow with the batch
size: measure the mini-batch gradient's variance against B) and 7-7 (batch normalisation's
scale and shift as a reparameterisation), and exercises 1–7 of the textbook chapter's list
(trajectories, learning rates in 2-D, batch size, momentum, the initial learning rate, Adam as
RMSProp + momentum, dropout vs weight decay). The written answers are in ``solutions/ch03.md``
and in the book's page ``book/03_optimization/exercises.md``.

Fill in every function body that raises ``NotImplementedError("exercise <id>")``, then run
``dlcourse grade ch03`` (or ``dlcourse grade ch03.adam_step`` for a single exercise).

Conventions: a batch is stored as rows, ``X`` of shape ``(N, D)``. A quadratic objective is
written f(x) = ½ xᵀ A x with A symmetric positive definite, so ∇f(x) = A x and the Hessian is
A (the notes' f = 0.1 x₁² + 2 x₂² is A = diag(0.2, 4)). Nothing here may modify the caller's
arrays. While an exercise is graded, the package's answer to it (``dlcourse.optim.Adam``,
``dlcourse.optim.SGD``, ``dlcourse.nn.BatchNorm1d`` and its kernel) raises "implement this
yourself" when your code calls it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "per_sample_gradients",
    "minibatch_gradient_variance",
    "gd_quadratic",
    "max_stable_lr",
    "heavy_ball",
    "momentum_rate",
    "adam_step",
    "batch_norm_forward",
    "bn_identity_params",
]


def _float(name: str, a: object, ndim: int) -> np.ndarray:
    """``a`` as a float64 array of rank ``ndim`` (given; not an exercise)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    return arr


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator from a Generator, a seed or None (given; not an exercise)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# --------------------------------------------------------------------------- 7-1
def per_sample_gradients(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Gradient of each sample's loss ½ (xₙ·w − yₙ)² of linear regression with respect to w.

    Args:
        X: (N, D) inputs; y: (N,) targets; w: (D,) weights.

    Returns:
        (N, D) array: row n is ∇_w ½ (xₙ·w − yₙ)² = (xₙ·w − yₙ) xₙ. Their mean over the rows
        is the full-batch gradient.
    """
    X, y, w = _float("X", X, 2), _float("y", y, 1), _float("w", w, 1)
    raise NotImplementedError("exercise ch03.sample_gradients")


def minibatch_gradient_variance(
    G: np.ndarray,
    batch_size: int,
    trials: int = 1000,
    rng: np.random.Generator | int | None = None,
) -> float:
    """Measure the variance of the mini-batch gradient (exercise 7-1).

    The data set's per-sample gradients are the rows of ``G``; the full gradient is their mean
    ḡ. A mini-batch of B samples drawn **with replacement** (independently and uniformly)
    estimates it by g_B = the mean of its B rows. Draw ``trials`` such batches and return the
    mean of ‖g_B − ḡ‖² over them: an estimate of the total variance E‖g_B − ḡ‖², which the
    exercise predicts to be σ²/B with σ² = mean over n of ‖gₙ − ḡ‖².

    Args:
        G: (N, D) per-sample gradients.
        batch_size: B ≥ 1.
        trials: number of mini-batches drawn (≥ 1).
        rng: a Generator, a seed or None.

    Returns:
        The measured variance (a float).
    """
    G = _float("G", G, 2)
    rng = _rng(rng)
    raise NotImplementedError("exercise ch03.grad_variance")


# --------------------------------------------------------------------------- learning rates
def gd_quadratic(A: np.ndarray, x0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """Gradient descent x ← x − lr ∇f(x) on f(x) = ½ xᵀ A x (exercises 1 and 2).

    Args:
        A: (D, D) symmetric matrix; x0: (D,) start; lr: learning rate; steps: ≥ 0.

    Returns:
        The trajectory, shape (steps + 1, D): row 0 is x0, row t the point after t steps.
    """
    A, x0 = _float("A", A, 2), _float("x0", x0, 1)
    raise NotImplementedError("exercise ch03.gd_2d")


def max_stable_lr(A: np.ndarray, momentum: float = 0.0) -> float:
    """The largest learning rate for which (heavy-ball) gradient descent on f = ½ xᵀ A x
    converges from every start (the supremum: at exactly this value it no longer converges).

    Without momentum, along each eigenvector of A (eigenvalue λ) a step multiplies the
    coordinate by 1 − lr·λ, which shrinks iff 0 < lr·λ < 2. With momentum ρ ∈ [0, 1), the
    bound becomes lr·λ < 2(1 + ρ) (see :func:`momentum_rate`).

    Args:
        A: (D, D) symmetric positive definite; momentum: ρ in [0, 1).

    Returns:
        2(1 + ρ)/λ_max, a float.
    """
    A = _float("A", A, 2)
    raise NotImplementedError("exercise ch03.max_lr")


# --------------------------------------------------------------------------- momentum
def heavy_ball(
    A: np.ndarray, x0: np.ndarray, lr: float, momentum: float, steps: int
) -> np.ndarray:
    """Momentum (heavy-ball) gradient descent on f = ½ xᵀ A x (exercise 4; Eq. (5.40)).

    Δx_t = ρ Δx_{t−1} − lr ∇f(x_{t−1}), x_t = x_{t−1} + Δx_t, with Δx_0 = 0.

    Args:
        A: (D, D) symmetric; x0: (D,); lr: learning rate; momentum: ρ; steps: ≥ 0.

    Returns:
        The trajectory, shape (steps + 1, D), row 0 is x0.
    """
    A, x0 = _float("A", A, 2), _float("x0", x0, 1)
    raise NotImplementedError("exercise ch03.heavy_ball")


def momentum_rate(lam: float, lr: float, momentum: float) -> float:
    """Asymptotic contraction factor per step of heavy-ball momentum on f(x) = ½ λ x².

    The pair (x_t, x_{t−1}) evolves linearly: x_{t+1} = (1 + ρ − lr·λ) x_t − ρ x_{t−1}.
    The factor is the spectral radius of that 2 × 2 iteration matrix, i.e. the largest
    modulus of the roots of z² − (1 + ρ − lr·λ) z + ρ (complex roots have modulus √ρ). The
    iteration converges iff it is < 1. With ρ = 0 it is |1 − lr·λ|.

    Args:
        lam: curvature λ > 0; lr: learning rate; momentum: ρ in [0, 1).

    Returns:
        The spectral radius, a float ≥ 0.
    """
    raise NotImplementedError("exercise ch03.momentum_rate")


# --------------------------------------------------------------------------- exercise 6
def adam_step(
    theta: np.ndarray,
    grad: np.ndarray,
    M: np.ndarray,
    G: np.ndarray,
    t: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of Adam (algorithm 5.5): momentum's first moment, RMSProp's second moment.

    M_t = β₁ M_{t−1} + (1 − β₁) g  (momentum, with dampening)
    G_t = β₂ G_{t−1} + (1 − β₂) g ⊙ g  (RMSProp)
    M̂_t = M_t / (1 − β₁ᵗ),  Ĝ_t = G_t / (1 − β₂ᵗ)  (bias correction)
    θ_t = θ_{t−1} − lr · M̂_t / (√Ĝ_t + ε)  (ε outside the root, as Kingma & Ba and PyTorch)

    Args:
        theta, grad, M, G: arrays of one shape (the parameter, its gradient at θ_{t−1}, the
            moments after step t − 1; zeros before the first step).
        t: the number of this step, 1 for the first.
        lr, beta1, beta2, eps: α, β₁, β₂, ε.

    Returns:
        ``(theta, M, G)`` after the step, new arrays.
    """
    theta, grad = np.asarray(theta, dtype=np.float64), np.asarray(grad, dtype=np.float64)
    M, G = np.asarray(M, dtype=np.float64), np.asarray(G, dtype=np.float64)
    raise NotImplementedError("exercise ch03.adam_step")


# --------------------------------------------------------------------------- 7-7
def batch_norm_forward(
    z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Batch normalisation in training mode (Eqs. (7.55)–(7.56)).

    Per feature d, over the N samples: μ = mean z, σ² = mean (z − μ)² (biased, 1/N),
    ẑ = (z − μ)/√(σ² + ε) ⊙ γ + β.

    Args:
        z: (N, D) net inputs; gamma, beta: (D,); eps: ε > 0.

    Returns:
        (N, D), the normalised, scaled and shifted z.
    """
    z = _float("z", z, 2)
    raise NotImplementedError("exercise ch03.bn_forward")


def bn_identity_params(z: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """The γ and β for which batch normalisation of the batch z returns z itself (7-7).

    Args:
        z: (N, D) net inputs; eps: the ε of the normalisation.

    Returns:
        ``(gamma, beta)``, each (D,): γ = √(σ² + ε), β = μ (the notes' γ = √σ² drops ε).
    """
    z = _float("z", z, 2)
    raise NotImplementedError("exercise ch03.bn_reparam")
