"""Tests for dlcourse/functional.py: activations, derivatives, softmax, one_hot.

References: PyTorch (values and autograd), closed forms, ``math.erf``/``math.erfc`` and
centred finite differences computed here (not with dlcourse.gradcheck).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import functional as F

GAMMA = np.array([0.1, 0.25, 0.5, 0.0, 1.5])  # PReLU slopes for x of shape (N, 5)

# name -> (f, f_grad, kwargs)
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, F.sigmoid_grad, {}),
    "tanh": (F.tanh, F.tanh_grad, {}),
    "relu": (F.relu, F.relu_grad, {}),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_grad, {}),
    "leaky_relu_0.2": (F.leaky_relu, F.leaky_relu_grad, {"negative_slope": 0.2}),
    "prelu": (F.prelu, F.prelu_grad, {"gamma": GAMMA}),
    "elu": (F.elu, F.elu_grad, {}),
    "elu_0.7": (F.elu, F.elu_grad, {"alpha": 0.7}),
    "softplus": (F.softplus, F.softplus_grad, {}),
    "swish": (F.swish, F.swish_grad, {}),
    "swish_1.5": (F.swish, F.swish_grad, {"beta": 1.5}),
    "gelu": (F.gelu, F.gelu_grad, {}),
    "gelu_tanh": (F.gelu, F.gelu_grad, {"approximate": "tanh"}),
    "gelu_sigmoid": (F.gelu, F.gelu_grad, {"approximate": "sigmoid"}),
}


def _torch_refs(torch):
    tf = torch.nn.functional
    g = torch.tensor(GAMMA)
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": tf.relu,
        "leaky_relu": tf.leaky_relu,
        "leaky_relu_0.2": lambda t: tf.leaky_relu(t, 0.2),
        "prelu": lambda t: tf.prelu(t, g),
        "elu": tf.elu,
        "elu_0.7": lambda t: tf.elu(t, alpha=0.7),
        "softplus": tf.softplus,
        "swish": tf.silu,
        "swish_1.5": lambda t: t * torch.sigmoid(1.5 * t),
        "gelu": tf.gelu,
        "gelu_tanh": lambda t: tf.gelu(t, approximate="tanh"),
    }


def sample(seed: int = 0, shape: tuple[int, ...] = (40, 5)) -> np.ndarray:
    """Inputs in [-6, 6] kept at least 1e-3 away from the kink at 0."""
    x = np.random.default_rng(seed).uniform(-6.0, 6.0, size=shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


def centred_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    return (f(x + eps) - f(x - eps)) / (2.0 * eps)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_grad_matches_finite_differences(name):
    f, fgrad, kw = ACTIVATIONS[name]
    x = sample(1)
    numeric = centred_difference(lambda z: f(z, **kw), x)
    assert rel_err(fgrad(x, **kw), numeric) < 1e-6


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "gelu_sigmoid"])
def test_value_and_grad_match_torch(name):
    torch = pytest.importorskip("torch")
    f, fgrad, kw = ACTIVATIONS[name]
    x = sample(2)
    xt = torch.tensor(x, requires_grad=True)
    yt = _torch_refs(torch)[name](xt)
    (gt,) = torch.autograd.grad(yt.sum(), xt)
    np.testing.assert_allclose(f(x, **kw), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fgrad(x, **kw), gt.numpy(), rtol=1e-10, atol=1e-14)


def test_prelu_gamma_grad_matches_torch_and_finite_differences():
    torch = pytest.importorskip("torch")
    x = sample(3)
    dout = np.random.default_rng(4).standard_normal(x.shape)
    dgamma = np.sum(dout * F.prelu_grad_gamma(x, GAMMA), axis=0)
    xt, gt = torch.tensor(x), torch.tensor(GAMMA, requires_grad=True)
    (ref,) = torch.autograd.grad((torch.nn.functional.prelu(xt, gt) * torch.tensor(dout)).sum(),
                                 gt)
    np.testing.assert_allclose(dgamma, ref.numpy(), rtol=1e-12)
    numeric = np.empty_like(GAMMA)
    for i in range(GAMMA.size):
        e = np.zeros_like(GAMMA)
        e[i] = 1e-6
        numeric[i] = np.sum(dout * (F.prelu(x, GAMMA + e) - F.prelu(x, GAMMA - e))) / 2e-6
    assert rel_err(dgamma, numeric) < 1e-6


def test_prelu_broadcasts_per_channel_for_images():
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 4))
    gamma = np.array([0.1, 0.2, 0.3]).reshape(3, 1, 1)
    out = F.prelu(x, gamma)
    for c in range(3):
        xc = x[:, c]
        np.testing.assert_array_equal(out[:, c], np.where(xc > 0, xc, gamma[c, 0, 0] * xc))
    assert F.prelu(x, 0.25).shape == x.shape


def test_closed_form_values():
    assert F.sigmoid(np.array([0.0]))[0] == 0.5
    assert F.sigmoid_grad(np.array([0.0]))[0] == 0.25
    assert F.tanh_grad(np.array([0.0]))[0] == 1.0
    np.testing.assert_array_equal(F.relu_grad(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(F.leaky_relu(np.array([-2.0, 3.0]), 0.1), [-0.2, 3.0])
    assert F.elu_grad(np.array([0.0]), alpha=0.7)[0] == 0.7  # I(x<=0) γ exp(0)
    np.testing.assert_allclose(F.elu(np.array([-1.0])), [math.exp(-1.0) - 1.0], rtol=1e-15)
    np.testing.assert_allclose(F.softplus(np.array([0.0])), [math.log(2.0)], rtol=1e-15)
    np.testing.assert_allclose(F.swish(np.array([2.0]), beta=0.0), [1.0])  # x σ(0) = x/2
    assert F.gelu(np.array([0.0]))[0] == 0.0
    assert F.gelu_grad(np.array([0.0]))[0] == 0.5


def test_sigmoid_family_grads_keep_relative_accuracy_in_the_tails():
    x = np.array([-30.0, -20.0, 20.0, 30.0])
    e = np.exp(-np.abs(x))
    np.testing.assert_allclose(F.sigmoid_grad(x), e / (1.0 + e) ** 2, rtol=1e-14)
    np.testing.assert_allclose(F.softplus_grad(x[:2]), e[:2] / (1.0 + e[:2]), rtol=1e-14)


def test_gelu_exact_matches_math_erf_including_tails():
    x = np.concatenate([np.linspace(-37.0, 8.0, 901), [-0.46875, 0.46875, -4.0, 4.0]])
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    got = F.gelu(x)
    nz = ref != 0.0
    assert np.max(np.abs(got[nz] - ref[nz]) / np.abs(ref[nz])) < 1e-13
    np.testing.assert_array_equal(got[~nz], 0.0)
    mid = np.linspace(-3.0, 3.0, 61)
    erf_ref = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in mid])
    np.testing.assert_allclose(F.gelu(mid), erf_ref, rtol=1e-14, atol=1e-16)


def test_gelu_approximations_are_close_to_exact():
    x = np.linspace(-6.0, 6.0, 2001)
    exact = F.gelu(x)
    assert np.max(np.abs(F.gelu(x, approximate="tanh") - exact)) < 1e-3
    assert np.max(np.abs(F.gelu(x, approximate="sigmoid") - exact)) < 3e-2
    sig = x / (1.0 + np.exp(-1.702 * x))
    np.testing.assert_allclose(F.gelu(x, approximate="sigmoid"), sig, rtol=1e-14, atol=1e-15)


EXTREME = np.array([-1e4, -1000.0, -100.0, -40.0, 0.0, 40.0, 100.0, 1000.0, 1e4])


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_are_finite_without_warnings(name, dtype):
    f, fgrad, kw = ACTIVATIONS[name]
    x = np.tile(EXTREME, (5, 1)).T.astype(dtype)  # (9, 5) so PReLU's gamma broadcasts
    for fn in (f, fgrad):
        out = fn(x, **kw)
        assert np.all(np.isfinite(out))


def test_extreme_values_are_the_limits():
    x = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(F.sigmoid(x), [0.0, 1.0])
    np.testing.assert_array_equal(F.sigmoid_grad(x), [0.0, 0.0])
    np.testing.assert_array_equal(F.softplus(x), [0.0, 1000.0])
    np.testing.assert_array_equal(F.elu(x), [-1.0, 1000.0])
    np.testing.assert_array_equal(F.swish(x), [0.0, 1000.0])
    for mode in ("none", "tanh", "sigmoid"):
        np.testing.assert_array_equal(F.gelu(x, approximate=mode), [0.0, 1000.0])
        np.testing.assert_array_equal(F.gelu_grad(x, approximate=mode), [0.0, 1.0])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dtype_is_preserved_and_caller_array_untouched(name):
    f, fgrad, kw = ACTIVATIONS[name]
    x64 = sample(6)
    for dtype in (np.float32, np.float64):
        x = x64.astype(dtype)
        x.setflags(write=False)  # any in-place write would raise
        before = x.copy()
        for fn in (f, fgrad):
            out = fn(x, **kw)
            assert out.dtype == dtype and out.shape == x.shape
        np.testing.assert_array_equal(x, before)
    assert f(np.arange(-3, 3).reshape(6, 1).repeat(5, axis=1), **kw).dtype == np.float64


def test_float32_results_agree_with_float64():
    x = sample(7)
    for name, (f, fgrad, kw) in ACTIVATIONS.items():
        for fn in (f, fgrad):
            np.testing.assert_allclose(fn(x.astype(np.float32), **kw), fn(x, **kw),
                                       rtol=2e-5, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(axis):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal((6, 7)) * 5.0
    xt = torch.tensor(x)
    np.testing.assert_allclose(F.softmax(x, axis=axis), torch.softmax(xt, dim=axis).numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.log_softmax(x, axis=axis),
                               torch.log_softmax(xt, dim=axis).numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F.softmax(x, axis=axis).sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_is_stable_and_leaves_input_untouched():
    x = np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]])
    before = x.copy()
    p = F.softmax(x)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_allclose(F.log_softmax(x)[0], [0.0, -1000.0, -2000.0])
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(F.softmax(x + 123.0), p, rtol=1e-14)  # shift invariance
    assert F.softmax(x.astype(np.float32)).dtype == np.float32
    assert F.log_softmax(x.astype(np.float32)).dtype == np.float32


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0, 1]), 3),
                                  [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    out = F.one_hot(np.array([[0, 3], [1, 1]]), 4)
    assert out.shape == (2, 2, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=-1), [[0, 3], [1, 1]])
    assert F.one_hot(np.array([], dtype=int), 5).shape == (0, 5)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: F.sigmoid("abc"), TypeError, "x"),
        (lambda: F.relu(np.array([1.0, np.nan])), ValueError, "x: expected finite"),
        (lambda: F.leaky_relu(np.ones(2), negative_slope=-0.1), ValueError, "negative_slope"),
        (lambda: F.elu(np.ones(2), alpha="1"), TypeError, "alpha"),
        (lambda: F.swish(np.ones(2), beta=-1.0), ValueError, "beta"),
        (lambda: F.gelu(np.ones(2), approximate="erf"), ValueError, "approximate"),
        (lambda: F.gelu_grad(np.ones(2), approximate=None), ValueError, "approximate"),
        (lambda: F.prelu(np.ones((4, 5)), np.ones(4)), ValueError, "gamma"),
        (lambda: F.prelu(np.ones(5), np.ones((2, 5))), ValueError, "gamma"),
        (lambda: F.prelu_grad_gamma(np.ones(5), "a"), TypeError, "gamma"),
        (lambda: F.softmax(np.ones((2, 3)), axis=2), ValueError, "axis"),
        (lambda: F.log_softmax(np.ones((2, 3)), axis=1.0), TypeError, "axis"),
        (lambda: F.softmax(np.float64(1.0)), ValueError, "x"),
        (lambda: F.one_hot(np.array([0, 3]), 3), ValueError, r"y: expected labels in \[0, 3\)"),
        (lambda: F.one_hot(np.array([-1]), 3), ValueError, "y"),
        (lambda: F.one_hot(np.array([0.5]), 3), TypeError, "y"),
        (lambda: F.one_hot(np.array([0]), 0), ValueError, "num_classes"),
    ],
)
def test_bad_inputs_raise_with_argument_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
