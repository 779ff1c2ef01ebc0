"""Graded tests of chapter 3's exercises (``solutions/ch03.py`` / ``exercises/ch03.py``).

Oracles: closed forms (the σ²/B law, (1 − lr·λ)ᵗ along the eigenvectors of a quadratic built
from known eigenvalues, the roots of the momentum recurrence's characteristic polynomial), the
numbers the notes print for experiment 5.6.1, finite differences (``dlcourse.gradcheck``), and
the package's own ``dlcourse.optim.SGD``, ``dlcourse.optim.Adam`` and ``dlcourse.nn.BatchNorm1d``,
which the student's module may not call while the exercise they answer is graded.

The one random measurement (7-1) is checked against the law with a tolerance proven over many
seeds: with 4000 mini-batches per batch size, the reference's relative deviation from σ²/B on
this problem has a standard deviation of 1.4–2.1 % and stayed below 6.6 % over 1000 seeds; the
test allows 12 % (about 6 standard deviations), while the typical mistakes are off by ≥ 49 %.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from dlcourse import gradcheck, nn
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_equal, assert_grad, expect_array
from dlcourse.nn import Parameter
from dlcourse.optim import SGD, Adam

exercise = pytest.mark.exercise

BN = ["dlcourse.nn.BatchNorm1d", "dlcourse.nn.norm.norm_forward"]


@pytest.fixture
def ch03() -> ModuleType:
    return load_impl("ch03")


def regression_problem(seed: int = 71):
    """40 samples of a noisy 3-D linear regression and its per-sample gradients at w = 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.5 * rng.normal(size=40)
    w = np.zeros(3)
    G = (X @ w - y)[:, None] * X  # ∇_w ½ (x·w − y)², closed form
    return X, y, w, G


def spd(eigenvalues, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A symmetric matrix with the given eigenvalues and a random (non-axis) eigenbasis Q."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T, Q


# --------------------------------------------------------------------------- 7-1
@exercise("ch03.sample_gradients", points=1)
def test_per_sample_gradients(ch03: ModuleType) -> None:
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(6, 4)), rng.normal(size=6), rng.normal(size=4)
    snap = Snapshot(X=X, y=y, w=w)
    G = expect_array(ch03.per_sample_gradients(X, y, w), "per_sample_gradients", (6, 4))
    snap.assert_unchanged("per_sample_gradients")
    for n in range(6):
        num = gradcheck.numerical_gradient(lambda v, n=n: 0.5 * (X[n] @ v - y[n]) ** 2, w)
        assert_grad(G[n], num, f"per_sample_gradients: row {n}")
    full = gradcheck.numerical_gradient(lambda v: np.mean(0.5 * (X @ v - y) ** 2), w)
    assert_grad(G.mean(axis=0), full, "per_sample_gradients: mean of the rows (full gradient)")


@exercise("ch03.grad_variance", points=3)
def test_gradient_variance_follows_sigma2_over_B(ch03: ModuleType) -> None:
    *_, G = regression_problem()
    sigma2 = float(np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1)))
    snap = Snapshot(G=G)
    for B in (1, 2, 5, 10, 20, 40):
        got = ch03.minibatch_gradient_variance(G, B, trials=4000, rng=1000 + B)
        snap.assert_unchanged("minibatch_gradient_variance")
        got = float(expect_array(got, f"minibatch_gradient_variance(B={B})", ()))
        want = sigma2 / B
        assert abs(got / want - 1) < 0.12, (
            f"minibatch_gradient_variance(B={B}, trials=4000): expected about σ²/B = "
            f"{want:.4g} (within 12 %), got {got:.4g} (batches drawn with replacement; "
            f"the total variance E‖g_B − ḡ‖², summed over the coordinates)"
        )


