"""Tests for dlcourse/nn/activation.py: gradient checks, torch comparison, dtypes, errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import (
    ELU,
    GELU,
    LeakyReLU,
    Module,
    PReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Swish,
    Tanh,
)

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

# (our layer factory, torch reference factory); ids name the case.
CASES: dict[str, tuple[Callable[[], Module], Callable[[], Callable]]] = {
    "sigmoid": (Sigmoid, lambda: torch.nn.Sigmoid()),
    "tanh": (Tanh, lambda: torch.nn.Tanh()),
    "relu": (ReLU, lambda: torch.nn.ReLU()),
    "leaky_relu": (lambda: LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1)),
    "leaky_relu_default": (LeakyReLU, lambda: torch.nn.LeakyReLU()),
    "elu": (lambda: ELU(0.7), lambda: torch.nn.ELU(0.7)),
    "softplus": (Softplus, lambda: torch.nn.Softplus()),
    "swish": (Swish, lambda: torch.nn.SiLU()),
    "swish_beta2": (lambda: Swish(2.0), lambda: lambda t: t * torch.sigmoid(2.0 * t)),
    "gelu": (GELU, lambda: torch.nn.GELU()),
    "gelu_tanh": (lambda: GELU("tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    "gelu_sigmoid": (lambda: GELU("sigmoid"), lambda: lambda t: t * torch.sigmoid(1.702 * t)),
    "prelu": (lambda: PReLU(init=0.2), lambda: torch.nn.PReLU(init=0.2, dtype=torch.float64)),
}


def away_from_kinks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in ±[0.05, 3]: finite differences are exact enough away from x = 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 3.0, size=shape)


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences(name: str) -> None:
    rng = np.random.default_rng(0)
    check_module_gradients(CASES[name][0](), away_from_kinks(rng, (4, 5)), rng)


@requires_torch
@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name: str) -> None:
    rng = np.random.default_rng(1)
    ours, ref = CASES[name][0](), CASES[name][1]()
    x = rng.standard_normal((6, 7)) * 3
    dout = rng.standard_normal((6, 7))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    if name == "prelu":
        np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_float32_stays_float32_and_shape_is_kept(name: str) -> None:
    rng = np.random.default_rng(2)
    layer = CASES[name][0]()
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    dx = layer.backward(rng.standard_normal((2, 3, 4)))  # float64 dout is cast
    assert dx.dtype == np.float32 and dx.shape == x.shape


@pytest.mark.parametrize("name", CASES)
def test_does_not_modify_callers_arrays(name: str) -> None:
    rng = np.random.default_rng(3)
    layer = CASES[name][0]()
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x0, dout0 = x.copy(), dout.copy()
    layer(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


@pytest.mark.parametrize("name", CASES)
def test_bad_inputs_raise_naming_the_argument(name: str) -> None:
    layer = CASES[name][0]()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="x"):
        layer(np.array(["a", "b"]))
    layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"dout: expected the shape of the forward output"):
        layer.backward(np.zeros((3, 2)))


def test_relu_uses_zero_derivative_at_the_kink() -> None:
    layer = ReLU()
    layer(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(layer.backward(np.ones(3)), [0.0, 0.0, 1.0])


def test_activation_hyperparameters_are_validated() -> None:
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="alpha"):
        ELU(-1.0)
    with pytest.raises(ValueError, match="approximate"):
        GELU("erf")
    with pytest.raises(TypeError, match="beta"):
        Swish("one")
    with pytest.raises(ValueError, match="num_parameters"):
        PReLU(0)
    with pytest.raises(TypeError, match="init"):
        PReLU(init="0.25")
    assert repr(GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


# ------------------------------------------------------------------------- PReLU
@requires_torch
def test_prelu_per_channel_matches_torch_on_images() -> None:
    rng = np.random.default_rng(4)
    ours = PReLU(3, init=0.1)
    ours.gamma.data[:] = [0.1, -0.2, 0.5]
    ref = torch.nn.PReLU(3, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.gamma.data))
    x = rng.standard_normal((2, 3, 4, 5))
    dout = rng.standard_normal((2, 3, 4, 5))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_prelu_per_channel_gradients(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(5)
    layer = PReLU(3)
    layer.gamma.data[:] = rng.uniform(-0.5, 0.5, size=3)
    check_module_gradients(layer, away_from_kinks(rng, shape), rng)


def test_prelu_gamma_grad_accumulates_and_resets() -> None:
    rng = np.random.default_rng(6)
    layer = PReLU(2)
    x, dout = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    layer(x)
    layer(x)  # two calls before their backwards: two caches, two gradient contributions
    layer.backward(dout)
    once = layer.gamma.grad.copy()
    assert np.abs(once).sum() > 0
    layer.backward(dout)
    np.testing.assert_allclose(layer.gamma.grad, 2 * once, rtol=1e-15)
    layer.zero_grad()
    assert not layer.gamma.grad.any()
    assert [n for n, _ in layer.named_parameters()] == ["gamma"]


def test_prelu_keeps_gamma_dtype_and_input_dtype() -> None:
    layer = PReLU(dtype=np.float64)
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    assert layer(x).dtype == np.float32
    layer.backward(np.ones((1, 2), dtype=np.float32))
    assert layer.gamma.grad.dtype == np.float64
    assert layer.gamma.grad[0] == pytest.approx(-1.0)


def test_prelu_checks_the_channel_axis() -> None:
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3, \.\.\.\)"):
        PReLU(3)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3, \.\.\.\)"):
        PReLU(3)(np.zeros(3))
