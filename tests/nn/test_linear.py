"""Tests for dlcourse/nn/linear.py (Linear) and dlcourse/nn/shape.py (Flatten)."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Flatten, Linear
from dlcourse.nn.linear import INITS

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def test_shapes_and_forward_formula() -> None:
    rng = np.random.default_rng(0)
    layer = Linear(4, 3, rng=rng)
    assert layer.W.shape == (4, 3) and layer.b.shape == (3,)
    assert not layer.b.data.any()  # bias starts at zero
    layer.b.data[:] = rng.standard_normal(3)
    x = rng.standard_normal((5, 4))
    y = layer(x)
    assert y.shape == (5, 3)
    np.testing.assert_allclose(y, x @ layer.W.data + layer.b.data, rtol=1e-15)
    assert [n for n, _ in layer.named_parameters()] == ["W", "b"]


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_linear(bias: bool) -> None:
    rng = np.random.default_rng(1)
    layer = Linear(6, 4, bias=bias, rng=rng)
    if bias:
        layer.b.data[:] = rng.standard_normal(4)
    ref = torch.nn.Linear(6, 4, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.W.data.T))  # torch stores W transposed
        if bias:
            ref.bias.copy_(torch.tensor(layer.b.data))
    x = rng.standard_normal((7, 6))
    dout = rng.standard_normal((7, 4))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.W.grad, ref.weight.grad.numpy().T, rtol=1e-12, atol=1e-14)
    if bias:
        np.testing.assert_allclose(layer.b.grad, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences(bias: bool) -> None:
    rng = np.random.default_rng(2)
    layer = Linear(5, 3, bias=bias, rng=rng)
    if bias:
        layer.b.data[:] = rng.standard_normal(3)
    check_module_gradients(layer, rng.standard_normal((4, 5)), rng)


def test_backward_accumulates_and_zero_grad_resets() -> None:
    rng = np.random.default_rng(3)
    layer = Linear(3, 2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer(x)
    layer(x)  # two calls before their backwards: two caches, two gradient contributions
    layer.backward(dout)
    once = [p.grad.copy() for p in layer.parameters()]
    layer.backward(dout)
    for p, g in zip(layer.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-15)
    layer.zero_grad()
    assert all(not p.grad.any() for p in layer.parameters())


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(4)
    layer = Linear(3, 2, rng=rng, dtype=np.float32)
    assert layer.W.data.dtype == np.float32 and layer.b.data.dtype == np.float32
    y = layer(rng.standard_normal((5, 3)).astype(np.float32))
    assert y.dtype == np.float32
    dx = layer.backward(rng.standard_normal((5, 2)))  # float64 dout is cast
    assert dx.dtype == np.float32
    assert layer.W.grad.dtype == np.float32 and layer.b.grad.dtype == np.float32


def test_does_not_modify_callers_arrays() -> None:
    rng = np.random.default_rng(5)
    layer = Linear(3, 2, rng=rng)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    x0, dout0 = x.copy(), dout.copy()
    layer(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


def test_integer_input_is_accepted() -> None:
    layer = Linear(2, 1, rng=0)
    assert layer(np.array([[1, 2]])).dtype == np.float64


def test_bad_inputs_raise_naming_the_argument() -> None:
    layer = Linear(3, 2, rng=0)
    with pytest.raises(
        ValueError, match=r"x: expected shape \(..., in_features\) = \(..., 3\), got \(4, 5\)"
    ):
        layer(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"x: expected shape \(..., in_features\)"):
        layer(np.float64(3.0))
    with pytest.raises(TypeError, match="x"):
        layer(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="x: expected finite values"):
        layer(np.full((1, 3), np.nan))
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(3, 2, rng=0).backward(np.zeros((1, 2)))
    layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(..., out_features\) = \(4, 2\)"):
        layer.backward(np.zeros((4, 3)))
    assert layer.backward(np.zeros((4, 2))).shape == (4, 3)  # a rejected dout keeps the cache


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"in_features": 0, "out_features": 2}, ValueError, "in_features"),
        ({"in_features": 2.0, "out_features": 2}, TypeError, "in_features"),
        ({"in_features": 2, "out_features": -1}, ValueError, "out_features"),
        ({"in_features": 2, "out_features": 2, "bias": 1}, TypeError, "bias"),
        ({"in_features": 2, "out_features": 2, "dtype": np.int32}, TypeError, "dtype"),
        ({"in_features": 2, "out_features": 2, "init": "he"}, ValueError, "init"),
        ({"in_features": 2, "out_features": 2, "rng": "seed"}, TypeError, "rng"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        Linear(**kwargs)


def test_init_is_reproducible_and_seed_dependent() -> None:
    a, b, c = Linear(20, 10, rng=7), Linear(20, 10, rng=7), Linear(20, 10, rng=8)
    np.testing.assert_array_equal(a.W.data, b.W.data)
    assert not np.allclose(a.W.data, c.W.data)


@pytest.mark.parametrize("init", INITS)
def test_every_init_name_gives_the_right_shape(init: str) -> None:
    layer = Linear(6, 4, rng=0, init=init, dtype=np.float32)
    assert layer.W.shape == (6, 4) and layer.W.data.dtype == np.float32


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("kaiming_uniform", np.sqrt(2 / 800)),  # He: var = 2 / in_features (Eq. (5.15))
        ("kaiming_normal", np.sqrt(2 / 800)),
        ("xavier_uniform", np.sqrt(2 / (800 + 200))),
        ("xavier_normal", np.sqrt(2 / (800 + 200))),
    ],
)
def test_init_variance_uses_in_features_as_fan_in(init: str, expected_std: float) -> None:
    W = Linear(800, 200, rng=0, init=init).W.data
    assert W.std() == pytest.approx(expected_std, rel=0.02)


def test_callable_init_and_repr() -> None:
    layer = Linear(2, 3, bias=False, init=lambda shape, rng, dtype: np.ones(shape, dtype))
    np.testing.assert_array_equal(layer.W.data, np.ones((2, 3)))
    assert layer.b is None and [n for n, _ in layer.named_parameters()] == ["W"]
    assert repr(layer) == "Linear(in_features=2, out_features=3, bias=False)"
    with pytest.raises(ValueError, match=r"init: expected an array of shape \(2, 3\)"):
        Linear(2, 3, init=lambda shape, rng, dtype: np.ones(3))


# ------------------------------------------------------------------------- Flatten
def test_flatten_forward_backward() -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 4, 5))
    flat = Flatten()
    y = flat(x)
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(y, x.reshape(2, -1))
    dout = rng.standard_normal((2, 60))
    np.testing.assert_array_equal(flat.backward(dout), dout.reshape(2, 3, 4, 5))
    assert flat(x.astype(np.float32)).dtype == np.float32
    check_module_gradients(Flatten(), rng.standard_normal((3, 2, 2)), rng)


def test_flatten_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"x: .*at least 2 dimensions, got shape \(3,\)"):
        Flatten()(np.zeros(3))
    with pytest.raises(RuntimeError, match="before forward"):
        Flatten().backward(np.zeros((2, 3)))
    flat = Flatten()
    flat(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(2, 12\)"):
        flat.backward(np.zeros((2, 3, 4)))
