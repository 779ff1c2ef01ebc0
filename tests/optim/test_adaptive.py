"""AdaGrad (alg. 5.2), RMSProp (alg. 5.3, 5.4) and AdaDelta: by hand and against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
from _optim_utils import (
    C,
    assert_same_trajectory,
    make_params,
    numpy_grads,
    problem,
    requires_torch,
    run_ours,
    run_torch,
    torch,
)

from dlcourse.nn import Parameter
from dlcourse.optim import AdaDelta, AdaGrad, RMSProp

G1, G2 = np.array([3.0, -0.01, 100.0, -7.0]), np.array([-1.0, 0.5, 2.0, 0.0])


def _two_steps(opt, p: Parameter) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for g in (G1, G2):
        opt.zero_grad()
        p.grad += g
        opt.step()
        out.append(p.data.copy())
    return out[0], out[1]


# ------------------------------------------------------------------------- by hand
def test_adagrad_two_steps_by_hand() -> None:
    lr, eps = 0.1, 1e-7
    p = Parameter(np.zeros(4))
    th1, th2 = _two_steps(AdaGrad([p], lr=lr, eps=eps), p)
    np.testing.assert_allclose(th1, -lr * G1 / (eps + np.abs(G1)), rtol=1e-14)
    # r = g1² + g2² after two steps (a sum, never forgetting)
    np.testing.assert_allclose(th2, th1 - lr * G2 / (eps + np.sqrt(G1**2 + G2**2)), rtol=1e-14)


def test_adagrad_first_step_is_lr_times_sign() -> None:
    p = Parameter(np.zeros(4))
    p.grad += G1
    AdaGrad([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign(G1), rtol=1e-14)


def test_rmsprop_two_steps_by_hand() -> None:
    lr, rho, eps = 0.01, 0.9, 1e-6
    p = Parameter(np.zeros(4))
    th1, th2 = _two_steps(RMSProp([p], lr=lr, rho=rho, eps=eps), p)
    r1 = (1 - rho) * G1**2
    np.testing.assert_allclose(th1, -lr * G1 / (eps + np.sqrt(r1)), rtol=1e-14)
    # the first step is α sign(g) / √(1 − ρ): about 3.16 α for ρ = 0.9
    np.testing.assert_allclose(th1, -lr * np.sign(G1) / np.sqrt(1 - rho), rtol=1e-3)
    r2 = rho * r1 + (1 - rho) * G2**2
    np.testing.assert_allclose(th2, th1 - lr * G2 / (eps + np.sqrt(r2)), rtol=1e-14)


def test_rmsprop_momentum_two_steps_by_hand() -> None:
    lr, rho, eps, mu = 0.01, 0.9, 1e-6, 0.5
    p = Parameter(np.zeros(4))
    th1, th2 = _two_steps(RMSProp([p], lr=lr, rho=rho, eps=eps, momentum=mu), p)
    r1 = (1 - rho) * G1**2
    v1 = -lr * G1 / (eps + np.sqrt(r1))            # alg. 5.4's velocity form, v_0 = 0
    r2 = rho * r1 + (1 - rho) * G2**2
    v2 = mu * v1 - lr * G2 / (eps + np.sqrt(r2))
    np.testing.assert_allclose(th1, v1, rtol=1e-14)
    np.testing.assert_allclose(th2, v1 + v2, rtol=1e-13)


def test_adadelta_two_steps_by_hand() -> None:
    rho, eps, lr = 0.9, 1e-6, 1.0
    p = Parameter(np.zeros(4))
    th1, th2 = _two_steps(AdaDelta([p], lr=lr, rho=rho, eps=eps), p)
    r1 = (1 - rho) * G1**2
    d1 = np.sqrt(eps) / np.sqrt(r1 + eps) * G1          # s = 0: √δ sets the first step
    s1 = (1 - rho) * d1**2
    r2 = rho * r1 + (1 - rho) * G2**2
    d2 = np.sqrt(s1 + eps) / np.sqrt(r2 + eps) * G2
    np.testing.assert_allclose(th1, -lr * d1, rtol=1e-14)
    np.testing.assert_allclose(th2, -lr * (d1 + d2), rtol=1e-13)
    # with g = 1 the first step is √δ / √(0.1 + δ) ≈ 0.00316
    assert th1[3] == pytest.approx(7.0 * 1e-3 / np.sqrt(0.1 * 49.0 + 1e-6), rel=1e-12)


# ------------------------------------------------------------------------- torch
@requires_torch
@pytest.mark.parametrize(("lr", "eps", "weight_decay"),
                         [(0.1, 1e-7, 0.0), (0.3, 1e-10, 0.05), (0.05, 1e-3, 0.2)])
def test_adagrad_matches_torch(lr: float, eps: float, weight_decay: float) -> None:
    ref = run_torch(lambda tp: torch.optim.Adagrad(tp, lr=lr, eps=eps,
                                                    weight_decay=weight_decay), steps=20)
    params = make_params()
    ours = run_ours(AdaGrad(params, lr=lr, eps=eps, weight_decay=weight_decay), params, 20)
    assert_same_trajectory(ours, ref)


@requires_torch
@pytest.mark.parametrize(
    ("rho", "eps", "momentum", "weight_decay"),
    [(0.9, 1e-6, 0.0, 0.0), (0.99, 1e-8, 0.0, 0.1), (0.9, 1e-6, 0.9, 0.0),
     (0.5, 1e-4, 0.6, 0.05)],
)
def test_rmsprop_matches_torch(rho: float, eps: float, momentum: float,
                               weight_decay: float) -> None:
    ref = run_torch(lambda tp: torch.optim.RMSprop(
        tp, lr=0.01, alpha=rho, eps=eps, momentum=momentum, weight_decay=weight_decay),
        steps=20)
    params = make_params()
    ours = run_ours(RMSProp(params, lr=0.01, rho=rho, eps=eps, momentum=momentum,
                            weight_decay=weight_decay), params, 20)
    assert_same_trajectory(ours, ref)


@requires_torch
@pytest.mark.parametrize(("lr", "rho", "eps", "weight_decay"),
                         [(1.0, 0.9, 1e-6, 0.0), (0.5, 0.95, 1e-4, 0.1), (2.0, 0.5, 1e-3, 0.0)])
def test_adadelta_matches_torch(lr: float, rho: float, eps: float, weight_decay: float) -> None:
    ref = run_torch(lambda tp: torch.optim.Adadelta(tp, lr=lr, rho=rho, eps=eps,
                                                     weight_decay=weight_decay), steps=20)
    params = make_params()
    ours = run_ours(AdaDelta(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay),
                    params, 20)
    assert_same_trajectory(ours, ref)


def test_defaults() -> None:
    ps = make_params()
    assert (AdaGrad(ps).lr, AdaGrad(ps).eps) == (0.01, 1e-7)
    r = RMSProp(ps)
    assert (r.lr, r.rho, r.eps, r.momentum, r.nesterov) == (0.01, 0.9, 1e-6, 0.0, False)
    a = AdaDelta(ps)
    assert (a.lr, a.rho, a.eps) == (1.0, 0.9, 1e-6)


# ------------------------------------------------------------------------- alg. 5.4
def _grad(theta: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    _, w, a = problem(seed)
    return [wp * (t - ap) - C * np.sin(t) for t, wp, ap in zip(theta, w, a, strict=True)]


def _nesterov_rmsprop_reference(steps: int, lr: float, rho: float, eps: float, mu: float,
                                wd: float) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
    """Algorithm 5.4 as written, with g taken at θ̂ (the box's θ is the notes' slip), δ + √r as
    in alg. 5.3: returns θ after each step and the interim points θ̂."""
    theta = problem()[0]
    v = [np.zeros_like(t) for t in theta]
    r = [np.zeros_like(t) for t in theta]
    thetas, interims = [], []
    for _ in range(steps):
        hat = [t + mu * vi for t, vi in zip(theta, v, strict=True)]        # θ̂ = θ + αv
        g = [gi + wd * h for gi, h in zip(_grad(hat), hat, strict=True)]   # g at θ̂
        r = [rho * ri + (1 - rho) * gi * gi for ri, gi in zip(r, g, strict=True)]
        v = [mu * vi - lr * gi / (eps + np.sqrt(ri)) for vi, gi, ri in zip(v, g, r, strict=True)]
        theta = [t + vi for t, vi in zip(theta, v, strict=True)]
        thetas.append(theta)
        interims.append(hat)
    return thetas, interims


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_nesterov_rmsprop_is_algorithm_5_4_with_the_interim_gradient(wd: float) -> None:
    lr, rho, eps, mu = 0.02, 0.9, 1e-6, 0.8
    ref_thetas, ref_interims = _nesterov_rmsprop_reference(20, lr, rho, eps, mu, wd)
    params = make_params()
    opt = RMSProp(params, lr=lr, rho=rho, eps=eps, momentum=mu, nesterov=True, weight_decay=wd)
    seen = []

    def closure() -> float:
        seen.append([p.data.copy() for p in params])
        numpy_grads(params)
        return 1.5

    ours = []
    for _ in range(20):
        assert opt.step(closure) == 1.5
        ours.append([p.data.copy() for p in params])
    assert_same_trajectory(seen, ref_interims, rtol=1e-11, atol=1e-12)
    assert_same_trajectory(ours, ref_thetas, rtol=1e-11, atol=1e-12)
    # the interim point really differs from θ (else this test would not tell 5.4 from momentum)
    assert not np.allclose(seen[5][0], ours[4][0])


def test_nesterov_rmsprop_differs_from_plain_momentum() -> None:
    runs = []
    for nesterov in (False, True):
        params = make_params()
        opt = RMSProp(params, lr=0.02, momentum=0.8, nesterov=nesterov)
        for _ in range(10):
            opt.step(lambda params=params: numpy_grads(params))
        runs.append(params[0].data.copy())
    assert np.abs(runs[0] - runs[1]).max() > 1e-3


def test_nesterov_rmsprop_needs_a_closure() -> None:
    params = make_params()
    numpy_grads(params)
    opt = RMSProp(params, momentum=0.9, nesterov=True)
    before = [p.data.copy() for p in params]
    with pytest.raises(ValueError, match=r"closure.*step\(closure\)"):
        opt.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(params, before, strict=True))


def test_nesterov_rmsprop_restores_theta_when_the_closure_raises() -> None:
    params = make_params()
    opt = RMSProp(params, lr=0.05, momentum=0.9, nesterov=True)
    opt.step(lambda: numpy_grads(params))
    before = [p.data.copy() for p in params]
    state = [{k: v.copy() for k, v in st.items()} for st in opt.state]

    def bad() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        opt.step(bad)
    assert opt.t == 1
    for p, b, st, st0 in zip(params, before, opt.state, state, strict=True):
        np.testing.assert_array_equal(p.data, b)
        for k in st0:
            np.testing.assert_array_equal(st[k], st0[k])


def test_nesterov_rmsprop_leaves_a_frozen_parameter_alone() -> None:
    params = make_params()
    params[1].requires_grad = False
    frozen = params[1].data.copy()
    opt = RMSProp(params, lr=0.05, momentum=0.9, nesterov=True)
    seen = []

    def closure() -> None:
        seen.append(params[1].data.copy())
        numpy_grads(params)

    for _ in range(3):
        opt.step(closure)
    for s in (*seen, params[1].data):
        np.testing.assert_array_equal(s, frozen)
    assert not np.any(opt.state[1]["b"]) and not np.any(opt.state[1]["r"])


# ------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("cls", "kwargs", "exc", "pattern"),
    [
        (AdaGrad, {"eps": -1e-7}, ValueError, "eps"),
        (AdaGrad, {"lr": -0.1}, ValueError, "lr"),
        (AdaGrad, {"weight_decay": "a"}, TypeError, "weight_decay"),
        (RMSProp, {"rho": 1.5}, ValueError, "rho"),
        (RMSProp, {"rho": None}, TypeError, "rho"),
        (RMSProp, {"eps": -1.0}, ValueError, "eps"),
        (RMSProp, {"momentum": -0.9}, ValueError, "momentum"),
        (RMSProp, {"nesterov": True}, ValueError, "nesterov.*momentum > 0"),
        (RMSProp, {"nesterov": 1, "momentum": 0.9}, TypeError, "nesterov"),
        (AdaDelta, {"rho": -0.1}, ValueError, "rho"),
        (AdaDelta, {"eps": 0.0}, ValueError, "eps"),
        (AdaDelta, {"lr": 0.0}, ValueError, "lr"),
    ],
)
def test_rejects_bad_hyperparameters(cls, kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        cls(make_params(), **kwargs)
