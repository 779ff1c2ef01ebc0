"""Tests for dlcourse/nn/upsample.py: AdaptiveAvgPool2d, MaxUnpool2d, Upsample."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import (
    AdaptiveAvgPool2d,
    MaxPool2d,
    MaxUnpool2d,
    Module,
    Sequential,
    Upsample,
    no_grad,
)
from dlcourse.nn.upsample import adaptive_bins, max_pool2d_with_indices, maxpool2d_indices

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def _torch_check(module: object, torch_fn: object, x: np.ndarray, *args: object) -> None:
    """Forward and backward of ``module(x, *args)`` against ``torch_fn(xt, *args)``."""
    rng = np.random.default_rng(99)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_fn(xt)
    dout = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(module(x, *args), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(module.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- AdaptiveAvgPool2d


def test_adaptive_bins_by_hand() -> None:
    # 5 into 3: ⌊0⌋..⌈5/3⌉ = [0, 2), ⌊5/3⌋..⌈10/3⌉ = [1, 4), ⌊10/3⌋..5 = [3, 5)
    assert adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]
    assert adaptive_bins(6, 3) == [(0, 2), (2, 4), (4, 6)]  # divides: plain 2-wide pooling
    assert adaptive_bins(2, 4) == [(0, 1), (0, 1), (1, 2), (1, 2)]  # upsampling repeats


def test_adaptive_pool_by_hand_and_special_cases() -> None:
    x = np.arange(15.0).reshape(1, 1, 3, 5)
    out = AdaptiveAvgPool2d((1, 3))(x)[0, 0]
    # rows all averaged (mean 5 + column); columns [0,2), [1,4), [3,5): means 0.5, 2, 3.5
    np.testing.assert_allclose(out, [[5.5, 7.0, 8.5]], rtol=1e-15)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 4))
    np.testing.assert_allclose(AdaptiveAvgPool2d(1)(x)[..., 0, 0], x.mean(axis=(2, 3)),
                               rtol=1e-13)
    np.testing.assert_allclose(AdaptiveAvgPool2d((3, 2))(x),
                               x.reshape(2, 3, 3, 2, 2, 2).mean(axis=(3, 5)), rtol=1e-13)
    np.testing.assert_allclose(AdaptiveAvgPool2d((None, 2))(x),
                               x.reshape(2, 3, 6, 2, 2).mean(axis=4), rtol=1e-13)


@pytest.mark.parametrize("size", [(3, 2), 1, (4, 7), (2, None), 5])
def test_adaptive_gradients(size: object) -> None:
    rng = np.random.default_rng(1)
    check_module_gradients(AdaptiveAvgPool2d(size), rng.standard_normal((2, 2, 5, 6)), rng)


# --------------------------------------------------------------------------- MaxUnpool2d


def test_indices_by_hand() -> None:
    x = np.array([[1.0, 9.0, 2.0, 0.0],
                  [3.0, 4.0, 8.0, 5.0],
                  [6.0, 7.0, 0.0, 1.0],
                  [0.0, 2.0, 3.0, 0.0]]).reshape(1, 1, 4, 4)
    out, idx = max_pool2d_with_indices(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[9, 8], [7, 3]])
    np.testing.assert_array_equal(idx[0, 0], [[1, 6], [9, 14]])  # h·4 + w
    up = MaxUnpool2d(2)(out, idx)[0, 0]
    want = np.where(np.isin(np.arange(16), [1, 6, 9, 14]).reshape(4, 4), x[0, 0], 0.0)
    np.testing.assert_array_equal(up, want)
    # with padding 1, stride 2, window 3: indices refer to the unpadded plane
    _, idx = max_pool2d_with_indices(x, 3, 2, 1)
    np.testing.assert_array_equal(idx[0, 0], [[1, 1], [9, 6]])


def test_indices_from_a_pooling_module_call() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((2, 3, 6, 5)) + 0.5  # positive: an unpooled window's max is its kept value
    pool = MaxPool2d(2)
    out = pool(x)
    idx = maxpool2d_indices(pool)
    assert pool.num_cached_calls == 1  # read, not consumed: the pool's backward still works
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1),
                                                     axis=2).reshape(out.shape), out)
    # the unpooled image, max-pooled again, gives the pooled values back
    up = MaxUnpool2d(2)(out, idx, output_size=x.shape)
    np.testing.assert_array_equal(MaxPool2d(2)(up), out)
    np.testing.assert_array_equal(MaxUnpool2d(2)(out, pool, x.shape), up)  # the module itself
    # and its gradient is the pool's gradient with the roles swapped (gather vs scatter)
    dout = rng.standard_normal(out.shape)
    dx_pool = pool.backward(dout)
    unpool = MaxUnpool2d(2)
    unpool(out, idx, output_size=x.shape[2:])
    np.testing.assert_array_equal(unpool.backward(dx_pool), dout)


class _PoolUnpool(Module):
    """max-pool then unpool with the pool's indices (a SegNet decoder step)."""

    def __init__(self, k: object, s: object, p: object) -> None:
        super().__init__()
        self.pool, self.unpool = MaxPool2d(k, s, p), MaxUnpool2d(k, s, p)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self.pool(x)
        if self.pool.num_cached_calls:
            idx = maxpool2d_indices(self.pool)
        else:  # no_grad: take the indices from a separate call
            idx = max_pool2d_with_indices(x, self.pool.kernel_size, self.pool.stride,
                                          self.pool.padding)[1]
        return self.unpool(out, idx, output_size=x.shape)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return self.pool.backward(self.unpool.backward(dout), need_dx)


