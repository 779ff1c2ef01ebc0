"""Tests for dlcourse/nn/norm.py (BatchNorm1d, BatchNorm2d, LayerNorm).

Gradient checks: in training mode every forward (also the ones of the finite differences, run
under ``no_grad``) updates the running estimates, but the training-mode output depends only on
the batch, so the check is unaffected; the tests assert this by comparing the running estimates
with the expected ones afterwards where it matters, and eval-mode checks run on frozen
estimates.
"""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.nn import (
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    Linear,
    Parameter,
    Sequential,
    Tanh,
    no_grad,
)

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

BN_SHAPES = [(BatchNorm1d, (6, 3)), (BatchNorm1d, (4, 3, 5)), (BatchNorm2d, (3, 3, 4, 2))]


def _randomise_affine(layer: BatchNorm1d | LayerNorm, rng: np.random.Generator) -> None:
    if layer.gamma is not None:
        layer.gamma.data[:] = rng.uniform(0.5, 2.0, size=layer.gamma.shape)
        layer.beta.data[:] = rng.standard_normal(layer.beta.shape)


def _train_some_batches(bn: BatchNorm1d, shape: tuple[int, ...], rng: np.random.Generator) -> None:
    for _ in range(3):
        bn(rng.normal(2.0, 3.0, size=shape))
    bn.clear_cache()


# ------------------------------------------------------------------------------ BatchNorm
def test_batch_norm_standardises_each_channel_in_training() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -5.0, 20.0], [0.5, 2.0, 10.0], size=(64, 3))
    y = BatchNorm1d(3, eps=1e-5)(x)
    var = x.var(axis=0)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), var / (var + 1e-5), rtol=1e-12)  # ε's effect


def test_exercise_7_7_reparameterisation_restores_the_input() -> None:
    # γ = √(σ²_B + ε), β = μ_B make BN the identity on that batch (the notes drop the ε)
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(10, 4, 6))
    bn = BatchNorm1d(4, eps=1e-3)
    bn.gamma.data[:] = np.sqrt(x.var(axis=(0, 2)) + 1e-3)
    bn.beta.data[:] = x.mean(axis=(0, 2))
    np.testing.assert_allclose(bn(x), x, rtol=1e-12, atol=1e-12)


def test_running_estimates_follow_pytorch_update_rule() -> None:
    rng = np.random.default_rng(2)
    bn = BatchNorm1d(2, momentum=0.3)
    batches = [rng.normal(i, 1.0 + i, size=(8, 2)) for i in range(3)]
    mean, var = np.zeros(2), np.ones(2)
    for xb in batches:
        bn(xb)
        mean = 0.7 * mean + 0.3 * xb.mean(axis=0)
        var = 0.7 * var + 0.3 * xb.var(axis=0, ddof=1)  # unbiased for the running variance
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-14)
    assert int(bn.num_batches_tracked) == 3
    cumulative = BatchNorm1d(2, momentum=None)  # the cumulative average, as PyTorch
    for xb in batches:
        cumulative(xb)
    np.testing.assert_allclose(
        cumulative.running_mean, np.mean([xb.mean(axis=0) for xb in batches], axis=0), rtol=1e-14
    )


