"""Tests for dlcourse/nn/conv1d.py: the notes' narrow/wide/same conv1d and Conv1d."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Conv1d, Sequential, conv1d, no_grad

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

NP_MODES = {"narrow": "valid", "wide": "full", "same": "same"}


# --------------------------------------------------------------------------- functional conv1d


def test_conv1d_by_hand() -> None:
    # y_t = Σ_k w_k x_{t−k}: [1, 2, 3, 4] * [1, 10]: 1, 2 + 10, 3 + 20, 4 + 30, 40
    x, w = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 10.0])
    np.testing.assert_array_equal(conv1d(x, w, "wide"), [1, 12, 23, 34, 40])
    np.testing.assert_array_equal(conv1d(x, w, "narrow"), [12, 23, 34])
    np.testing.assert_array_equal(conv1d(x, w), [12, 23, 34])  # narrow is the default


@pytest.mark.parametrize("mode", ["narrow", "wide", "same"])
@pytest.mark.parametrize(("M", "K"), [(7, 3), (8, 4), (5, 5), (6, 1), (9, 2)])
def test_conv1d_lengths_and_numpy_convolve(mode: str, M: int, K: int) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(M), rng.standard_normal(K)
    y = conv1d(x, w, mode)
    assert y.shape == ({"narrow": M - K + 1, "wide": M + K - 1, "same": M}[mode],)
    np.testing.assert_allclose(y, np.convolve(x, w, NP_MODES[mode]), rtol=1e-12, atol=1e-12)


def test_conv1d_is_commutative_and_batched() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 6)), rng.standard_normal(6)
    y = conv1d(x, w, "wide")
    assert y.shape == (2, 3, 11)
    np.testing.assert_allclose(y[1, 2], conv1d(w, x[1, 2], "wide"), atol=1e-12)  # x*w = w*x
    np.testing.assert_allclose(y[0, 1], np.convolve(x[0, 1], w), atol=1e-12)


def test_conv1d_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        conv1d(np.ones(4), np.ones(2), "valid")
    with pytest.raises(ValueError, match="w: expected a 1-D"):
        conv1d(np.ones(4), np.ones((2, 2)))
    with pytest.raises(ValueError, match="w: expected a kernel no longer"):
        conv1d(np.ones(3), np.ones(4), "narrow")
    with pytest.raises(ValueError, match="w: expected a kernel of length"):
        conv1d(np.ones(3), np.ones(0))
    with pytest.raises(ValueError, match="x: expected an array of shape"):
        conv1d(np.float64(1.0), np.ones(1))
    assert conv1d(np.ones(3), np.ones(4), "wide").shape == (6,)
    x32 = np.ones(5, np.float32)
    assert conv1d(x32, np.ones(3, np.float32), "same").dtype == np.float32


# --------------------------------------------------------------------------- Conv1d


def _loop_conv1d(x: np.ndarray, W: np.ndarray, b: np.ndarray, s: int, p: int) -> np.ndarray:
    """Independent reference: the cross-correlation as np.correlate per (n, f, c)."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
    out = np.array(
        [[sum(np.correlate(xp[n, c], W[f, c], "valid") for c in range(x.shape[1])) + b[f]
          for f in range(W.shape[0])] for n in range(x.shape[0])]
    )
    return out[:, :, ::s]


