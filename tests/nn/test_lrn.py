"""Tests for dlcourse/nn/lrn.py: LocalResponseNorm."""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import LocalResponseNorm, Sequential, no_grad

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def _loop_lrn(x: np.ndarray, n: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """Independent reference: the definition, one channel at a time."""
    C = x.shape[1]
    out = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - n // 2), min(C - 1, c + (n - 1) // 2)
        s = (x[:, lo : hi + 1] ** 2).sum(axis=1)
        out[:, c] = x[:, c] / (k + alpha / n * s) ** beta
    return out


def test_hand_example() -> None:
    # channels [1, 2, 3], n = 3, α = 3, β = 1, k = 1: α/n = 1, window sums of squares
    # c0: 1 + 4 = 5, c1: 1 + 4 + 9 = 14, c2: 4 + 9 = 13 -> [1/6, 2/15, 3/14]
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    out = LocalResponseNorm(3, alpha=3.0, beta=1.0, k=1.0)(x)
    np.testing.assert_allclose(out.ravel(), [1 / 6, 2 / 15, 3 / 14], rtol=1e-15)


def test_even_window_reaches_further_back() -> None:
    # n = 2: the window of c is [c − 1, c] (⌊n/2⌋ = 1 before, ⌊(n−1)/2⌋ = 0 after)
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    out = LocalResponseNorm(2, alpha=2.0, beta=1.0, k=0.5)(x)
    np.testing.assert_allclose(out.ravel(), [1 / 1.5, 2 / 5.5, 3 / 13.5], rtol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9])
def test_matches_the_definition(n: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 3, 4))
    out = LocalResponseNorm(n, alpha=0.3, beta=0.75, k=2.0)(x)
    np.testing.assert_allclose(out, _loop_lrn(x, n, 0.3, 0.75, 2.0), rtol=1e-13)


@pytest.mark.parametrize(("n", "shape"), [(1, (2, 3, 4)), (2, (2, 4, 3)), (3, (2, 5, 2, 3)),
                                          (5, (1, 4, 2, 2)), (4, (2, 6, 1, 2, 2))])
def test_gradients_match_finite_differences(n: int, shape: tuple) -> None:
    rng = np.random.default_rng(1)
    layer = LocalResponseNorm(n, alpha=0.5, beta=0.75, k=1.5)
    check_module_gradients(layer, rng.standard_normal(shape), rng)


def test_gradients_with_default_alpha_and_large_inputs() -> None:
    rng = np.random.default_rng(2)
    check_module_gradients(LocalResponseNorm(5), 10 * rng.standard_normal((2, 7, 3, 3)), rng)


def test_reused_twice_before_its_backwards() -> None:
    rng = np.random.default_rng(3)
    lrn = LocalResponseNorm(3, alpha=1.0, beta=0.5, k=1.0)
    check_module_gradients(Sequential(lrn, lrn), rng.standard_normal((2, 4, 2, 2)), rng)


def test_need_dx_no_grad_and_missing_forward() -> None:
    lrn = LocalResponseNorm(3)
    lrn(np.ones((1, 3, 2, 2)))
    assert lrn.backward(np.ones((1, 3, 2, 2)), need_dx=False) is None
    assert lrn.num_cached_calls == 0
    with no_grad():
        lrn(np.ones((1, 3, 2, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        lrn.backward(np.ones((1, 3, 2, 2)))


def test_float32_stays_float32() -> None:
    x = np.random.default_rng(4).standard_normal((2, 5, 3, 3)).astype(np.float32)
    lrn = LocalResponseNorm(3, alpha=0.5)
    out = lrn(x)
    assert out.dtype == np.float32
    assert lrn.backward(np.ones(out.shape)).dtype == np.float32  # float64 dout cast back
    np.testing.assert_allclose(out, _loop_lrn(x.astype(np.float64), 3, 0.5, 0.75, 1.0),
                               rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"size": 0}, ValueError, "size"),
        ({"size": 2.0}, TypeError, "size"),
        ({"size": 3, "alpha": 0.0}, ValueError, "alpha"),
        ({"size": 3, "beta": -1.0}, ValueError, "beta"),
        ({"size": 3, "k": -1.0}, ValueError, "k"),
        ({"size": 3, "alpha": "a"}, TypeError, "alpha"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        LocalResponseNorm(**kwargs)


def test_bad_inputs_name_the_argument() -> None:
    lrn = LocalResponseNorm(3)
    with pytest.raises(ValueError, match="x: expected an array of at least 3"):
        lrn(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x"):
        lrn(np.full((1, 3, 2), np.nan))
    lrn(np.ones((1, 3, 2)))
    with pytest.raises(ValueError, match="dout: expected shape"):
        lrn.backward(np.ones((1, 3, 3)))
    assert lrn.num_cached_calls == 1  # a rejected dout leaves the cache for a retry


@requires_torch
@pytest.mark.parametrize(("n", "alpha", "beta", "k"),
                         [(5, 1e-4, 0.75, 1.0), (2, 0.5, 0.75, 2.0), (3, 1.0, 1.5, 0.5),
                          (4, 0.1, 0.6, 1.0)])
def test_matches_torch(n: int, alpha: float, beta: float, k: float) -> None:
    rng = np.random.default_rng(5)
    x = 3 * rng.standard_normal((2, 7, 4, 5))
    lrn = LocalResponseNorm(n, alpha=alpha, beta=beta, k=k)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.LocalResponseNorm(n, alpha=alpha, beta=beta, k=k)(xt)
    dout = rng.standard_normal(x.shape)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(lrn(x), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lrn.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-13)