@pytest.mark.parametrize(("cls", "shape"), BN_SHAPES)
def test_eval_uses_running_estimates_not_the_batch(cls: type, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    bn = cls(shape[1])
    _randomise_affine(bn, rng)
    _train_some_batches(bn, shape, rng)
    running = bn.running_mean.copy(), bn.running_var.copy()
    bn.eval()
    x = rng.standard_normal(shape)
    y = bn(x)
    c = (1, shape[1]) + (1,) * (len(shape) - 2)
    rm, rv = (a.reshape(c) for a in running)
    expected = (x - rm) / np.sqrt(rv + bn.eps) * bn.gamma.data.reshape(c) + bn.beta.data.reshape(c)
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    np.testing.assert_allclose(bn(x[:1]), y[:1], rtol=1e-13)  # a sample alone: same output
    np.testing.assert_array_equal(bn.running_mean, running[0])  # eval does not update them
    assert int(bn.num_batches_tracked) == 3


@pytest.mark.parametrize(("cls", "shape"), BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_match_finite_differences(
    cls: type, shape: tuple[int, ...], affine: bool, training: bool
) -> None:
    rng = np.random.default_rng(4)
    bn = cls(shape[1], affine=affine)
    _randomise_affine(bn, rng)
    _train_some_batches(bn, shape, rng)
    bn.train(training)
    check_module_gradients(bn, rng.normal(1.0, 2.0, size=shape), rng)


def test_batch_norm_reused_twice_before_its_backwards() -> None:
    rng = np.random.default_rng(5)
    bn = BatchNorm1d(4)
    _randomise_affine(bn, rng)
    net = Sequential(bn, Linear(4, 4, rng=rng), Tanh(), bn)
    check_module_gradients(net, rng.standard_normal((6, 4)), rng)


def test_backward_without_the_mean_term_would_be_caught() -> None:
    # dout constant per channel: dβ = N·c, dγ = c·Σx̂ = 0, so dx must vanish exactly (shifting
    # every input of a channel by the same amount does not change the output); a backward
    # missing the mean term returns γ·c/σ instead.
    rng = np.random.default_rng(6)
    bn = BatchNorm1d(3)
    bn(rng.standard_normal((5, 3)))
    dx = bn.backward(np.tile([1.0, -2.0, 0.5], (5, 1)))
    np.testing.assert_allclose(dx, 0, atol=1e-14)


def test_frozen_parameters_and_need_dx() -> None:
    rng = np.random.default_rng(7)
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    bn = BatchNorm1d(3)
    bn(x)
    dx = bn.backward(dout)
    grads = bn.gamma.grad.copy(), bn.beta.grad.copy()
    frozen = BatchNorm1d(3).requires_grad_(False)
    frozen(x)
    np.testing.assert_allclose(frozen.backward(dout), dx, rtol=1e-14)
    assert not frozen.gamma.grad.any() and not frozen.beta.grad.any()
    bn.zero_grad()
    bn(x)
    assert bn.backward(dout, need_dx=False) is None
    np.testing.assert_allclose(bn.gamma.grad, grads[0], rtol=1e-14)
    np.testing.assert_allclose(bn.beta.grad, grads[1], rtol=1e-14)


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 3, 2, 2)).astype(np.float32)
    for bn in (BatchNorm2d(3), BatchNorm2d(3, dtype=np.float32)):
        y = bn(x)
        assert y.dtype == np.float32
        assert bn.backward(np.ones_like(y, dtype=np.float64)).dtype == np.float32
        assert bn.gamma.grad.dtype == bn.gamma.data.dtype
        bn.eval()
        assert bn(x).dtype == np.float32
    assert BatchNorm2d(3, dtype=np.float32).running_var.dtype == np.float32


def test_names_aliases_state_dict_and_repr() -> None:
    bn = BatchNorm1d(3)
    assert [n for n, _ in bn.named_parameters()] == ["gamma", "beta"]
    assert bn.weight is bn.gamma and bn.bias is bn.beta  # PyTorch's names
    bn.weight = Parameter(np.full(3, 2.0))
    assert bn.gamma is bn.weight and bn.gamma.data[0] == 2.0
    assert list(bn.state_dict()) == [
        "gamma", "beta", "running_mean", "running_var", "num_batches_tracked"
    ]
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    bn(np.arange(6.0).reshape(2, 3))
    copy = BatchNorm1d(3)
    copy.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(copy.running_mean, bn.running_mean)
    bn.reset_running_stats()
    assert not bn.running_mean.any() and int(bn.num_batches_tracked) == 0
    plain = BatchNorm2d(4, affine=False)
    assert plain.gamma is None and plain.weight is None and not plain.parameters()
    assert repr(plain) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=False)"


