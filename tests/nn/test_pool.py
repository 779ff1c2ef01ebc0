"""Tests for dlcourse/nn/pool.py: MaxPool2d and AvgPool2d."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import AvgPool2d, MaxPool2d, Sequential, no_grad

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

X16 = np.arange(16.0).reshape(1, 1, 4, 4)


# --------------------------------------------------------------------------- the notes' examples


def test_notes_pool2d_max_and_average() -> None:
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(MaxPool2d(2, stride=1)(X)[0, 0], [[4, 5], [7, 8]])
    np.testing.assert_array_equal(AvgPool2d(2, stride=1)(X)[0, 0], [[2, 3], [5, 6]])


@pytest.mark.parametrize(
    ("args", "kwargs", "want"),
    [
        ((3,), {}, [[10]]),
        ((3,), {"padding": 1, "stride": 2}, [[5, 7], [13, 15]]),
        (((2, 4),), {"padding": (1, 2), "stride": (2, 3)}, [[1, 3], [9, 11], [13, 15]]),
    ],
)
def test_notes_max_pool_padding_and_stride(args: tuple, kwargs: dict, want: list) -> None:
    np.testing.assert_array_equal(MaxPool2d(*args, **kwargs)(X16)[0, 0], want)


def test_notes_two_channels() -> None:
    X = np.concatenate([X16, X16 + 1], axis=1)
    out = MaxPool2d(3, padding=1, stride=2)(X)[0]
    np.testing.assert_array_equal(out, [[[5, 7], [13, 15]], [[6, 8], [14, 16]]])


def test_average_counts_the_zero_padding() -> None:
    # window at (0, 0) of 3×3 pooling with padding 1 covers x[0:2, 0:2] = 0+1+4+5 = 10 and
    # five padded zeros: 10/9 (PyTorch's count_include_pad=True)
    out = AvgPool2d(3, stride=2, padding=1)(X16)[0, 0]
    assert out.shape == (2, 2)
    assert out[0, 0] == pytest.approx(10 / 9)


# --------------------------------------------------------------------------- gradients


def test_max_gradient_goes_to_the_arg_max_and_overlaps_add() -> None:
    x = np.array([[1.0, 9.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
    pool = MaxPool2d(2, stride=1)
    np.testing.assert_array_equal(pool(x)[0, 0], [[9, 9], [7, 8]])
    dx = pool.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # 9 wins the two top windows (1 + 2), 7 and 8 the bottom ones
    np.testing.assert_array_equal(dx[0, 0], [[0, 3, 0], [0, 0, 0], [0, 3, 4]])


def test_max_ties_go_to_the_first_in_row_major_order() -> None:
    pool = MaxPool2d(2)
    pool(np.ones((1, 1, 4, 4)))
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    want = np.zeros((4, 4))
    want[::2, ::2] = 1
    np.testing.assert_array_equal(dx[0, 0], want)
    x = np.array([[0.0, 5.0], [5.0, 5.0]]).reshape(1, 1, 2, 2)  # three tied maxima
    pool(x)
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1)))[0, 0], [[0, 1], [0, 0]])


def test_average_backward_spreads_evenly() -> None:
    pool = AvgPool2d(2, stride=1)
    pool(np.zeros((1, 1, 3, 3)))
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize(
    ("k", "s", "p"), [(2, None, 0), (3, 1, 1), ((2, 3), (1, 2), (1, 1)), (3, 2, 1)]
)
def test_gradients_match_finite_differences(cls: type, k: object, s: object, p: object) -> None:
    rng = np.random.default_rng(0)
    # distinct values 0.01 apart (no ties within eps), so max pooling is differentiable at x
    x = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) * 0.01
    check_module_gradients(cls(k, stride=s, padding=p), x, rng)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_reused_twice_before_its_backwards(cls: type) -> None:
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.01
    check_module_gradients(Sequential(cls(2, stride=1), cls(2, stride=1)), x, rng)
    pool = cls(2, stride=1)
    check_module_gradients(Sequential(pool, pool), x, rng)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_need_dx_no_grad_and_missing_forward(cls: type) -> None:
    pool = cls(2)
    pool(np.ones((1, 1, 4, 4)))
    assert pool.backward(np.ones((1, 1, 2, 2)), need_dx=False) is None
    assert pool.num_cached_calls == 0
    with no_grad():
        pool(np.ones((1, 1, 4, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        pool.backward(np.ones((1, 1, 2, 2)))


# --------------------------------------------------------------------------- dtypes / inputs


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_float32_stays_float32(cls: type) -> None:
    pool = cls(3, stride=2, padding=1)
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 7)).astype(np.float32)
    out = pool(x)
    assert out.dtype == np.float32 and out.shape == (2, 3, 4, 4)
    assert pool.backward(np.ones(out.shape, np.float32)).dtype == np.float32
    pool(x)
    assert pool.backward(np.ones(out.shape)).dtype == np.float32  # float64 dout cast back


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_bad_arguments_name_them(cls: type) -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        cls(0)
    with pytest.raises(TypeError, match="kernel_size"):
        cls(2.0)
    with pytest.raises(ValueError, match="stride"):
        cls(2, stride=(1, 0))
    with pytest.raises(ValueError, match="padding: expected at most half"):
        cls(3, padding=2)
    pool = cls(3)
    with pytest.raises(ValueError, match="x: expected a 4-D"):
        pool(np.ones((4, 4)))
    with pytest.raises(ValueError, match="x: expected a padded size"):
        pool(np.ones((1, 1, 2, 5)))
    pool(np.ones((1, 1, 6, 6)))
    with pytest.raises(ValueError, match="dout: expected shape"):
        pool.backward(np.ones((1, 1, 3, 3)))


# --------------------------------------------------------------------------- torch reference


@requires_torch
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    ("k", "s", "p"), [(2, None, 0), (3, 1, 1), ((2, 4), (2, 3), (1, 2)), (3, 2, 1), (2, 3, 0)]
)
def test_matches_torch(kind: str, k: object, s: object, p: object) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 8))
    x[0, 0, :2, :2] = 1.5  # a tie, which both must break the same way
    pool = (MaxPool2d if kind == "max" else AvgPool2d)(k, stride=s, padding=p)
    ref = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt, k, stride=s, padding=p)
    dout = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(pool(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(pool.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- ties, per-window loop
# The kernel's arg-max is a running maximum updated arithmetically over the kernel offsets; an
# independent per-window loop (np.argmax: the first maximum in row-major order) checks it on
# inputs with many ties, for tiling, overlapping and gapped windows and sizes that leave
# rows or columns out.


def _loop_max_pool(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> tuple:
    """Reference without padding: out and the arg-max code u·kw + v of each window, by loops."""
    N, C, H, W = x.shape
    oh, ow = (H - k[0]) // s[0] + 1, (W - k[1]) // s[1] + 1
    out, arg = np.empty((N, C, oh, ow), x.dtype), np.empty((N, C, oh, ow), np.int64)
    for n, c, i, j in np.ndindex(N, C, oh, ow):
        win = x[n, c, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]].ravel()
        arg[n, c, i, j] = np.argmax(win)
        out[n, c, i, j] = win[arg[n, c, i, j]]
    return out, arg


def _tied_input(rng: np.random.Generator, shape: tuple, dtype: type) -> np.ndarray:
    """Small integers (many tied maxima) plus a few random non-integer values."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    return x + (rng.random(shape) < 0.2) * rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("hw", "k", "s"),
    [((8, 8), (2, 2), (2, 2)), ((7, 9), (2, 2), (2, 2)), ((6, 9), (2, 3), (2, 3)),
     ((9, 8), (3, 3), (3, 3)), ((8, 12), (4, 4), (4, 4)), ((5, 4), (1, 1), (1, 1)),
     ((7, 8), (3, 2), (1, 1)), ((9, 9), (2, 2), (3, 3)), ((6, 7), (3, 3), (2, 1)),
     ((18, 19), (17, 17), (1, 1))],  # 289 offsets: the arg-max codes need int32
)
def test_max_pool_with_ties_matches_a_per_window_loop(
    dtype: type, hw: tuple, k: tuple, s: tuple
) -> None:
    rng = np.random.default_rng(7)
    x = _tied_input(rng, (2, 3, *hw), dtype)
    want_out, want_arg = _loop_max_pool(x, k, s)
    pool = MaxPool2d(k, stride=s)
    out = pool(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(pool._peek_cache().arg, want_arg)
    dout = rng.standard_normal(want_out.shape).astype(dtype)
    want_dx = np.zeros_like(x)  # each dout added at its window's arg-max
    for n, c, i, j in np.ndindex(*want_out.shape):
        u, v = divmod(int(want_arg[n, c, i, j]), k[1])
        want_dx[n, c, i * s[0] + u, j * s[1] + v] += dout[n, c, i, j]
    dx = pool.backward(dout)
    assert dx.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-14  # overlaps may add in another order
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("hw", "k"), [((8, 8), 2), ((7, 9), 2), ((9, 8), 3), ((8, 12), 4)])
def test_max_pool_with_ties_matches_torch_indices(dtype: type, hw: tuple, k: int) -> None:
    rng = np.random.default_rng(9)
    x = _tied_input(rng, (2, 3, *hw), dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt, idx = torch.nn.functional.max_pool2d(xt, k, return_indices=True)
    dout = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yt.backward(torch.tensor(dout))
    pool = MaxPool2d(k)
    np.testing.assert_array_equal(pool(x), yt.detach().numpy())
    arg = pool._peek_cache().arg.astype(np.int64)
    i, j = np.indices(arg.shape[2:])
    flat = (i * k + arg // k) * hw[1] + j * k + arg % k  # torch's flat index in the (H, W) plane
    np.testing.assert_array_equal(flat, idx.numpy())
    np.testing.assert_array_equal(pool.backward(dout), xt.grad.numpy())