@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 3, 1), ((2, 3), (2, 3), (1, 1))])
def test_unpool_gradients(k: object, s: object, p: object) -> None:
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) * 0.01  # no ties
    pool = MaxPool2d(k, s, p)
    out = pool(x)
    idx = maxpool2d_indices(pool)
    # unpooling is linear in its input: gradient-check it on its own
    unpool = MaxUnpool2d(k, s, p)
    y = unpool(out, idx, x.shape)
    dout = rng.standard_normal(y.shape)
    dx = unpool.backward(dout)
    e = np.zeros_like(out)
    for i in rng.choice(out.size, 10, replace=False):  # directional derivatives = columns
        e.flat[:] = 0
        e.flat[i] = 1.0
        with no_grad():
            assert np.sum(unpool(e, idx, x.shape) * dout) == pytest.approx(dx.flat[i], abs=1e-14)
    check_module_gradients(_PoolUnpool(k, s, p), x, rng)


def test_overlapping_windows_share_an_index() -> None:
    # 3×3 windows with stride 2 overlap: a maximum on the shared row is taken by two windows.
    # Forward writes the value once; backward gathers dout there for both (as PyTorch), so
    # this backward is the adjoint of the forward only for distinct indices.
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 1.0  # in both windows
    out, idx = max_pool2d_with_indices(x, 3, 2)
    np.testing.assert_array_equal(idx[0, 0], [[7, 7]])
    unpool = MaxUnpool2d(3, 2)
    np.testing.assert_array_equal(unpool(out, idx, (3, 5))[0, 0], x[0, 0])
    dout = np.arange(15.0).reshape(1, 1, 3, 5)
    np.testing.assert_array_equal(unpool.backward(dout)[0, 0], [[7, 7]])


def test_unpool_output_size_default_and_range() -> None:
    x, idx = np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int64)
    assert MaxUnpool2d(2)(x, idx).shape == (1, 1, 4, 4)  # (2 − 1)·2 + 2
    assert MaxUnpool2d(3, 2, 1)(x, idx).shape == (1, 1, 3, 3)  # (2 − 1)·2 − 2 + 3
    assert MaxUnpool2d(2)(x, idx, output_size=(5, 5)).shape == (1, 1, 5, 5)  # a 5×5 pooled
    with pytest.raises(ValueError, match="output_size: expected each size strictly between"):
        MaxUnpool2d(2)(x, idx, output_size=(6, 4))
    with pytest.raises(ValueError, match="output_size: expected"):
        MaxUnpool2d(2)(x, idx, output_size=5)


def test_unpool_bad_indices() -> None:
    x = np.ones((1, 1, 2, 2))
    unpool = MaxUnpool2d(2)
    with pytest.raises(TypeError, match="indices: expected an integer array"):
        unpool(x, np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="indices: expected the shape of x"):
        unpool(x, np.zeros((1, 1, 2, 3), np.int64))
    with pytest.raises(ValueError, match=r"indices: expected values in \[0, 16\)"):
        unpool(x, np.full((1, 1, 2, 2), 16))
    with pytest.raises(TypeError, match="source: expected a MaxPool2d"):
        maxpool2d_indices(x)
    with pytest.raises(ValueError, match="stride"):
        MaxUnpool2d(2, stride=0)


# --------------------------------------------------------------------------- Upsample


def test_upsample_by_hand() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(Upsample((1, 3))(x)[0, 0], [[1, 1, 1, 2, 2, 2],
                                                              [3, 3, 3, 4, 4, 4]])
    up = Upsample(2)
    up(x)
    # each input pixel's gradient is the sum over its 2×2 block
    np.testing.assert_array_equal(up.backward(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0],
                                  [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 34 + 16]])
    # 1.5: output 3 from 2, source rows ⌊0/1.5⌋, ⌊1/1.5⌋, ⌊2/1.5⌋ = 0, 0, 1
    np.testing.assert_array_equal(Upsample(1.5)(x)[0, 0], [[1, 1, 2], [1, 1, 2], [3, 3, 4]])