@pytest.mark.parametrize(("k", "s", "p"), [(3, 1, 0), (3, 1, 2), (3, 1, 1), (4, 2, 1), (1, 3, 0)])
def test_conv1d_layer_matches_correlation_loops(k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(2)
    layer = Conv1d(3, 4, k, stride=s, padding=p, rng=rng)
    layer.b.data[:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 9))
    y = layer(x)
    assert y.shape == (2, 4, (9 - k + 2 * p) // s + 1)
    np.testing.assert_allclose(y, _loop_conv1d(x, layer.W.data, layer.b.data, s, p), atol=1e-12)


def test_narrow_wide_same_by_padding() -> None:
    # stride 1: padding 0, K − 1, (K − 1)/2 give lengths M − K + 1, M + K − 1, M
    M, K = 10, 5
    x = np.zeros((1, 1, M))
    for p, want in [(0, M - K + 1), (K - 1, M + K - 1), ((K - 1) // 2, M)]:
        assert Conv1d(1, 1, K, padding=p, rng=0)(x).shape == (1, 1, want)


def test_layer_with_flipped_kernel_equals_the_notes_convolution() -> None:
    rng = np.random.default_rng(3)
    layer = Conv1d(1, 1, 3, padding=2, bias=False, rng=rng)
    x = rng.standard_normal(8)
    # cross-correlation with W equals convolution with W flipped (wide: padding K − 1)
    y = layer(x[None, None])[0, 0]
    np.testing.assert_allclose(y, conv1d(x, layer.W.data[0, 0, ::-1], "wide"), atol=1e-12)


@pytest.mark.parametrize(("k", "s", "p", "bias"), [(3, 1, 1, True), (2, 2, 0, False),
                                                   (4, 1, 3, True), (1, 1, 0, True)])
def test_gradients_match_finite_differences(k: int, s: int, p: int, bias: bool) -> None:
    rng = np.random.default_rng(4)
    layer = Conv1d(2, 3, k, stride=s, padding=p, bias=bias, rng=rng)
    if bias:
        layer.b.data[:] = rng.standard_normal(3)
    check_module_gradients(layer, rng.standard_normal((2, 2, 7)), rng)


def test_reused_twice_before_its_backwards() -> None:
    rng = np.random.default_rng(5)
    conv = Conv1d(2, 2, 3, padding=1, rng=rng)
    check_module_gradients(Sequential(conv, conv), rng.standard_normal((2, 2, 6)), rng)


def test_need_dx_false_frozen_and_no_grad() -> None:
    rng = np.random.default_rng(6)
    layer = Conv1d(2, 3, 3, rng=rng)
    x, dout = rng.standard_normal((2, 2, 6)), rng.standard_normal((2, 3, 4))
    layer(x)
    dx = layer.backward(dout)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer(x)
    assert layer.backward(dout, need_dx=False) is None
    for p, g in zip(layer.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    layer.zero_grad()
    layer.requires_grad_(False)
    layer(x)
    np.testing.assert_array_equal(layer.backward(dout), dx)
    assert not any(p.grad.any() for p in layer.parameters())
    with no_grad():
        layer(x)
    assert layer.num_cached_calls == 0
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(dout)


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(7)
    layer = Conv1d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float32)
    out = layer(rng.standard_normal((2, 2, 9)).astype(np.float32))
    assert out.dtype == np.float32 and out.shape == (2, 3, 5)
    dx = layer.backward(np.ones(out.shape))  # a float64 dout is cast to the layer's dtype
    assert dx.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"kernel_size": 2.5}, TypeError, "kernel_size"),
        ({"kernel_size": (3, 3)}, ValueError, "kernel_size"),
        ({"kernel_size": 3, "stride": 0}, ValueError, "stride"),
        ({"kernel_size": 3, "padding": -1}, ValueError, "padding"),
        ({"kernel_size": 3, "padding": "same"}, TypeError, "padding"),
        ({"kernel_size": 3, "bias": 1}, TypeError, "bias"),
        ({"kernel_size": 3, "dtype": np.int32}, TypeError, "dtype"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        Conv1d(2, 3, **kwargs)


def test_bad_inputs_name_the_argument() -> None:
    layer = Conv1d(2, 3, 3)
    with pytest.raises(ValueError, match=r"x: expected a 3-D array"):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, in_channels"):
        layer(np.ones((1, 3, 5)))
    with pytest.raises(ValueError, match="x: expected a padded length"):
        layer(np.ones((1, 2, 2)))
    layer(np.ones((1, 2, 5)))
    with pytest.raises(ValueError, match="dout: expected shape"):
        layer.backward(np.ones((1, 3, 2)))
    assert layer.num_cached_calls == 1  # a rejected dout leaves the cache for a retry
    assert Conv1d(2, 3, (3,)).kernel_size == 3  # PyTorch's 1-tuple form


@requires_torch
@pytest.mark.parametrize(("k", "s", "p", "bias"),
                         [(3, 1, 1, True), (5, 2, 2, True), (2, 3, 0, False), (4, 1, 3, True)])
def test_matches_torch_conv1d(k: int, s: int, p: int, bias: bool) -> None:
    rng = np.random.default_rng(8)
    layer = Conv1d(3, 4, k, stride=s, padding=p, bias=bias, rng=rng)
    if bias:
        layer.b.data[:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 11))
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(layer.W.data, requires_grad=True)
    bt = torch.tensor(layer.b.data, requires_grad=True) if bias else None
    yt = torch.nn.functional.conv1d(xt, Wt, bt, stride=s, padding=p)
    dout = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.b.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)
