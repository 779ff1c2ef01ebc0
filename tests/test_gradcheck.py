"""Tests for dlcourse/gradcheck.py on functions with known closed-form gradients."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import gradcheck as G


def x_sample(seed: int = 0, shape: tuple[int, ...] = (4, 3)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_numerical_gradient_of_sum_of_cubes():
    x = x_sample()
    num = G.numerical_gradient(lambda z: np.sum(z**3), x)
    assert num.shape == x.shape and num.dtype == np.float64
    assert G.relative_error(num, 3.0 * x**2) < 1e-8


def test_numerical_gradient_of_quadratic_form():
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((5, 5)), rng.standard_normal(5)
    num = G.numerical_gradient(lambda z: z @ A @ z, x)
    assert G.relative_error(num, (A + A.T) @ x) < 1e-8


def test_centred_difference_error_is_second_order():
    x = np.array([0.3, -0.7])
    exact = np.exp(x)
    e1 = np.max(np.abs(G.numerical_gradient(lambda z: np.sum(np.exp(z)), x, eps=1e-2) - exact))
    e2 = np.max(np.abs(G.numerical_gradient(lambda z: np.sum(np.exp(z)), x, eps=1e-3) - exact))
    assert 80.0 < e1 / e2 < 120.0  # eps / 10 -> error / 100


def test_copy_mode_leaves_caller_array_untouched_and_passes_float64():
    x = x_sample(2).astype(np.float32)
    x.setflags(write=False)
    seen = []

    def f(z):
        seen.append(z.dtype)
        return float(np.sum(z**2))

    num = G.numerical_gradient(f, x)
    assert set(seen) == {np.dtype(np.float64)}
    assert G.relative_error(num, 2.0 * x.astype(np.float64)) < 1e-6
    ints = G.numerical_gradient(lambda z: np.sum(z**2), [1, 2, 3])
    np.testing.assert_allclose(ints, [2.0, 4.0, 6.0], rtol=1e-9)


def test_inplace_mode_perturbs_and_restores_the_parameter():
    W = x_sample(3)
    before = W.copy()
    num = G.numerical_gradient(lambda _: float(np.sum(np.sin(W))), W, inplace=True)
    assert G.relative_error(num, np.cos(before)) < 1e-8
    np.testing.assert_array_equal(W, before)  # bit-for-bit restored


def test_inplace_mode_works_on_a_non_contiguous_view():
    base = x_sample(8, (3, 4))
    W = base.T  # a view with non-unit strides
    before = W.copy()
    num = G.numerical_gradient(lambda _: float(np.sum(W**2)), W, inplace=True)
    assert G.relative_error(num, 2.0 * before) < 1e-8
    np.testing.assert_array_equal(W, before)


def test_inplace_mode_restores_even_when_f_raises():
    W = x_sample(4)
    before = W.copy()
    calls = []

    def f(_):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(np.sum(W))

    with pytest.raises(RuntimeError, match="boom"):
        G.numerical_gradient(f, W, inplace=True)
    np.testing.assert_array_equal(W, before)


def test_inplace_mode_needs_a_writeable_float64_array():
    with pytest.raises(TypeError, match="x: inplace=True needs a float64"):
        G.numerical_gradient(np.sum, np.ones(3, dtype=np.float32), inplace=True)
    ro = np.ones(3)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="x: inplace=True needs a writeable"):
        G.numerical_gradient(np.sum, ro, inplace=True)


def test_numerical_jacobian_vector_of_linear_and_elementwise_maps():
    rng = np.random.default_rng(5)
    A, x, dout = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    num = G.numerical_jacobian_vector(lambda z: A @ z, x, dout)
    assert G.relative_error(num, A.T @ dout) < 1e-8
    X, D = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    num = G.numerical_jacobian_vector(np.tanh, X, D)
    assert G.relative_error(num, D * (1.0 - np.tanh(X) ** 2)) < 1e-7
    with pytest.raises(ValueError, match="dout"):
        G.numerical_jacobian_vector(np.tanh, X, D[:1])


def test_numerical_derivative_of_elementwise_function():
    x = np.linspace(-3.0, 3.0, 101)
    assert G.relative_error(G.numerical_derivative(np.sin, x), np.cos(x)) < 1e-8
    with pytest.raises(ValueError, match="f: expected an element-wise result"):
        G.numerical_derivative(np.sum, x)


def test_relative_error_properties():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert G.relative_error(a, a) == 0.0
    assert G.relative_error(a, b) == G.relative_error(b, a)
    assert 0.0 <= G.relative_error(a, b) <= 1.0
    assert G.relative_error(1e6 * a, 1e6 * b) == pytest.approx(G.relative_error(a, b), rel=1e-12)
    assert G.relative_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 2.1)
    assert G.relative_error(np.array([1.0]), np.array([-1.0])) == 1.0
    assert G.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert G.relative_error(np.zeros(1), np.array([1e-12])) == pytest.approx(1e-4)  # floor 1e-8
    assert G.relative_error(np.zeros(0), np.zeros(0)) == 0.0
    # plain CS231n form: every entry judged relative to itself
    big = np.array([1e3, 1e3, 1e-3])
    bad = big * np.array([1.0, 1.0, 2.0])
    assert G.relative_error(big, bad, floor=1e-8) == pytest.approx(1 / 3)
    # default floor 1e-3 · max(|a| + |b|) = 2: the same mistake measures 1e-3 / 2
    assert G.relative_error(big, bad) == pytest.approx(5e-4)
    assert G.relative_error(1e-4 * big, 1e-4 * bad) == pytest.approx(5e-4)  # scale-invariant


def test_check_gradient_accepts_correct_and_rejects_wrong_gradients():
    x = x_sample(7)
    ok, err = G.check_gradient(lambda z: np.sum(z**3), x, 3.0 * x**2)
    assert ok and err < 1e-8
    ok, err = G.check_gradient(lambda z: np.sum(z**3), x, 2.0 * x**2)
    assert not ok and err > 0.1
    ok, _ = G.check_gradient(lambda z: np.sum(z**3), x, 3.0 * x**2 * (1 + 1e-4), tol=1e-3)
    assert ok


def test_check_gradient_default_floor_tolerates_rounding_noise_on_tiny_entries():
    x = np.array([1.2e-3, 0.3, -0.9, 1.3])  # d/dx x³ at 1.2e-3 is 4.3e-6

    def f(z):
        return np.sum(z**3)

    ok, err = G.check_gradient(f, x, 3.0 * x**2)
    assert ok and err < 1e-8
    _, strict = G.check_gradient(f, x, 3.0 * x**2, floor=1e-8)  # plain CS231n measure
    assert strict > err
    wrong = 3.0 * x**2
    wrong[0] *= 2.0  # a real error in the tiny entry is still caught
    ok, err = G.check_gradient(f, x, wrong)
    assert not ok and err > 1e-4  # 4.3e-6 / (1e-3 · max(|a| + |n|))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: G.numerical_gradient(np.sin, np.ones(2)), ValueError, "f: expected a scalar"),
        (lambda: G.numerical_gradient(np.sum, np.ones(2), eps=0.0), ValueError, "eps"),
        (lambda: G.numerical_gradient(np.sum, "abc"), TypeError, "x"),
        (lambda: G.relative_error(np.ones(2), np.ones(3)), ValueError, "b"),
        (lambda: G.relative_error(np.ones(2), np.ones(2), floor=-1.0), ValueError, "floor"),
        (lambda: G.relative_error(np.ones(2), np.ones(2), floor=np.nan), ValueError, "floor"),
        (lambda: G.check_gradient(np.sum, np.ones(3), np.ones(2)), ValueError, "analytic"),
        (lambda: G.check_gradient(np.sum, np.ones(3), np.ones(3), tol=0), ValueError, "tol"),
        (lambda: G.check_gradient(np.sum, np.ones(3), np.ones(3), floor=0.0), ValueError,
         "floor"),
    ],
)
def test_bad_inputs_raise_with_argument_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
