"""Tests for dlcourse/optim.py: SGD and Adam against the notes' formulas and torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.nn import Parameter
from dlcourse.optim import SGD, Adam, Optimizer

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def make_params(seed: int = 0, dtype: type = np.float64) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def grad_sequence(steps: int, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]


def run_ours(opt: Optimizer, params: list[Parameter], grads: list[list[np.ndarray]]) -> None:
    for step_grads in grads:
        opt.zero_grad()
        for p, g in zip(params, step_grads, strict=True):
            p.grad += g.astype(p.grad.dtype)
        opt.step()


def run_torch(
    make_opt, params: list[Parameter], grads: list[list[np.ndarray]]
) -> list[np.ndarray]:
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    opt = make_opt(tparams)
    for step_grads in grads:
        opt.zero_grad()
        for tp, g in zip(tparams, step_grads, strict=True):
            tp.grad = torch.tensor(g)
        opt.step()
    return [tp.detach().numpy() for tp in tparams]


# ------------------------------------------------------------------------- SGD
def test_sgd_one_step_matches_algorithm_5_1() -> None:
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad[:] = [0.5, 0.5, -1.0]
    SGD([p], lr=0.1, weight_decay=0.2).step()
    # W <- W - α (g + λ W)
    expected = np.array([1.0, -2.0, 3.0]) - 0.1 * (
        np.array([0.5, 0.5, -1.0]) + 0.2 * np.array([1.0, -2.0, 3.0])
    )
    np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-15)


@requires_torch
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_sgd_matches_torch(weight_decay: float) -> None:
    params = make_params()
    grads = grad_sequence(10)
    expected = run_torch(
        lambda tp: torch.optim.SGD(tp, lr=0.07, weight_decay=weight_decay), params, grads
    )
    run_ours(SGD(params, lr=0.07, weight_decay=weight_decay), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------- Adam
def test_adam_first_step_moves_each_weight_by_lr() -> None:
    # After one step M̂ = g and Ĝ = g², so Δθ = −α g / (|g| + ε) ≈ −α sign(g).
    p = Parameter(np.zeros(4))
    p.grad[:] = [3.0, -0.01, 100.0, -7.0]
    Adam([p], lr=0.01, eps=0.0).step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign([3.0, -0.01, 100.0, -7.0]), rtol=1e-12)


def test_adam_two_steps_by_hand() -> None:
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


@requires_torch
@pytest.mark.parametrize(
    ("betas", "eps", "weight_decay"),
    [((0.9, 0.999), 1e-8, 0.0), ((0.8, 0.99), 1e-6, 0.01), ((0.0, 0.5), 1e-3, 0.1)],
)
def test_adam_matches_torch(betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    params = make_params()
    grads = grad_sequence(25)
    expected = run_torch(
        lambda tp: torch.optim.Adam(
            tp, lr=0.01, betas=betas, eps=eps, weight_decay=weight_decay
        ),
        params,
        grads,
    )
    run_ours(Adam(params, lr=0.01, betas=betas, eps=eps, weight_decay=weight_decay), params, grads)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------- shared contract
@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, weight_decay=0.01), Adam])
def test_float32_stays_float32_and_updates_in_place(make) -> None:
    params = make_params(dtype=np.float32)
    arrays = [p.data for p in params]
    opt = make(params)
    run_ours(opt, params, grad_sequence(3))
    for p, a in zip(params, arrays, strict=True):
        assert p.data is a
        assert p.data.dtype == np.float32
        assert p.grad.dtype == np.float32
    for st in opt.state:
        for value in st.values():
            assert value.dtype == np.float32


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_zero_grad_resets_every_gradient(cls) -> None:
    params = make_params()
    for p in params:
        p.grad += 1.0
    cls(params, lr=0.1).zero_grad()
    assert all(np.all(p.grad == 0) for p in params)


def test_step_does_not_change_the_gradient() -> None:
    params = make_params()
    for p in params:
        p.grad += 1.5
    Adam(params, weight_decay=0.1).step()
    assert all(np.all(p.grad == 1.5) for p in params)


def test_schedule_sets_lr_before_each_step() -> None:
    p = Parameter(np.array([0.0]))
    opt = SGD([p], lr=1.0)
    opt.schedule = lambda step: 0.5**step
    used = []
    for _ in range(4):
        before = p.data.copy()
        p.grad[:] = 1.0
        opt.step()
        used.append(float(before[0] - p.data[0]))
        assert opt.lr == pytest.approx(used[-1])
    np.testing.assert_allclose(used, [1.0, 0.5, 0.25, 0.125])
    assert opt.t == 4 and opt.base_lr == 1.0


def test_schedule_returning_negative_lr_raises() -> None:
    opt = SGD(make_params(), lr=0.1)
    opt.schedule = lambda step: -1.0
    with pytest.raises(ValueError, match=r"schedule\(0\)"):
        opt.step()


def test_adam_state_dict_round_trip_continues_identically() -> None:
    grads = grad_sequence(8)
    params_a = make_params()
    opt_a = Adam(params_a, lr=0.01)
    run_ours(opt_a, params_a, grads[:4])
    sd = opt_a.state_dict()
    assert sd["t"] == 4 and set(sd["state"][0]) == {"M", "G"}
    assert sd["state"][0]["M"] is not opt_a.state[0]["M"]  # copies
    np.testing.assert_array_equal(sd["state"][0]["M"], opt_a.state[0]["M"])

    params_b = [Parameter(p.data) for p in params_a]
    opt_b = Adam(params_b, lr=0.5)
    opt_b.load_state_dict(sd)
    assert opt_b.lr == 0.01 and opt_b.t == 4
    run_ours(opt_a, params_a, grads[4:])
    run_ours(opt_b, params_b, grads[4:])
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_checks_length() -> None:
    sd = Adam(make_params()).state_dict()
    with pytest.raises(ValueError, match="state_dict"):
        Adam(make_params()[:1]).load_state_dict(sd)


def test_accepts_any_iterable_of_parameters() -> None:
    params = make_params()
    opt = SGD(iter(params), lr=0.1)
    assert opt.params == params
    assert "SGD(lr=0.1" in repr(opt)


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
def test_adam_rejects_bad_hyperparameters(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        Adam(make_params(), **kwargs)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_rejects_bad_params(cls) -> None:
    p = make_params()[0]
    with pytest.raises(ValueError, match="params: expected a non-empty list"):
        cls([], lr=0.1)
    with pytest.raises(TypeError, match="params"):
        cls(p, lr=0.1)  # a single Parameter, not a list
    with pytest.raises(TypeError, match=r"params\[1\]: expected a Parameter, got ndarray"):
        cls([p, np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="duplicates"):
        cls([p, p], lr=0.1)


def test_step_rejects_a_gradient_of_the_wrong_shape() -> None:
    params = make_params()
    params[1].grad = np.zeros(5)
    with pytest.raises(ValueError, match=r"params\[1\]\.grad: expected shape \(4,\)"):
        SGD(params, lr=0.1).step()
