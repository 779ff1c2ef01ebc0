"""Gradient clipping by global norm and by value, by hand and against torch.nn.utils."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _optim_utils import SHAPES, make_params, requires_torch, torch

from dlcourse.nn import Parameter
from dlcourse.optim import clip_grad_norm, clip_grad_value


def _with_grads(scale: float, seed: int = 4, dtype: type = np.float64) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    params = make_params(dtype=dtype)
    for p, s in zip(params, SHAPES, strict=True):
        p.grad += (scale * rng.standard_normal(s)).astype(dtype)
    return params


def test_norm_by_hand_keeps_the_direction() -> None:
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros((1, 1)))
    a.grad[:] = [3.0, 0.0]
    b.grad[:] = 4.0                                  # the global vector is (3, 0, 4): norm 5
    total = clip_grad_norm([a, b], max_norm=2.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    coef = 2.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad, [3.0 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[4.0 * coef]], rtol=1e-15)
    new = math.sqrt(float(np.sum(a.grad**2) + np.sum(b.grad**2)))
    assert new == pytest.approx(2.0, abs=1e-6) and new < 2.0


def test_norm_below_the_limit_changes_nothing() -> None:
    params = _with_grads(0.01)
    before = [p.grad.copy() for p in params]
    total = clip_grad_norm(params, max_norm=10.0)
    expected = math.sqrt(sum(float(np.sum(g**2)) for g in before))
    assert total == pytest.approx(expected, rel=1e-14)
    for p, g in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.grad, g)


@requires_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [0.05, 5.0])
def test_norm_matches_torch(norm_type: float, scale: float) -> None:
    params = _with_grads(scale)
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    for tp, p in zip(tparams, params, strict=True):
        tp.grad = torch.tensor(p.grad.copy())
    expected = float(torch.nn.utils.clip_grad_norm_(tparams, max_norm=1.5,
                                                    norm_type=norm_type))
    total = clip_grad_norm(params, max_norm=1.5, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-13)
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-13, atol=1e-15)


@requires_torch
def test_value_matches_torch() -> None:
    params = _with_grads(2.0)
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    for tp, p in zip(tparams, params, strict=True):
        tp.grad = torch.tensor(p.grad.copy())
    torch.nn.utils.clip_grad_value_(tparams, clip_value=0.7)
    clip_grad_value(params, 0.7)
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())


def test_value_by_hand() -> None:
    p = Parameter(np.zeros((2, 2)))
    p.grad[:] = [[-5.0, 0.3], [0.7, 9.0]]
    clip_grad_value([p], 0.5)
    np.testing.assert_array_equal(p.grad, [[-0.5, 0.3], [0.5, 0.5]])


@pytest.mark.parametrize("clip", [lambda ps: clip_grad_norm(ps, 0.1),
                                  lambda ps: clip_grad_value(ps, 0.1)])
def test_frozen_parameters_are_skipped(clip) -> None:
    params = _with_grads(5.0)
    params[0].requires_grad = False
    frozen = params[0].grad.copy()
    clip(params)
    np.testing.assert_array_equal(params[0].grad, frozen)
    assert max(float(np.abs(p.grad).max()) for p in params[1:]) <= 0.1


def test_frozen_parameters_are_not_counted() -> None:
    params = _with_grads(5.0)
    params[0].requires_grad = False
    expected = math.sqrt(sum(float(np.sum(p.grad**2)) for p in params[1:]))
    assert clip_grad_norm(params, 1e9) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("clip", [lambda ps: clip_grad_norm(ps, 0.1),
                                  lambda ps: clip_grad_value(ps, 0.1)])
def test_float32_stays_float32_in_place(clip) -> None:
    params = _with_grads(5.0, dtype=np.float32)
    arrays = [p.grad for p in params]
    clip(params)
    for p, a in zip(params, arrays, strict=True):
        assert p.grad is a and p.grad.dtype == np.float32


def test_single_parameter_and_empty_list() -> None:
    p = Parameter(np.zeros(2))
    p.grad[:] = [0.0, -3.0]
    assert clip_grad_norm(p, 1.0) == 3.0
    np.testing.assert_allclose(p.grad, [0.0, -1.0], atol=1e-6)
    assert clip_grad_norm([], 1.0) == 0.0


def test_non_finite_gradient_raises() -> None:
    params = _with_grads(1.0)
    params[2].grad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="params: expected finite gradients"):
        clip_grad_norm(params, 1.0)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (lambda ps: clip_grad_norm(ps, -1.0), ValueError, "max_norm"),
        (lambda ps: clip_grad_norm(ps, "1"), TypeError, "max_norm"),
        (lambda ps: clip_grad_norm(ps, 1.0, norm_type=0), ValueError, "norm_type"),
        (lambda ps: clip_grad_value(ps, 0.0), ValueError, "clip_value"),
        (lambda ps: clip_grad_value(ps, None), TypeError, "clip_value"),
        (lambda ps: clip_grad_norm([*ps, np.zeros(3)], 1.0), TypeError, r"params\[3\]"),
        (lambda ps: clip_grad_value(5, 1.0), TypeError, "params"),
    ],
)
def test_rejects_bad_arguments(call, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        call(_with_grads(1.0))
