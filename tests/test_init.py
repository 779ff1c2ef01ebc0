"""Tests for dlcourse/init.py: closed-form fans, bounds, and large-sample statistics.

Statistical checks use ~6 standard errors: the sample std of n draws from N(0, σ²) has
standard error σ/√(2n); the sample mean σ/√n; the sample variance of U[−r, r] has standard
error r²·√(4/45)/√n.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import init

K = 6.0  # tolerance in standard errors


def assert_normal_stats(w: np.ndarray, std: float) -> None:
    n = w.size
    assert abs(w.mean()) < K * std / math.sqrt(n)
    assert abs(w.std() - std) < K * std / math.sqrt(2 * n)


def assert_uniform_stats(w: np.ndarray, r: float) -> None:
    n = w.size
    assert w.min() >= -r and w.max() <= r
    assert w.max() > r * (1 - 1e-3) and w.min() < -r * (1 - 1e-3)  # the bound is reached
    assert abs(w.mean()) < K * r / math.sqrt(3 * n)
    assert abs(w.var() - r * r / 3) < K * r * r * math.sqrt(4 / 45) / math.sqrt(n)


def test_fans_for_dense_and_conv_shapes():
    assert init.fans((784, 100)) == (784, 100)  # dense W is (in_features, out_features)
    assert init.fans((16, 3, 5, 5)) == (75, 400)  # conv W is (F, C, kh, kw)
    assert init.fans((4, 2, 3)) == (6, 12)
    with pytest.raises(ValueError, match="shape"):
        init.fans((10,))


def test_zeros_and_constant():
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3)))
    assert init.zeros(4, dtype=np.float32).dtype == np.float32
    c = init.constant((3,), 0.01)
    np.testing.assert_array_equal(c, [0.01, 0.01, 0.01])
    assert c.dtype == np.float64


def test_normal_and_uniform_statistics():
    assert_normal_stats(init.normal((1000, 500), std=0.01, rng=0), 0.01)
    w = init.normal((1000, 100), std=2.0, mean=3.0, rng=1)
    assert abs(w.mean() - 3.0) < K * 2.0 / math.sqrt(w.size)
    assert_uniform_stats(init.uniform((1000, 500), -0.2, 0.2, rng=2), 0.2)
    w = init.uniform((1000,), 1.0, 3.0, rng=3)
    assert w.min() >= 1.0 and w.max() < 3.0


def test_xavier_statistics():
    shape = (1000, 500)
    std = math.sqrt(2.0 / 1500)  # var = 2/(M_in + M_out)
    assert_normal_stats(init.xavier_normal(shape, rng=4), std)
    assert_normal_stats(init.xavier_normal(shape, gain=2.0, rng=5), 2.0 * std)
    assert_uniform_stats(init.xavier_uniform(shape, rng=6), math.sqrt(6.0 / 1500))
    conv = (64, 32, 3, 3)  # fan_in 288, fan_out 576
    assert_uniform_stats(init.xavier_uniform(conv, rng=7), math.sqrt(6.0 / (288 + 576)))


def test_kaiming_statistics():
    w = init.kaiming_normal((2000, 500), rng=8)
    assert_normal_stats(w, math.sqrt(2.0 / 2000))  # He: var = 2/M_in
    assert_uniform_stats(init.kaiming_uniform((2000, 500), rng=9), math.sqrt(6.0 / 2000))
    conv = (64, 32, 3, 3)
    assert_normal_stats(init.kaiming_normal(conv, rng=10), math.sqrt(2.0 / 288))
    assert_normal_stats(init.kaiming_normal(conv, mode="fan_out", rng=11), math.sqrt(2.0 / 576))
    assert_uniform_stats(init.kaiming_uniform((2000, 500), gain=1.0, rng=12),
                         math.sqrt(3.0 / 2000))


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (30, 30), (8, 4, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)])
def test_orthogonal(shape, gain):
    w = init.orthogonal(shape, gain=gain, rng=13)
    assert w.shape == shape
    q = w.reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_preserves_norms():
    w = init.orthogonal((64, 64), rng=14)
    v = np.random.default_rng(15).standard_normal((10, 64))
    np.testing.assert_allclose(np.linalg.norm(v @ w, axis=1), np.linalg.norm(v, axis=1),
                               rtol=1e-12)


RANDOM_INITS = [
    lambda s, **kw: init.normal(s, **kw),
    lambda s, **kw: init.uniform(s, **kw),
    lambda s, **kw: init.xavier_normal(s, **kw),
    lambda s, **kw: init.xavier_uniform(s, **kw),
    lambda s, **kw: init.kaiming_normal(s, **kw),
    lambda s, **kw: init.kaiming_uniform(s, **kw),
    lambda s, **kw: init.orthogonal(s, **kw),
]


@pytest.mark.parametrize("make", RANDOM_INITS)
def test_reproducible_seeded_and_dtype(make):
    a, b, c = make((6, 4), rng=42), make((6, 4), rng=42), make((6, 4), rng=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g = np.random.default_rng(0)
    assert not np.array_equal(make((6, 4), rng=g), make((6, 4), rng=g))  # generator advances
    w32 = make((6, 4), rng=42, dtype=np.float32)
    assert w32.dtype == np.float32 and a.dtype == np.float64
    np.testing.assert_allclose(w32, a, rtol=1e-6)
    assert make((6, 4)).shape == (6, 4)  # rng=None: fresh entropy


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: init.zeros((-1, 3)), ValueError, "shape"),
        (lambda: init.zeros("abc"), TypeError, "shape"),
        (lambda: init.zeros((2.5, 3)), TypeError, "shape"),
        (lambda: init.zeros((2, 3), dtype=np.int64), TypeError, "dtype"),
        (lambda: init.normal((2, 3), dtype="float16"), TypeError, "dtype"),
        (lambda: init.normal((2, 3), std=-1.0), ValueError, "std"),
        (lambda: init.uniform((2, 3), 1.0, 1.0), ValueError, "high"),
        (lambda: init.constant((2,), [1.0, 2.0]), ValueError, "value"),
        (lambda: init.xavier_uniform((2, 3), gain=-1.0), ValueError, "gain"),
        (lambda: init.kaiming_normal((2, 3), mode="fan_avg"), ValueError, "mode"),
        (lambda: init.kaiming_uniform((5,)), ValueError, "shape"),
        (lambda: init.orthogonal((5,)), ValueError, "shape"),
        (lambda: init.normal((2, 3), rng="seed"), TypeError, "rng"),
    ],
)
def test_bad_inputs_raise_with_argument_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_initialize_resolves_names_callables_and_checks_the_shape() -> None:
    from dlcourse.init import initialize, kaiming_uniform

    W = initialize("kaiming_uniform", (4, 3), rng=0, dtype=np.float32)
    np.testing.assert_array_equal(W, kaiming_uniform((4, 3), rng=0, dtype=np.float32))
    assert W.dtype == np.float32
    assert not initialize("zeros", (2, 2)).any()
    with pytest.raises(ValueError, match="init: expected one of"):
        initialize("he", (2, 2))
    with pytest.raises(ValueError, match=r"init: expected an array of shape \(2, 2\), got \(3,\)"):
        initialize(lambda shape, rng=None, dtype=None: np.zeros(3), (2, 2))