@exercise("ch03.grad_variance", points=1)
def test_gradient_variance_exact_cases(ch03: ModuleType) -> None:
    # two opposite rows: every single-sample gradient is at distance ‖a‖ from the mean 0
    G = np.array([[3.0, -4.0], [-3.0, 4.0]])
    got = ch03.minibatch_gradient_variance(G, 1, trials=50, rng=0)
    assert_close(got, 25.0, "minibatch_gradient_variance of rows ±(3, −4) with B = 1",
                 hint="‖g_B − ḡ‖² = 25 for every draw")
    same = np.tile([1.0, 2.0, 3.0], (7, 1))
    got = ch03.minibatch_gradient_variance(same, 3, trials=20, rng=1)
    assert_close(got, 0.0, "minibatch_gradient_variance of identical rows", atol=1e-20)
    # one mini-batch of one sample: a measurement, so one of the values ‖g_n − ḡ‖²
    *_, G = regression_problem(5)
    values = np.sum((G - G.mean(axis=0)) ** 2, axis=1)
    for seed in range(3):
        got = float(expect_array(ch03.minibatch_gradient_variance(G, 1, trials=1, rng=seed),
                                 "minibatch_gradient_variance(trials=1)", ()))
        assert np.isclose(values, got, rtol=1e-9).any(), (
            f"minibatch_gradient_variance(B=1, trials=1): expected ‖g_n − ḡ‖² of the one "
            f"sample drawn, got {got:.6g}, which is no sample's value (measure, don't use σ²/B)"
        )
    a = ch03.minibatch_gradient_variance(G, 4, trials=30, rng=np.random.default_rng(9))
    b = ch03.minibatch_gradient_variance(G, 4, trials=30, rng=np.random.default_rng(9))
    assert_equal(float(a) == float(b), True, "minibatch_gradient_variance: same rng, same value")


# --------------------------------------------------------------------------- learning rates
@exercise("ch03.gd_2d", points=1)
def test_gd_quadratic_reproduces_the_notes(ch03: ModuleType) -> None:
    x0 = np.array([-5.0, -2.0])
    # experiment 5.6.1: f = x1² + 2 x2² (A = diag(2, 4)) and f = 0.1 x1² + 2 x2²
    runs = [((2.0, 4.0), 0.1, (-0.057646, -0.000073)),
            ((0.2, 4.0), 0.4, (-0.943467, -0.000073)),
            ((0.2, 4.0), 0.6, (-0.387814, -1673.365109))]
    for diag, lr, printed in runs:
        A = np.diag(diag)
        snap = Snapshot(A=A, x0=x0)
        path = expect_array(ch03.gd_quadratic(A, x0, lr, 20), f"gd_quadratic(lr={lr})", (21, 2))
        snap.assert_unchanged("gd_quadratic")
        assert_close(path[0], x0, f"gd_quadratic(lr={lr}): row 0 (the start)")
        assert_close(path[-1], printed, f"gd_quadratic A = diag{diag}, lr {lr}: epoch 20",
                     rtol=0, atol=6e-7, hint="the notes' printed x1, x2 (6 decimals)")


@exercise("ch03.gd_2d", points=1)
def test_gd_quadratic_closed_form(ch03: ModuleType) -> None:
    lams = np.array([0.5, 3.0, 7.0])
    A, Q = spd(lams, 1)
    x0 = np.array([1.0, -2.0, 0.5])
    for lr in (0.05, 0.2, 0.3):
        path = expect_array(ch03.gd_quadratic(A, x0, lr, 12), f"gd_quadratic(lr={lr})", (13, 3))
        t = np.arange(13)[:, None]
        want = ((1 - lr * lams) ** t * (Q.T @ x0)) @ Q.T  # x_t = Q (1 − lr Λ)ᵗ Qᵀ x0
        assert_close(path, want, f"gd_quadratic(lr={lr}) on ½ xᵀAx", rtol=1e-9, atol=1e-12,
                     hint="∇f(x) = A x for f = ½ xᵀ A x")
    assert_close(ch03.gd_quadratic(A, x0, 0.1, 0), x0[None], "gd_quadratic with 0 steps")


@exercise("ch03.max_lr", points=2)
def test_max_stable_lr(ch03: ModuleType) -> None:
    assert_close(ch03.max_stable_lr(np.diag([0.2, 4.0])), 0.5,
                 "max_stable_lr for f = 0.1 x1² + 2 x2²", hint="the notes' lr 0.6 diverges")
    for seed, lams in enumerate(([0.3, 2.0], [1.0, 1.5, 6.0], [0.01, 0.02, 0.05, 0.1])):
        A, _ = spd(lams, seed + 10)
        snap = Snapshot(A=A)
        for rho in (0.0, 0.5, 0.9):
            got = ch03.max_stable_lr(A, momentum=rho)
            snap.assert_unchanged("max_stable_lr")
            want = 2 * (1 + rho) / max(lams)
            assert_close(got, want, f"max_stable_lr (eigenvalues {lams}, momentum {rho})",
                         rtol=1e-9, hint="2(1 + ρ)/λ_max; A is not diagonal here")
    # the bound is sharp: just below it converges, just above it diverges
    A, _ = spd([0.5, 4.0], 3)
    lr = float(ch03.max_stable_lr(A))
    x = {0.98: np.ones(2), 1.02: np.ones(2)}
    for k in x:
        for _ in range(400):
            x[k] = x[k] - k * lr * (A @ x[k])
    assert np.linalg.norm(x[0.98]) < 1e-2 < 1e2 < np.linalg.norm(x[1.02]), (
        f"max_stable_lr = {lr:.4g}: 0.98× it must converge and 1.02× it diverge"
    )