def test_no_grad_forward_keeps_no_cache_but_updates_running_estimates() -> None:
    bn = BatchNorm1d(2)  # as PyTorch: the running estimates follow training-mode forwards
    with no_grad():
        bn(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert bn.num_cached_calls == 0
    np.testing.assert_allclose(bn.running_mean, [0.1, 0.2])


@requires_torch
@pytest.mark.parametrize(("cls", "shape"), BN_SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_matches_torch(
    cls: type, shape: tuple[int, ...], momentum: float | None
) -> None:
    rng = np.random.default_rng(9)
    C = shape[1]
    ours = cls(C, eps=1e-4, momentum=momentum)
    _randomise_affine(ours, rng)
    ref = getattr(torch.nn, cls.__name__)(C, eps=1e-4, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(ours.gamma.data))
        ref.bias.copy_(torch.tensor(ours.beta.data))
    for step in range(4):  # several training steps: outputs, gradients, running estimates
        x = rng.normal(step, 1.0 + step, size=shape)
        dout = rng.standard_normal(shape)
        xt = torch.tensor(x, requires_grad=True)
        ref.zero_grad()
        yt = ref(xt)
        yt.backward(torch.tensor(dout))
        ours.zero_grad()
        np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.beta.grad, ref.bias.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12)
    ours.eval()
    ref.eval()
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    ref.zero_grad()
    ours.zero_grad()
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"num_features": 0}, ValueError, "num_features: expected an integer >= 1, got 0"),
        ({"num_features": 2.0}, TypeError, "num_features: expected an integer"),
        ({"num_features": 2, "eps": 0.0}, ValueError, "eps: expected a value > 0, got 0.0"),
        ({"num_features": 2, "momentum": 1.5}, ValueError, r"momentum: expected a value in \["),
        ({"num_features": 2, "momentum": "0.1"}, TypeError, "momentum: expected a real number"),
        ({"num_features": 2, "affine": 1}, TypeError, "affine: expected a bool, got int"),
        ({"num_features": 2, "dtype": np.int32}, TypeError, "dtype: expected float32 or float64"),
    ],
)
def test_batch_norm_bad_constructor_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        BatchNorm1d(**kwargs)


def test_batch_norm_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"x: expected shape \(N, C\) or \(N, C, L\) with C = "
                       r"num_features = 3, got \(4, 2\)"):
        BatchNorm1d(3)(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, C, H, W\) .* got \(4, 3\)"):
        BatchNorm2d(3)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, C\) or \(N, C, L\)"):
        BatchNorm1d(3)(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match=r"more than 1 value per channel .* got shape \(1, 3\)"):
        BatchNorm1d(3)(np.zeros((1, 3)))
    assert BatchNorm1d(3).eval()(np.ones((1, 3))).shape == (1, 3)  # fine in eval mode
    with pytest.raises(ValueError, match="x: expected finite values"):
        BatchNorm1d(1)(np.array([[np.nan], [1.0]]))
    bn = BatchNorm1d(3)
    with pytest.raises(RuntimeError, match="before forward"):
        bn.backward(np.zeros((2, 3)))
    bn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout: expected the shape of the forward output \(2, 3"):
        bn.backward(np.zeros((3, 2)))
    assert bn.backward(np.zeros((2, 3))).shape == (2, 3)  # a rejected dout keeps the cache


# ------------------------------------------------------------------------------ LayerNorm
def test_layer_norm_standardises_each_sample_over_trailing_dims() -> None:
    rng = np.random.default_rng(10)
    x = rng.normal(4.0, 3.0, size=(5, 2, 3, 4))
    y = LayerNorm((3, 4))(x)
    var = x.var(axis=(2, 3))
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(2, 3)), var / (var + 1e-5), rtol=1e-12)
    ln = LayerNorm(4)
    np.testing.assert_allclose(ln(x), ln.eval()(x), rtol=0)  # no train/eval difference
    np.testing.assert_allclose(ln(x[:1]), ln(x)[:1], rtol=1e-14)  # independent of the batch


