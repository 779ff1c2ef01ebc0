"""Tests for dlcourse/nn/dropout.py (inverted dropout).

Statistical tolerances: for n independent Bernoulli(q) draws the empirical rate has standard
deviation √(q(1 − q)/n); every bound below is 6 such deviations, so one check fails by chance
with probability < 2e-9 (normal approximation, n ≥ 10⁴), whatever the seed. The tests loop over
20 seeds to show the bounds hold for more than one lucky seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import Dropout, Linear, Module, Sequential, Tanh, no_grad

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

SEEDS = range(20)


def _six_sigma(q: float, n: int) -> float:
    return 6 * np.sqrt(q * (1 - q) / n)


class Reseeded(Module):
    """Runs ``net`` with every Dropout's Generator reset to a fixed seed before each forward,
    so that all forwards of a finite-difference check draw the same masks."""

    def __init__(self, net: Module, seed: int) -> None:
        super().__init__()
        self.net, self.seed = net, seed

    def forward(self, x: np.ndarray) -> np.ndarray:
        for m in self.net.modules():
            if isinstance(m, Dropout):
                m.rng = np.random.default_rng(self.seed)
        return self.net(x)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        return self.net.backward(dout, need_dx=need_dx)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_kept_units_are_scaled_by_one_over_keep_probability(p: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, size=(50, 40))  # no zeros: a zero output means "dropped"
    drop = Dropout(p, rng=1)
    out = drop(x)
    kept = out != 0
    assert 0 < kept.sum() < x.size
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)
    dout = rng.standard_normal(x.shape)
    dx = drop.backward(dout)
    np.testing.assert_allclose(dx[kept], dout[kept] / (1 - p), rtol=1e-15)
    assert not dx[~kept].any()  # the same mask in backward


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("seed", SEEDS)
def test_keep_rate_and_mean_are_preserved_over_seeds(p: float, seed: int) -> None:
    n = 100_000
    x = np.full((100, 1000), 3.0)
    out = Dropout(p, rng=seed)(x)
    q = 1 - p
    keep_rate = np.count_nonzero(out) / n
    assert abs(keep_rate - q) < _six_sigma(q, n)
    # E[out] = x: out/3 = mask/q, whose mean has standard deviation √(q(1−q)/n)/q
    assert abs(out.mean() / 3.0 - 1.0) < _six_sigma(q, n) / q


@pytest.mark.parametrize("seed", SEEDS)
def test_masks_are_drawn_per_unit_and_per_sample(seed: int) -> None:
    # The notes' two-input example: 4 subsets of 2 units, each kept with probability 1/4 at
    # p = 0.5 if the units' masks are independent (a mask per sample, not one per batch).
    n = 40_000
    out = Dropout(0.5, rng=seed)(np.ones((n, 2)))
    pattern = (out[:, 0] != 0).astype(int) * 2 + (out[:, 1] != 0)
    freqs = np.bincount(pattern, minlength=4) / n
    assert np.all(np.abs(freqs - 0.25) < _six_sigma(0.25, n)), freqs


def test_eval_mode_is_the_identity() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5))
    drop = Dropout(0.5, rng=0).eval()
    np.testing.assert_array_equal(drop(x), x)
    dout = rng.standard_normal((6, 5))
    np.testing.assert_array_equal(drop.backward(dout), dout)
    drop.train()
    assert np.count_nonzero(drop(x)) < x.size  # training again drops units


def test_p_one_drops_everything_without_dividing_by_zero() -> None:
    # filterwarnings = error turns a 1/0 RuntimeWarning into a failure
    drop = Dropout(1.0, rng=0)
    out = drop(np.ones((4, 3)))
    np.testing.assert_array_equal(out, np.zeros((4, 3)))
    np.testing.assert_array_equal(drop.backward(np.ones((4, 3))), np.zeros((4, 3)))


def test_p_zero_is_the_identity_in_training() -> None:
    x = np.arange(12.0).reshape(3, 4)
    drop = Dropout(0.0, rng=0)
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(np.ones((3, 4))), np.ones((3, 4)))


def test_gradients_match_finite_differences_with_the_mask_held_fixed() -> None:
    rng = np.random.default_rng(3)
    check_module_gradients(Reseeded(Dropout(0.4), seed=5), rng.standard_normal((6, 7)), rng)
    net = Sequential(Linear(5, 6, rng=rng), Tanh(), Dropout(0.3), Linear(6, 2, rng=rng))
    check_module_gradients(Reseeded(net, seed=6), rng.standard_normal((4, 5)), rng)


def test_layer_reused_twice_keeps_one_mask_per_call() -> None:
    rng = np.random.default_rng(4)
    lin = Linear(6, 6, rng=rng)
    drop = Dropout(0.5)
    net = Sequential(drop, lin, Tanh(), drop)  # the same Dropout twice in one pass
    check_module_gradients(Reseeded(net, seed=7), rng.standard_normal((5, 6)), rng)
    # and directly: two calls, then backwards in reverse order, each with its own mask
    x = np.ones((50, 8))
    first, second = drop(x), drop(x)
    assert not np.array_equal(first != 0, second != 0)
    ones = np.ones((50, 8))
    np.testing.assert_array_equal(drop.backward(ones), second)  # x = 1: dx = out
    np.testing.assert_array_equal(drop.backward(ones), first)
    assert drop.num_cached_calls == 0


def test_seed_reproduces_masks_and_seeds_differ() -> None:
    x = np.ones((20, 30))
    a, b, c = Dropout(0.5, rng=11)(x), Dropout(0.5, rng=11)(x), Dropout(0.5, rng=12)(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_float32_stays_float32_and_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    x0 = x.copy()
    drop = Dropout(0.25, rng=0)
    out = drop(x)
    assert out.dtype == np.float32
    dx = drop.backward(np.ones((8, 4)))  # float64 dout is cast to the input's dtype
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(x, x0)


def test_no_grad_need_dx_and_repr() -> None:
    drop = Dropout(0.5, rng=0)
    with no_grad():
        drop(np.ones((2, 3)))
    assert drop.num_cached_calls == 0
    drop(np.ones((2, 3)))
    assert drop.backward(np.ones((2, 3)), need_dx=False) is None
    assert drop.num_cached_calls == 0
    assert repr(Dropout(0.3)) == "Dropout(p=0.3)"
    assert Dropout().p == 0.5  # PyTorch's default
    assert not Dropout().parameters()


@requires_torch
@pytest.mark.parametrize("p", [0.3, 0.7])
def test_same_convention_as_torch(p: float) -> None:
    # Masks are random in both, so compare the convention: p is the drop probability, kept
    # units are multiplied by 1/(1 − p) in training and the gradient uses the same mask.
    x = np.random.default_rng(6).uniform(1.0, 2.0, size=(200, 50))
    ours = Dropout(p, rng=0)(x)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.Dropout(p)(xt)
    ref.sum().backward()
    ref_np = ref.detach().numpy()
    for out in (ours, ref_np):
        kept = out != 0
        np.testing.assert_allclose(out[kept] / x[kept], 1 / (1 - p), rtol=1e-14)
        assert abs(kept.mean() - (1 - p)) < _six_sigma(1 - p, x.size)
    np.testing.assert_allclose(xt.grad.numpy(), (ref_np != 0) / (1 - p), rtol=1e-14)
    np.testing.assert_array_equal(
        torch.nn.Dropout(p).eval()(torch.tensor(x)).numpy(), Dropout(p).eval()(x)
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"p": 1.5}, ValueError, r"p: expected a value in \[0, 1\], got 1.5"),
        ({"p": -0.1}, ValueError, r"p: expected a value in \[0, 1\], got -0.1"),
        ({"p": "0.5"}, TypeError, "p: expected a real number"),
        ({"p": True}, TypeError, "p: expected a real number"),
        ({"p": 0.5, "rng": "seed"}, TypeError, "rng: expected a numpy Generator"),
    ],
)
def test_bad_constructor_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        Dropout(**kwargs)


def test_bad_inputs_raise_naming_the_argument() -> None:
    drop = Dropout(0.5, rng=0)
    with pytest.raises(TypeError, match="x: expected a numeric array"):
        drop(np.array([["a"]]))
    with pytest.raises(ValueError, match="x: expected finite values"):
        drop(np.array([np.inf]))
    with pytest.raises(RuntimeError, match="before forward"):
        drop.backward(np.zeros((2, 2)))
    drop(np.ones((2, 3)))
    want = r"dout: expected the shape of the forward output \(2, 3\), got \(3, 2\)"
    with pytest.raises(ValueError, match=want):
        drop.backward(np.ones((3, 2)))
    assert drop.backward(np.ones((2, 3))).shape == (2, 3)  # a rejected dout keeps the cache