# --------------------------------------------------------------------------- momentum
@exercise("ch03.heavy_ball", points=2, forbid=["dlcourse.optim.SGD"])
def test_heavy_ball(ch03: ModuleType) -> None:
    A, x0 = np.diag([0.2, 4.0]), np.array([-5.0, -2.0])
    printed = {0.4: (-0.062843, 0.001202), 0.6: (0.007188, 0.002553)}  # notes, γ = 0.5
    for lr, want in printed.items():
        path = expect_array(ch03.heavy_ball(A, x0, lr, 0.5, 20), f"heavy_ball(lr={lr})", (21, 2))
        assert_close(path[-1], want, f"heavy_ball lr {lr}, momentum 0.5: epoch 20",
                     rtol=0, atol=6e-7, hint="the notes' printed x1, x2")
    A, _ = spd([0.5, 2.0, 5.0], 4)
    x0 = np.array([0.3, -1.0, 2.0])
    for lr, rho in ((0.1, 0.0), (0.2, 0.5), (0.05, 0.9)):
        snap = Snapshot(A=A, x0=x0)
        path = expect_array(ch03.heavy_ball(A, x0, lr, rho, 15), "heavy_ball", (16, 3))
        snap.assert_unchanged("heavy_ball")
        p = Parameter(x0.copy())
        opt = SGD([p], lr=lr, momentum=rho)  # PyTorch's form: v = ρv + g, x −= lr v
        want = [x0.copy()]
        for _ in range(15):
            p.grad[...] = A @ p.data
            opt.step()
            want.append(p.data.copy())
        assert_close(path, np.array(want), f"heavy_ball(lr={lr}, momentum={rho})",
                     rtol=1e-10, atol=1e-12, hint="Δx = ρ Δx − lr ∇f(x), x += Δx")


def spectral_radius(lam: float, lr: float, rho: float) -> float:
    """max |z| over the roots of z² − b z + ρ, b = 1 + ρ − lr λ (closed form)."""
    b = 1 + rho - lr * lam
    disc = b * b - 4 * rho
    if disc < 0:
        return float(np.sqrt(rho))
    return float(max(abs(b + np.sqrt(disc)), abs(b - np.sqrt(disc))) / 2)


@exercise("ch03.momentum_rate", points=2)
def test_momentum_rate(ch03: ModuleType) -> None:
    cases = [(4.0, 0.6, 0.0), (4.0, 0.6, 0.5), (0.2, 0.4, 0.5), (1.0, 0.1, 0.9),
             (1.0, 3.9, 0.9), (2.0, 0.5, 0.0), (1.0, 1.0, 0.25), (10.0, 0.01, 0.3)]
    for lam, lr, rho in cases:
        got = ch03.momentum_rate(lam, lr, rho)
        assert_close(got, spectral_radius(lam, lr, rho),
                     f"momentum_rate(lam={lam}, lr={lr}, momentum={rho})", rtol=1e-9,
                     hint="the largest |root| of z² − (1 + ρ − lr·λ) z + ρ")
    # the notes' run lr = 0.6 diverges without momentum along x2 (λ = 4) and converges with 0.5
    assert float(ch03.momentum_rate(4.0, 0.6, 0.0)) > 1 > float(ch03.momentum_rate(4.0, 0.6, 0.5))


# --------------------------------------------------------------------------- Adam
def adam_oracle(theta0, grads, **kw):
    p = Parameter(np.array(theta0, dtype=np.float64))
    opt = Adam([p], **kw)
    out = []
    for g in grads:
        p.grad[...] = g
        opt.step()
        out.append((p.data.copy(), opt.state[0]["M"].copy(), opt.state[0]["G"].copy()))
    return out


