"""The optimiser contract of dlcourse.optim (its package docstring), for every update rule.

Each rule's own maths (hand-computed steps, torch.optim step for step) is in tests/optim/.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from dlcourse.nn import Parameter
from dlcourse.optim import SGD, AdaDelta, AdaGrad, Adam, Optimizer, RMSProp

SHAPES = [(3, 4), (4,), (2, 3, 2)]

OPTIMIZERS: dict[str, Callable[[list[Parameter]], Optimizer]] = {
    "SGD": lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
    "SGD-momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "SGD-nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "AdaGrad": lambda ps: AdaGrad(ps, lr=0.1, weight_decay=0.01),
    "RMSProp": lambda ps: RMSProp(ps, lr=0.01, weight_decay=0.01),
    "RMSProp-momentum": lambda ps: RMSProp(ps, lr=0.01, momentum=0.9, weight_decay=0.01),
    "RMSProp-nesterov": lambda ps: RMSProp(ps, lr=0.01, momentum=0.9, nesterov=True,
                                           weight_decay=0.01),
    "AdaDelta": lambda ps: AdaDelta(ps, weight_decay=0.01),
    "Adam": lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
}
each_optimizer = pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())


def make_params(seed: int = 0, dtype: type = np.float64) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def grad_sequence(steps: int, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]


def run(opt: Optimizer, params: list[Parameter], grads: list[list[np.ndarray]]) -> None:
    """One step per entry of ``grads``; a rule that needs a closure gets one setting them."""
    for step_grads in grads:
        def set_grads(step_grads: list[np.ndarray] = step_grads) -> None:
            opt.zero_grad()
            for p, g in zip(params, step_grads, strict=True):
                p.grad += g.astype(p.grad.dtype)

        if getattr(opt, "nesterov", False) and isinstance(opt, RMSProp):
            opt.step(set_grads)
        else:
            set_grads()
            opt.step()


@each_optimizer
def test_float32_stays_float32_and_updates_in_place(make) -> None:
    params = make_params(dtype=np.float32)
    arrays = [p.data for p in params]
    opt = make(params)
    run(opt, params, grad_sequence(3))
    for p, a, a0 in zip(params, arrays, make_params(), strict=True):
        assert p.data is a
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
        assert not np.allclose(p.data, a0.data)       # it did move
    for st in opt.state:
        for value in st.values():
            assert value.dtype == np.float32


@each_optimizer
def test_frozen_parameter_is_skipped(make) -> None:
    params = make_params()
    params[1].requires_grad = False
    opt = make(params)
    before = params[1].data.copy()
    state0 = {k: v.copy() for k, v in opt.state[1].items()}
    run(opt, params, grad_sequence(4))
    np.testing.assert_array_equal(params[1].data, before)   # no update, no weight decay
    assert set(opt.state[1]) == set(state0)
    for k, v in state0.items():
        np.testing.assert_array_equal(opt.state[1][k], v)
    assert not np.allclose(params[0].data, make_params()[0].data)


@each_optimizer
def test_zero_grad_resets_every_gradient(make) -> None:
    params = make_params()
    for p in params:
        p.grad += 1.0
    make(params).zero_grad()
    assert all(np.all(p.grad == 0) for p in params)


@pytest.mark.parametrize("make", [m for k, m in OPTIMIZERS.items() if k != "RMSProp-nesterov"],
                         ids=[k for k in OPTIMIZERS if k != "RMSProp-nesterov"])
def test_step_does_not_change_the_gradient(make) -> None:
    params = make_params()
    for p in params:
        p.grad += 1.5
    make(params).step()
    assert all(np.all(p.grad == 1.5) for p in params)


@each_optimizer
def test_step_returns_what_the_closure_returns(make) -> None:
    params = make_params()
    opt = make(params)
    calls = []

    def closure() -> float:
        calls.append(1)
        opt.zero_grad()
        for p in params:
            p.grad += 0.5
        return 2.5

    assert opt.step(closure) == 2.5 and calls == [1] and opt.t == 1


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


@each_optimizer
def test_state_dict_round_trip_continues_identically(make) -> None:
    grads = grad_sequence(8)
    params_a = make_params()
    opt_a = make(params_a)
    run(opt_a, params_a, grads[:4])
    sd = opt_a.state_dict()
    assert sd["t"] == 4
    for st, st_sd in zip(opt_a.state, sd["state"], strict=True):
        for k, v in st.items():
            assert st_sd[k] is not v                      # copies
            np.testing.assert_array_equal(st_sd[k], v)

    params_b = [Parameter(p.data.copy()) for p in params_a]
    opt_b = make(params_b)
    opt_b.lr = 0.5
    opt_b.load_state_dict(sd)
    assert opt_b.lr == opt_a.lr and opt_b.t == 4
    run(opt_a, params_a, grads[4:])
    run(opt_b, params_b, grads[4:])
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_adam_state_dict_holds_the_moments() -> None:
    params = make_params()
    opt = Adam(params, lr=0.01)
    run(opt, params, grad_sequence(2))
    assert set(opt.state_dict()["state"][0]) == {"M", "G"}


def test_load_state_dict_checks_length() -> None:
    sd = Adam(make_params()).state_dict()
    with pytest.raises(ValueError, match="state_dict"):
        Adam(make_params()[:1]).load_state_dict(sd)
    with pytest.raises(TypeError, match="state_dict"):
        Adam(make_params()).load_state_dict({"lr": 0.1})


def test_accepts_any_iterable_of_parameters() -> None:
    params = make_params()
    opt = SGD(iter(params), lr=0.1)
    assert opt.params == params
    assert "SGD(lr=0.1" in repr(opt)
    assert "RMSProp(lr=0.01" in repr(RMSProp(params))


@pytest.mark.parametrize("cls", [SGD, AdaGrad, RMSProp, AdaDelta, Adam])
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


@pytest.mark.parametrize("cls", [SGD, AdaGrad, RMSProp, AdaDelta, Adam])
def test_step_rejects_a_gradient_of_the_wrong_shape(cls) -> None:
    params = make_params()
    params[1].grad = np.zeros(5)
    with pytest.raises(ValueError, match=r"params\[1\]\.grad: expected shape \(4,\)"):
        cls(params, lr=0.1).step()
