"""Adam (alg. 5.5): by hand and against torch.optim.Adam."""

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
from dlcourse.optim import Adam


def test_first_step_moves_each_weight_by_lr_times_sign() -> None:
    # After one step M̂ = g and Ĝ = g², so Δθ = −α g / (|g| + ε) ≈ −α sign(g).
    g = np.array([3.0, -0.01, 100.0, -7.0])
    p = Parameter(np.zeros(4))
    p.grad[:] = g
    Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign(g), rtol=1e-12)
    q = Parameter(np.zeros(4))
    q.grad[:] = g
    Adam([q], lr=0.01).step()                        # default ε = 1e-8: still ≈ α sign(g)
    np.testing.assert_allclose(q.data, -0.01 * np.sign(g), rtol=1e-5)


def test_two_steps_by_hand() -> None:
    b1, b2, lr, eps = 0.9, 0.999, 0.1, 1e-8
    g1, g2 = 2.0, -1.0
    M = (1 - b1) * g1
    G = (1 - b2) * g1**2
    theta = 1.0 - lr * (M / (1 - b1)) / (np.sqrt(G / (1 - b2)) + eps)
    M = b1 * M + (1 - b1) * g2
    G = b2 * G + (1 - b2) * g2**2
    theta -= lr * (M / (1 - b1**2)) / (np.sqrt(G / (1 - b2**2)) + eps)
    p = Parameter(np.array([1.0]))
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    for g in (g1, g2):
        opt.zero_grad()
        p.grad += g
        opt.step()
    np.testing.assert_allclose(p.data, [theta], rtol=1e-14)


def test_eps_sits_outside_the_square_root() -> None:
    # one step with g = 1e-3 and ε = 1e-6: α g/(|g| + ε), not α g/√(g² + ε) (alg. 5.5's box)
    p = Parameter(np.zeros(1))
    p.grad[:] = 1e-3
    Adam([p], lr=1.0, eps=1e-6).step()
    assert p.data[0] == pytest.approx(-1e-3 / (1e-3 + 1e-6), rel=1e-12)
    assert abs(p.data[0] + 1e-3 / np.sqrt(1e-6 + 1e-6)) > 0.2


@requires_torch
@pytest.mark.parametrize(
    ("betas", "eps", "weight_decay"),
    [((0.9, 0.999), 1e-8, 0.0), ((0.8, 0.99), 1e-6, 0.01), ((0.0, 0.5), 1e-3, 0.1)],
)
def test_matches_torch_step_for_step(betas: tuple[float, float], eps: float,
                                     weight_decay: float) -> None:
    kw = dict(lr=0.05, betas=betas, eps=eps, weight_decay=weight_decay)
    ref = run_torch(lambda tp: torch.optim.Adam(tp, **kw), steps=25)
    params = make_params()
    assert_same_trajectory(run_ours(Adam(params, **kw), params, 25), ref)


@requires_torch
def test_frozen_parameter_matches_torch() -> None:
    ref = run_torch(lambda tp: torch.optim.Adam(tp, lr=0.05, weight_decay=0.1), steps=6,
                    frozen=(0, 2))
    params = make_params()
    params[0].requires_grad = False
    params[2].requires_grad = False
    assert_same_trajectory(run_ours(Adam(params, lr=0.05, weight_decay=0.1), params, 6), ref)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": -1e-3}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay"),
        ({"betas": (1.0, 0.999)}, ValueError, r"betas\[0\]"),
        ({"betas": (0.9, -0.1)}, ValueError, r"betas\[1\]"),
        ({"betas": 0.9}, TypeError, "betas"),
        ({"betas": (0.9, 0.99, 0.9)}, TypeError, "betas"),
        ({"eps": -1.0}, ValueError, "eps"),
    ],
)
def test_rejects_bad_hyperparameters(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        Adam(make_params(), **kwargs)