@pytest.mark.parametrize("s", [2, (2, 3), 1.5, (2.5, 0.5), 1])
def test_upsample_gradients(s: object) -> None:
    rng = np.random.default_rng(4)
    check_module_gradients(Upsample(s), rng.standard_normal((2, 2, 3, 4)), rng)


def test_upsample_bad_arguments() -> None:
    with pytest.raises(ValueError, match="scale_factor"):
        Upsample(0)
    with pytest.raises(TypeError, match="scale_factor"):
        Upsample("2")
    with pytest.raises(ValueError, match="scale_factor"):
        Upsample((2, 2, 2))
    with pytest.raises(ValueError, match="mode"):
        Upsample(2, mode="bilinear")
    with pytest.raises(ValueError, match="x: expected a 4-D"):
        Upsample(2)(np.ones((2, 2)))
    with pytest.raises(ValueError, match="x: shape"):
        Upsample(0.2)(np.ones((1, 1, 2, 2)))


# --------------------------------------------------------------------------- shared behaviour


MODULES = [lambda: AdaptiveAvgPool2d((2, 3)), lambda: Upsample(2), lambda: Upsample(1.5)]


@pytest.mark.parametrize("make", MODULES)
def test_reused_need_dx_no_grad(make: object) -> None:
    rng = np.random.default_rng(5)
    m = make()
    check_module_gradients(Sequential(m, m), rng.standard_normal((1, 2, 4, 6)), rng)
    y = m(np.ones((1, 1, 4, 6)))
    assert m.backward(np.ones(y.shape), need_dx=False) is None
    assert m.num_cached_calls == 0
    with no_grad():
        m(np.ones((1, 1, 4, 6)))
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.ones(y.shape))
    m(np.ones((1, 1, 4, 6)))
    with pytest.raises(ValueError, match="dout: expected shape"):
        m.backward(np.ones((1, 1, 1, 1)))
    assert m.num_cached_calls == 1


@pytest.mark.parametrize("make", [*MODULES, lambda: MaxUnpool2d(2)])
def test_float32_stays_float32(make: object) -> None:
    m = make()
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 6)).astype(np.float32)
    args = (np.zeros(x.shape, np.int64),) if isinstance(m, MaxUnpool2d) else ()
    out = m(x, *args)
    assert out.dtype == np.float32
    assert m.backward(np.ones(out.shape)).dtype == np.float32  # float64 dout cast back


def test_adaptive_bad_arguments() -> None:
    with pytest.raises(ValueError, match="output_size"):
        AdaptiveAvgPool2d(0)
    with pytest.raises(TypeError, match="output_size"):
        AdaptiveAvgPool2d(2.5)
    with pytest.raises(ValueError, match="output_size"):
        AdaptiveAvgPool2d((1, 2, 3))
    with pytest.raises(ValueError, match="x: expected a 4-D"):
        AdaptiveAvgPool2d(2)(np.ones((3, 3)))


# --------------------------------------------------------------------------- torch reference


@requires_torch
@pytest.mark.parametrize("size", [(3, 4), 1, (5, None), (7, 9), (4, 6), (10, 2)])
def test_adaptive_matches_torch(size: object) -> None:
    x = np.random.default_rng(7).standard_normal((2, 3, 7, 9))
    _torch_check(AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size), x)


@requires_torch
@pytest.mark.parametrize("s", [2, (2, 3), 1.5, 2.5, (0.5, 1.7), 3, 1.3])
def test_upsample_matches_torch(s: object) -> None:
    x = np.random.default_rng(8).standard_normal((2, 3, 7, 9))
    _torch_check(Upsample(s), torch.nn.Upsample(scale_factor=s, mode="nearest"), x)


@requires_torch
@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 2, 1), ((2, 3), (2, 1), (1, 1)),
                                           (3, 3, 0)])
def test_indices_and_unpool_match_torch(k: object, s: object, p: object) -> None:
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 9))
    out, idx = max_pool2d_with_indices(x, k, s, p)
    ot, it = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    np.testing.assert_array_equal(out, ot.numpy())
    np.testing.assert_array_equal(idx, it.numpy())
    unpool = MaxUnpool2d(k, s, p)
    _torch_check(unpool, lambda t: torch.nn.functional.max_unpool2d(t, it, k, s, p, x.shape),
                 out, idx, x.shape)
