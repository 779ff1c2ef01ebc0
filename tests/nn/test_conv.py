"""Tests for dlcourse/nn/conv.py: corr2d, im2col/col2im and Conv2d."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Conv2d, Sequential, col2im, corr2d, im2col, no_grad
from dlcourse.nn.conv import conv2d_backward, conv2d_forward, conv_output_size

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

# The notes' multi-input-channel example (chapter 5, 多输入通道), without their extra bracket.
NOTES_X = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], float)
NOTES_K = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]], float)


def _loop_conv(x: np.ndarray, W: np.ndarray, b: np.ndarray, s: tuple, p: tuple) -> np.ndarray:
    """Independent reference: the definition as explicit sums over channels with corr2d."""
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    N, F = x.shape[0], W.shape[0]
    full = np.array(
        [[sum(corr2d(xp[n, c], W[f, c]) for c in range(x.shape[1])) + b[f] for f in range(F)]
         for n in range(N)]
    )
    return full[:, :, :: s[0], :: s[1]]


# --------------------------------------------------------------------------- corr2d / notes


def test_corr2d_hand_example() -> None:
    # Y[0,0] = 0*0 + 1*1 + 3*2 + 4*3 = 19, computed by hand as in the notes' 二维互相关 example.
    X = np.arange(9.0).reshape(3, 3)
    K = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(corr2d(X, K), [[19, 25], [37, 43]])


def test_notes_multi_input_channels() -> None:
    layer = Conv2d(2, 1, 2, bias=False)
    layer.W.data[0] = NOTES_K
    out = layer(NOTES_X[None])
    np.testing.assert_array_equal(out[0, 0], [[56, 72], [104, 120]])
    assert sum(corr2d(NOTES_X[c], NOTES_K[c]) for c in range(2)).tolist() == [[56, 72], [104, 120]]


def test_notes_multi_output_channels() -> None:
    layer = Conv2d(2, 3, 2, bias=False)
    layer.W.data[:] = np.stack([NOTES_K, NOTES_K + 1, NOTES_K + 2])
    out = layer(NOTES_X[None])[0]
    np.testing.assert_array_equal(
        out, [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]
    )


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "want"),
    [(3, 1, 1, (8, 8)), (3, 2, 1, (4, 4)), ((3, 5), (3, 4), (0, 1), (2, 2))],
)
def test_notes_padding_and_stride_shapes(kernel: object, stride: object, padding: object,
                                         want: tuple) -> None:
    layer = Conv2d(1, 1, kernel, stride=stride, padding=padding, rng=0)
    assert layer(np.zeros((1, 1, 8, 8))).shape == (1, 1) + want
    # ⌊(8 − 3 + 0)/3⌋ + 1 = 2 and ⌊(8 − 5 + 2)/4⌋ + 1 = 2: the floor is needed
    assert conv_output_size(8, 5, 4, 1) == 2


def test_conv2d_agrees_with_corr2d_loops() -> None:
    rng = np.random.default_rng(0)
    for k, s, p in [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2)), ((3, 5), (3, 4), (0, 1))]:
        layer = Conv2d(3, 4, k, stride=s, padding=p, rng=rng)
        layer.b.data[:] = rng.standard_normal(4)
        x = rng.standard_normal((2, 3, 8, 7))
        want = _loop_conv(x, layer.W.data, layer.b.data, s, p)
        np.testing.assert_allclose(layer(x), want, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- im2col / col2im


def test_im2col_layout_by_hand() -> None:
    x = np.arange(2 * 3 * 3, dtype=float).reshape(1, 2, 3, 3)
    cols = im2col(x, 2)
    assert cols.shape == (1 * 2 * 2, 2 * 2 * 2)
    # row 0: window at (0, 0): channel 0 [0, 1, 3, 4], channel 1 [9, 10, 12, 13]
    np.testing.assert_array_equal(cols[0], [0, 1, 3, 4, 9, 10, 12, 13])
    # row 3: window at (1, 1): channel 0 [4, 5, 7, 8], channel 1 [13, 14, 16, 17]
    np.testing.assert_array_equal(cols[3], [4, 5, 7, 8, 13, 14, 16, 17])


def test_im2col_padding_stride_and_pair_arguments() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols = im2col(x, (2, 3), stride=(2, 1), padding=(0, 1))
    # out_h = ⌊(4 − 2)/2⌋ + 1 = 2, out_w = ⌊(4 − 3 + 2)/1⌋ + 1 = 4
    assert cols.shape == (2 * 4, 6)
    np.testing.assert_array_equal(cols[0], [0, 0, 1, 0, 4, 5])  # left zero padding
    np.testing.assert_array_equal(cols[7], [10, 11, 0, 14, 15, 0])  # right zero padding
    assert im2col(x, 2, 2, 0).shape == im2col(x, (2, 2), (2, 2), (0, 0)).shape == (4, 4)


def test_col2im_adds_overlapping_contributions() -> None:
    # 3×3 input, 2×2 kernel, stride 1: the centre pixel is in all 4 windows, edges in 2,
    # corners in 1, so col2im of all-ones columns counts the windows covering each pixel.
    cols = np.ones((4, 4))
    np.testing.assert_array_equal(col2im(cols, (1, 1, 3, 3), 2)[0, 0],
                                  [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize(("k", "s", "p"), [(3, 1, 1), ((2, 3), (2, 1), (1, 0)), (2, 2, 0)])
def test_col2im_is_the_adjoint_of_im2col(k: object, s: object, p: object) -> None:
    # <im2col(x), c> = <x, col2im(c)> for all x, c: col2im is the transpose of the linear map.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6))
    cols = im2col(x, k, s, p)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, k, s, p)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def test_im2col_gemm_is_the_convolution() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 5))
    W = rng.standard_normal((4, 3, 3, 2))
    cols = im2col(x, (3, 2), 1, (1, 0))
    out = (cols @ W.reshape(4, -1).T).reshape(2, 6, 4, 4).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, _loop_conv(x, W, np.zeros(4), (1, 1), (1, 0)), atol=1e-12)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize(
    ("k", "s", "p", "bias"),
    [(3, 1, 1, True), ((2, 3), (2, 1), (1, 2), True), (3, 2, 0, False), (1, 1, 0, True)],
)
def test_gradients_match_finite_differences(k: object, s: object, p: object, bias: bool) -> None:
    rng = np.random.default_rng(3)
    layer = Conv2d(2, 3, k, stride=s, padding=p, bias=bias, rng=rng)
    if bias:
        layer.b.data[:] = rng.standard_normal(3)
    check_module_gradients(layer, rng.standard_normal((2, 2, 5, 6)), rng)


def test_layer_reused_twice_before_its_backwards() -> None:
    rng = np.random.default_rng(4)
    conv = Conv2d(2, 2, 3, padding=1, rng=rng)
    conv.b.data[:] = rng.standard_normal(2)
    check_module_gradients(Sequential(conv, conv), rng.standard_normal((2, 2, 4, 4)), rng)


def test_need_dx_false_and_frozen_parameters() -> None:
    rng = np.random.default_rng(5)
    layer = Conv2d(2, 3, 3, rng=rng)
    x, dout = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 3, 3))
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


def test_kernels_skip_work() -> None:
    rng = np.random.default_rng(6)
    x, W = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((3, 2, 2, 2))
    out, cache = conv2d_forward(x, W, None, (1, 1), (0, 0))
    dx, dW, db = conv2d_backward(np.ones_like(out), cache, need_dx=False, need_dW=True)
    assert dx is None and dW is not None and db is None  # no bias -> no db
    dx, dW, db = conv2d_backward(np.ones_like(out), cache, need_dx=True, need_dW=False)
    assert dx is not None and dx.shape == x.shape and dW is None and db is None


def test_no_grad_keeps_no_cache_and_backward_needs_forward() -> None:
    layer = Conv2d(1, 1, 2, rng=0)
    with no_grad():
        layer(np.ones((1, 1, 3, 3)))
    assert layer.num_cached_calls == 0
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 1, 2, 2)))


# --------------------------------------------------------------------------- dtypes / inputs


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(7)
    layer = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    out = layer(x)
    assert out.dtype == np.float32
    dx = layer.backward(np.ones(out.shape, np.float32))
    assert dx.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32
    assert im2col(x, 3, 1, 1).dtype == np.float32
    assert col2im(im2col(x, 3, 1, 1), x.shape, 3, 1, 1).dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"kernel_size": (3, 3, 3)}, ValueError, "kernel_size"),
        ({"kernel_size": 2.5}, TypeError, "kernel_size"),
        ({"kernel_size": 3, "stride": 0}, ValueError, "stride"),
        ({"kernel_size": 3, "padding": -1}, ValueError, "padding"),
        ({"kernel_size": 3, "padding": "same"}, TypeError, "padding"),
        ({"kernel_size": 3, "bias": 1}, TypeError, "bias"),
        ({"kernel_size": 3, "dtype": np.int32}, TypeError, "dtype"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        Conv2d(2, 3, **kwargs)


def test_bad_inputs_name_the_argument() -> None:
    layer = Conv2d(2, 3, 3)
    with pytest.raises(ValueError, match=r"x: expected a 4-D array"):
        layer(np.ones((2, 5, 5)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, in_channels"):
        layer(np.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="kernel_size"):
        layer(np.ones((1, 2, 2, 5)))
    layer(np.ones((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="dout: expected shape"):
        layer.backward(np.ones((1, 3, 2, 2)))
    assert layer.num_cached_calls == 1  # a rejected dout leaves the cache for a retry
    with pytest.raises(ValueError, match="cols: expected shape"):
        col2im(np.ones((3, 4)), (1, 1, 3, 3), 2)
    with pytest.raises(ValueError, match="x_shape"):
        col2im(np.ones((4, 4)), (3, 3), 2)
    with pytest.raises(ValueError, match="X: expected a 2-D"):
        corr2d(np.ones((1, 3, 3)), np.ones((2, 2)))


# --------------------------------------------------------------------------- torch reference


@requires_torch
@pytest.mark.parametrize(
    ("k", "s", "p", "bias"),
    [(3, 1, 1, True), ((3, 5), (3, 4), (0, 1), True), (2, 2, 0, False), (5, 1, 2, True)],
)
def test_matches_torch_conv2d(k: object, s: object, p: object, bias: bool) -> None:
    rng = np.random.default_rng(8)
    layer = Conv2d(3, 4, k, stride=s, padding=p, bias=bias, rng=rng)
    b = rng.standard_normal(4) if bias else None
    if bias:
        layer.b.data[:] = b
    x = rng.standard_normal((2, 3, 9, 8))
    xt = torch.tensor(x, requires_grad=True)
    Wt = torch.tensor(layer.W.data, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if bias else None
    yt = torch.nn.functional.conv2d(xt, Wt, bt, stride=s, padding=p)
    dout = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.b.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [1, 3])
def test_outputs_and_gradients_are_not_reused_work_buffers(n: int) -> None:
    # the layer reuses its work arrays between calls; what it returns must stay untouched
    rng = np.random.default_rng(9)
    layer = Conv2d(2, 3, 3, padding=1, rng=rng)
    x1, x2 = rng.standard_normal((2, n, 2, 4, 4))
    d1, d2 = rng.standard_normal((2, n, 3, 4, 4))
    y1 = layer(x1)
    dx1 = layer.backward(d1)
    keep = y1.copy(), dx1.copy()
    with no_grad():
        layer(x2)
    y2 = layer(x2)
    dx2 = layer.backward(d2)
    np.testing.assert_array_equal(y1, keep[0])
    np.testing.assert_array_equal(dx1, keep[1])
    zero = np.zeros(3)
    np.testing.assert_allclose(y2, _loop_conv(x2, layer.W.data, zero, (1, 1), (1, 1)), atol=1e-12)
    dcols = d2.transpose(0, 2, 3, 1).reshape(-1, 3) @ layer.W.data.reshape(3, -1)  # im2col rows
    np.testing.assert_allclose(dx2, col2im(dcols, x2.shape, 3, 1, 1), atol=1e-12)
