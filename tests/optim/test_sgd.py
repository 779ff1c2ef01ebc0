"""SGD (alg. 5.1) with momentum (5.40), dampening and Nesterov: by hand and against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
from _optim_utils import (
    assert_same_trajectory,
    make_params,
    requires_torch,
    run_ours,
    run_torch,
    torch,
)

from dlcourse.nn import Parameter
from dlcourse.optim import SGD


def _steps(opt: SGD, p: Parameter, grads: list[float]) -> list[float]:
    """θ after each step, with the given (constant-per-step) gradients."""
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad += g
        opt.step()
        out.append(float(p.data[0]))
    return out


def test_heavy_ball_moves_by_minus_lr_then_minus_lr_times_one_plus_rho() -> None:
    lr, rho = 0.1, 0.9
    p = Parameter(np.zeros(1))
    thetas = _steps(SGD([p], lr=lr, momentum=rho), p, [1.0, 1.0, 1.0])
    moves = np.diff([0.0, *thetas])
    # (5.40): Δθ_1 = −α, Δθ_2 = ρΔθ_1 − α = −α(1 + ρ), Δθ_3 = −α(1 + ρ + ρ²)
    np.testing.assert_allclose(moves, [-lr, -lr * (1 + rho), -lr * (1 + rho + rho**2)],
                               rtol=1e-14)


def test_heavy_ball_satisfies_5_40_for_any_gradients() -> None:
    rng = np.random.default_rng(3)
    lr, rho = 0.05, 0.7
    grads = rng.standard_normal(12)
    p = Parameter(np.array([0.4]))
    thetas = _steps(SGD([p], lr=lr, momentum=rho), p, list(grads))
    moves = np.diff([0.4, *thetas])
    # Δθ_t = −α Σ_τ ρ^{t−τ} g_τ
    expected = [-lr * sum(rho ** (t - k) * grads[k] for k in range(t + 1)) for t in range(12)]
    np.testing.assert_allclose(moves, expected, rtol=1e-12)


def test_dampening_equal_to_momentum_is_a_moving_average_after_the_first_step() -> None:
    beta, lr = 0.8, 0.1
    g = [2.0, -1.0, 0.5]
    p = Parameter(np.zeros(1))
    thetas = _steps(SGD([p], lr=lr, momentum=beta, dampening=beta), p, g)
    # PyTorch's buffer: v_1 = g_1 (undamped), then v <- β v + (1 − β) g
    v1 = g[0]
    v2 = beta * v1 + (1 - beta) * g[1]
    v3 = beta * v2 + (1 - beta) * g[2]
    np.testing.assert_allclose(np.diff([0.0, *thetas]), [-lr * v1, -lr * v2, -lr * v3],
                               rtol=1e-14)


def test_nesterov_two_steps_by_hand() -> None:
    lr, mu = 0.1, 0.9
    p = Parameter(np.zeros(1))
    thetas = _steps(SGD([p], lr=lr, momentum=mu, nesterov=True), p, [1.0, 1.0])
    # v_1 = 1, d_1 = g + μ v_1 = 1.9; v_2 = μ + 1 = 1.9, d_2 = 1 + μ · 1.9 = 2.71
    np.testing.assert_allclose(np.diff([0.0, *thetas]), [-0.19, -0.271], rtol=1e-14)


def test_no_momentum_is_algorithm_5_1() -> None:
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad[:] = [0.5, 0.5, -1.0]
    SGD([p], lr=0.1, weight_decay=0.2).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (0.5 + 0.2), -2.0 - 0.1 * (0.5 - 0.4),
                                        3.0 - 0.1 * (-1.0 + 0.6)], rtol=0, atol=1e-15)


@requires_torch
@pytest.mark.parametrize(
    ("momentum", "dampening", "nesterov", "weight_decay"),
    [
        (0.0, 0.0, False, 0.0),
        (0.0, 0.0, False, 0.05),
        (0.9, 0.0, False, 0.0),
        (0.9, 0.0, False, 0.1),
        (0.5, 0.5, False, 0.0),
        (0.8, 0.3, False, 0.02),
        (0.9, 0.0, True, 0.0),
        (0.7, 0.0, True, 0.05),
    ],
)
def test_matches_torch_step_for_step(
    momentum: float, dampening: float, nesterov: bool, weight_decay: float
) -> None:
    kw = dict(lr=0.05, momentum=momentum, dampening=dampening, nesterov=nesterov,
              weight_decay=weight_decay)
    ref = run_torch(lambda tp: torch.optim.SGD(tp, **kw), steps=20)
    params = make_params()
    ours = run_ours(SGD(params, **kw), params, steps=20)
    assert_same_trajectory(ours, ref)


@requires_torch
def test_frozen_parameter_matches_torch_and_gets_no_buffer() -> None:
    kw = dict(lr=0.05, momentum=0.9, weight_decay=0.1)
    ref = run_torch(lambda tp: torch.optim.SGD(tp, **kw), steps=5, frozen=(1,))
    params = make_params()
    params[1].requires_grad = False
    opt = SGD(params, **kw)
    ours = run_ours(opt, params, steps=5)
    assert_same_trajectory(ours, ref)
    assert "v" not in opt.state[1] and "v" in opt.state[0]


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"momentum": "high"}, TypeError, "momentum"),
        ({"dampening": 1.5}, ValueError, "dampening"),
        ({"dampening": -0.5}, ValueError, "dampening"),
        ({"nesterov": "yes"}, TypeError, "nesterov"),
        ({"nesterov": True}, ValueError, "nesterov.*momentum > 0"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, "dampening = 0"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"lr": 0.0}, ValueError, "lr"),
    ],
)
def test_rejects_bad_hyperparameters(kwargs: dict, exc: type, pattern: str) -> None:
    kwargs = {"lr": 0.1, **kwargs}
    with pytest.raises(exc, match=pattern):
        SGD(make_params(), **kwargs)
