"""Tests for dlcourse/nn/weight_norm.py (WeightNormLinear)."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Linear, Sequential, Tanh, WeightNormLinear, no_grad

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def _randomise(layer: WeightNormLinear, rng: np.random.Generator) -> None:
    layer.g.data[:] = rng.uniform(0.5, 2.0, size=layer.g.shape)
    if layer.b is not None:
        layer.b.data[:] = rng.standard_normal(layer.b.shape)


def test_shapes_and_initial_weight_equals_v() -> None:
    layer = WeightNormLinear(4, 3, rng=0)
    assert layer.v.shape == (4, 3) and layer.g.shape == (3,) and layer.b.shape == (3,)
    assert [n for n, _ in layer.named_parameters()] == ["v", "g", "b"]
    # g starts at each column's norm, so W = v (as PyTorch's weight_norm at creation)
    np.testing.assert_allclose(layer.g.data, np.linalg.norm(layer.v.data, axis=0), rtol=1e-15)
    np.testing.assert_allclose(layer.weight(), layer.v.data, rtol=1e-15)
    assert not layer.b.data.any()


def test_forward_is_an_affine_map_with_unit_columns_scaled_by_g() -> None:
    rng = np.random.default_rng(1)
    layer = WeightNormLinear(5, 3, rng=rng)
    _randomise(layer, rng)
    W = layer.weight()
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), layer.g.data, rtol=1e-14)
    # the direction is v's: W[:, m] is a positive multiple of v[:, m]
    cos = np.sum(W * layer.v.data, axis=0) / (
        np.linalg.norm(W, axis=0) * np.linalg.norm(layer.v.data, axis=0)
    )
    np.testing.assert_allclose(cos, 1.0, rtol=1e-14)
    x = rng.standard_normal((2, 4, 5))  # any leading dimensions
    np.testing.assert_allclose(layer(x), x @ W + layer.b.data, rtol=1e-14)
    # rescaling v changes nothing: only its direction matters
    before = layer(x)
    layer.v.data *= 7.5
    np.testing.assert_allclose(layer(x), before, rtol=1e-13)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
def test_gradients_match_finite_differences(bias: bool, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    layer = WeightNormLinear(5, 3, bias=bias, rng=rng)
    _randomise(layer, rng)
    check_module_gradients(layer, rng.standard_normal(shape), rng)


def test_reused_twice_before_its_backwards() -> None:
    rng = np.random.default_rng(3)
    layer = WeightNormLinear(4, 4, rng=rng)
    _randomise(layer, rng)
    net = Sequential(layer, Tanh(), Linear(4, 4, rng=rng), layer)
    check_module_gradients(net, rng.standard_normal((3, 4)), rng)


def test_dv_is_orthogonal_to_v() -> None:
    # W depends on v only through v/‖v‖, so the loss is constant along v: v · dv = 0 per unit
    rng = np.random.default_rng(4)
    layer = WeightNormLinear(6, 3, rng=rng)
    _randomise(layer, rng)
    layer(rng.standard_normal((8, 6)))
    layer.backward(rng.standard_normal((8, 3)))
    dots = np.sum(layer.v.grad * layer.v.data, axis=0)
    assert np.all(np.abs(dots) < 1e-12 * np.abs(layer.v.grad).sum())
    assert np.abs(layer.v.grad).sum() > 0


def test_frozen_parameters_and_need_dx() -> None:
    rng = np.random.default_rng(5)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer = WeightNormLinear(3, 2, rng=6)
    layer(x)
    dx = layer.backward(dout)
    grads = {n: p.grad.copy() for n, p in layer.named_parameters()}
    layer.zero_grad()
    layer.g.requires_grad = False  # g frozen: v and b still learn, with the same gradients
    layer(x)
    np.testing.assert_allclose(layer.backward(dout), dx, rtol=1e-14)
    assert not layer.g.grad.any()
    np.testing.assert_allclose(layer.v.grad, grads["v"], rtol=1e-14)
    np.testing.assert_allclose(layer.b.grad, grads["b"], rtol=1e-14)
    layer.requires_grad_(False).zero_grad()
    layer(x)
    np.testing.assert_allclose(layer.backward(dout), dx, rtol=1e-14)
    assert not any(p.grad.any() for p in layer.parameters())
    layer.requires_grad_(True)
    layer(x)
    assert layer.backward(dout, need_dx=False) is None
    np.testing.assert_allclose(layer.v.grad, grads["v"], rtol=1e-14)


def test_float32_stays_float32_no_grad_and_repr() -> None:
    layer = WeightNormLinear(3, 2, rng=0, dtype=np.float32)
    assert all(p.data.dtype == np.float32 for p in layer.parameters())
    y = layer(np.ones((4, 3)))  # float64 input is cast to the layer's dtype, like Linear
    assert y.dtype == np.float32
    assert layer.backward(np.ones((4, 2))).dtype == np.float32
    assert layer.v.grad.dtype == np.float32 and layer.g.grad.dtype == np.float32
    with no_grad():
        layer(np.ones((4, 3)))
    assert layer.num_cached_calls == 0
    assert repr(WeightNormLinear(3, 2, bias=False)) == (
        "WeightNormLinear(in_features=3, out_features=2, bias=False)"
    )


@requires_torch
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_weight_norm(bias: bool) -> None:
    from torch.nn.utils.parametrizations import weight_norm

    rng = np.random.default_rng(7)
    ours = WeightNormLinear(5, 3, bias=bias, rng=rng)
    _randomise(ours, rng)
    ref = weight_norm(torch.nn.Linear(5, 3, bias=bias, dtype=torch.float64), dim=0)
    g_t = ref.parametrizations.weight.original0  # (M, 1)
    v_t = ref.parametrizations.weight.original1  # (M, D): our v transposed
    with torch.no_grad():
        g_t.copy_(torch.tensor(ours.g.data).reshape(3, 1))
        v_t.copy_(torch.tensor(ours.v.data.T))
        if bias:
            ref.bias.copy_(torch.tensor(ours.b.data))
    x, dout = rng.standard_normal((7, 5)), rng.standard_normal((7, 3))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.v.grad, v_t.grad.numpy().T, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(ours.g.grad, g_t.grad.numpy().ravel(), rtol=1e-11)
    if bias:
        np.testing.assert_allclose(ours.b.grad, ref.bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"in_features": 0, "out_features": 2}, ValueError, "in_features: expected an integer >="),
        ({"in_features": 2, "out_features": 2.5}, TypeError, "out_features: expected an integer"),
        ({"in_features": 2, "out_features": 2, "bias": "yes"}, TypeError, "bias: expected a bool"),
        ({"in_features": 2, "out_features": 2, "dtype": np.int64}, TypeError, "dtype: expected"),
        ({"in_features": 2, "out_features": 2, "rng": 1.5}, TypeError, "rng: expected"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        WeightNormLinear(**kwargs)


def test_bad_inputs_raise_naming_the_argument() -> None:
    layer = WeightNormLinear(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., in_features\) = "
                       r"\(\.\.\., 3\), got \(4, 2\)"):
        layer(np.zeros((4, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((4, 2)))
    layer(np.zeros((4, 3)))
    want = r"dout: expected shape \(\.\.\., out_features\) = \(4, 2\)"
    with pytest.raises(ValueError, match=want):
        layer.backward(np.zeros((4, 3)))
    assert layer.backward(np.zeros((4, 2))).shape == (4, 3)  # a rejected dout keeps the cache
    layer.v.data[:, 1] = 0.0
    with pytest.raises(ValueError, match=r"v: expected non-zero columns .* got zero columns \[1\]"):
        layer(np.ones((1, 3)))