@pytest.mark.parametrize(
    ("normalized_shape", "shape"), [(5, (4, 5)), (5, (2, 3, 5)), ((3, 4), (2, 3, 4)), (6, (6,))]
)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradients_match_finite_differences(
    normalized_shape: int | tuple[int, ...], shape: tuple[int, ...], affine: bool
) -> None:
    rng = np.random.default_rng(11)
    ln = LayerNorm(normalized_shape, elementwise_affine=affine)
    _randomise_affine(ln, rng)
    check_module_gradients(ln, rng.normal(1.0, 2.0, size=shape), rng)


def test_layer_norm_reused_twice_and_frozen() -> None:
    rng = np.random.default_rng(12)
    ln = LayerNorm(4)
    _randomise_affine(ln, rng)
    check_module_gradients(Sequential(ln, Linear(4, 4, rng=rng), Tanh(), ln),
                           rng.standard_normal((3, 4)), rng)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ln(x)
    dx = ln.backward(dout)
    ln.requires_grad_(False).zero_grad()
    ln(x)
    np.testing.assert_allclose(ln.backward(dout), dx, rtol=1e-14)
    assert not ln.gamma.grad.any()
    ln(x)
    assert ln.backward(dout, need_dx=False) is None


@requires_torch
@pytest.mark.parametrize(
    ("normalized_shape", "shape"), [(5, (4, 5)), (5, (2, 3, 5)), ((3, 4), (2, 3, 4))]
)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(
    normalized_shape: int | tuple[int, ...], shape: tuple[int, ...], affine: bool
) -> None:
    rng = np.random.default_rng(13)
    ours = LayerNorm(normalized_shape, eps=1e-3, elementwise_affine=affine)
    _randomise_affine(ours, rng)
    ref = torch.nn.LayerNorm(
        normalized_shape, eps=1e-3, elementwise_affine=affine, dtype=torch.float64
    )
    if affine:
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(ours.gamma.data))
            ref.bias.copy_(torch.tensor(ours.beta.data))
    x, dout = rng.normal(2.0, 3.0, size=shape), rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dout))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if affine:
        np.testing.assert_allclose(ours.gamma.grad, ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.beta.grad, ref.bias.grad.numpy(), rtol=1e-10)


def test_layer_norm_float32_names_and_repr() -> None:
    ln = LayerNorm([2, 3])
    assert ln.normalized_shape == (2, 3) and ln.gamma.shape == (2, 3)
    assert ln.weight is ln.gamma and ln.bias is ln.beta
    assert [n for n, _ in ln.named_parameters()] == ["gamma", "beta"]
    y = ln(np.ones((4, 2, 3), dtype=np.float32) * np.arange(6, dtype=np.float32).reshape(2, 3))
    assert y.dtype == np.float32
    assert ln.backward(np.ones((4, 2, 3))).dtype == np.float32
    assert repr(LayerNorm(8, elementwise_affine=False)) == (
        "LayerNorm((8,), eps=1e-05, elementwise_affine=False)"
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"normalized_shape": 0}, ValueError, r"normalized_shape\[0\]: expected an integer >= 1"),
        ({"normalized_shape": "4"}, TypeError, "normalized_shape: expected an int or a non-empty"),
        ({"normalized_shape": ()}, TypeError, "normalized_shape: expected an int or a non-empty"),
        ({"normalized_shape": (2, 2.0)}, TypeError, r"normalized_shape\[1\]: expected an integer"),
        ({"normalized_shape": 3, "eps": -1.0}, ValueError, "eps: expected a value > 0"),
        ({"normalized_shape": 3, "elementwise_affine": None}, TypeError, "elementwise_affine"),
    ],
)
def test_layer_norm_bad_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        LayerNorm(**kwargs)


def test_layer_norm_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 3, 4\) ending in "
                       r"normalized_shape = \(3, 4\), got \(2, 4, 3\)"):
        LayerNorm((3, 4))(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        LayerNorm((3, 4))(np.zeros(4))
    ln = LayerNorm(3)
    ln(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout: expected the shape of the forward output"):
        ln.backward(np.ones((2, 4)))