@exercise("ch03.adam_step", points=3, forbid=["dlcourse.optim.Adam"])
def test_adam_step_matches_dlcourse_adam(ch03: ModuleType) -> None:
    rng = np.random.default_rng(6)
    settings = [dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8),
                dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
                dict(lr=0.1, betas=(0.0, 0.9), eps=1e-6)]
    for kw in settings:
        theta0 = rng.normal(size=(3, 2))
        grads = 1e-3 * rng.normal(size=(12, 3, 2))  # small: ε inside or outside the root differ
        want = adam_oracle(theta0, grads, **kw)
        theta, M, G = theta0.copy(), np.zeros((3, 2)), np.zeros((3, 2))
        b1, b2 = kw["betas"]
        for t, g in enumerate(grads, start=1):
            snap = Snapshot(theta=theta, grad=g, M=M, G=G)
            out = ch03.adam_step(theta, g, M, G, t, lr=kw["lr"], beta1=b1, beta2=b2,
                                 eps=kw["eps"])
            snap.assert_unchanged("adam_step")
            if not isinstance(out, tuple) or len(out) != 3:
                raise AssertionError(f"adam_step: expected a tuple (theta, M, G), got {out!r}")
            theta, M, G = (expect_array(a, "adam_step", (3, 2)) for a in out)
            for name, got, ref in zip(("M", "G", "theta"), (M, G, theta),
                                      (want[t - 1][1], want[t - 1][2], want[t - 1][0]),
                                      strict=True):
                assert_close(got, ref, f"adam_step {kw}: {name} after step {t}", rtol=1e-10,
                             atol=1e-15, hint="bias-correct with the step number t; ε outside √")


@exercise("ch03.adam_step", points=1, forbid=["dlcourse.optim.Adam"])
def test_adam_first_step_is_lr_times_sign(ch03: ModuleType) -> None:
    g = np.array([3.0, -0.01, 250.0, -7.0])
    theta, M, G = ch03.adam_step(np.zeros(4), g, np.zeros(4), np.zeros(4), 1, lr=0.01)
    assert_close(theta, -0.01 * np.sign(g), "adam_step: the first step", rtol=1e-5,
                 hint="M̂ = g and Ĝ = g² after one step: Δθ ≈ −lr·sign(g)")


# --------------------------------------------------------------------------- 7-7
def bn_oracle(z, gamma, beta, eps):
    bn = nn.BatchNorm1d(z.shape[1], eps=eps)
    bn.gamma.data[...] = gamma
    bn.beta.data[...] = beta
    bn.train()
    with nn.no_grad():
        return bn(z)


@exercise("ch03.bn_forward", points=2, forbid=BN)
def test_batch_norm_forward(ch03: ModuleType) -> None:
    rng = np.random.default_rng(7)
    for N, D, eps in ((8, 3, 1e-5), (5, 4, 0.1), (2, 2, 1e-3)):
        z = 3.0 + 0.2 * rng.normal(size=(N, D)) * rng.uniform(0.05, 5.0, size=D)
        gamma, beta = rng.normal(size=D), rng.normal(size=D)
        snap = Snapshot(z=z, gamma=gamma, beta=beta)
        got = ch03.batch_norm_forward(z, gamma, beta, eps)
        snap.assert_unchanged("batch_norm_forward")
        assert_close(got, bn_oracle(z, gamma, beta, eps), f"batch_norm_forward (N={N}, eps={eps})",
                     rtol=1e-9, atol=1e-12,
                     hint="statistics per feature over the batch; the biased variance (1/N)")


@exercise("ch03.bn_reparam", points=2)
def test_bn_identity_params_restore_the_input(ch03: ModuleType) -> None:
    rng = np.random.default_rng(8)
    N, eps = 16, 1e-5
    u = rng.normal(size=(N, 3))
    u = (u - u.mean(axis=0)) / u.std(axis=0)  # exactly mean 0, variance 1 per column
    mu, sigma = np.array([2.0, -1.0, 0.5]), np.array([1.5, 0.01, 0.2])  # σ² = 1e-4 ~ ε
    z = mu + sigma * u
    snap = Snapshot(z=z)
    out = ch03.bn_identity_params(z, eps)
    snap.assert_unchanged("bn_identity_params")
    if not isinstance(out, tuple) or len(out) != 2:
        raise AssertionError(f"bn_identity_params: expected a tuple (gamma, beta), got {out!r}")
    gamma = expect_array(out[0], "bn_identity_params: gamma", (3,))
    beta = expect_array(out[1], "bn_identity_params: beta", (3,))
    assert_close(gamma, np.sqrt(sigma**2 + eps), "bn_identity_params: gamma", rtol=1e-9,
                 hint="γ = √(σ_B² + ε), with the biased variance; the notes drop ε")
    assert_close(beta, mu, "bn_identity_params: beta", rtol=1e-9, atol=1e-12)
    assert_close(bn_oracle(z, gamma, beta, eps), z, "BatchNorm1d with your γ, β on z",
                 rtol=1e-9, atol=1e-12, hint="it must give back z itself")
