"""Tests for dlcourse/models/mlp.py: structure, init, gradients, dtypes and a tiny fit."""

from __future__ import annotations

import numpy as np
import pytest

import dlcourse.nn
from dlcourse.gradcheck import numerical_gradient, relative_error
from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import MLP
from dlcourse.nn import ACTIVATIONS, ELU, Linear, ReLU, Sequential, Sigmoid, Tanh
from dlcourse.optim import Adam

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def test_structure_has_no_activation_after_the_last_linear() -> None:
    net = MLP([2, 16, 8, 3], rng=0)
    assert isinstance(net, Sequential) and len(net) == 5
    assert [type(m) for m in net] == [Linear, ReLU, Linear, ReLU, Linear]
    assert [n for n, _ in net.named_parameters()] == [
        "0.W", "0.b", "2.W", "2.b", "4.W", "4.b"
    ]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, Linear)] == [
        (2, 16), (16, 8), (8, 3)
    ]
    assert net(np.zeros((5, 2))).shape == (5, 3)
    assert len(MLP([4, 1], rng=0)) == 1  # a single Linear: logistic/linear regression
    assert not hasattr(dlcourse.nn, "MLP")  # one home per name: dlcourse.models


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_name_builds_and_passes_gradcheck(activation: str) -> None:
    rng = np.random.default_rng(0)
    net = MLP([3, 5, 4, 2], activation=activation, rng=rng)
    x = rng.standard_normal((4, 3))
    out = net(x)
    dout = rng.standard_normal(out.shape)
    net.zero_grad()
    dx = net.backward(dout)

    def loss(z: np.ndarray) -> float:
        return float(np.sum(net(z) * dout))

    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for name, p in net.named_parameters():
        analytic = p.grad.copy()
        numeric = numerical_gradient(lambda _: loss(x), p.data, inplace=True)
        assert relative_error(analytic, numeric) < 1e-6, name


@requires_torch
def test_matches_torch_sequential() -> None:
    rng = np.random.default_rng(1)
    net = MLP([4, 6, 3], activation="tanh", rng=rng)
    ref = torch.nn.Sequential(
        torch.nn.Linear(4, 6, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 3, dtype=torch.float64),
    )
    with torch.no_grad():
        for i in (0, 2):
            ref[i].weight.copy_(torch.tensor(net[i].W.data.T))
            ref[i].bias.copy_(torch.tensor(net[i].b.data))
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    xt = torch.tensor(x, requires_grad=True)
    ref(xt).backward(torch.tensor(dout))
    np.testing.assert_allclose(net(x), ref(xt).detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(net.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    for i in (0, 2):
        np.testing.assert_allclose(net[i].W.grad, ref[i].weight.grad.numpy().T, rtol=1e-12)


@pytest.mark.parametrize(
    ("activation", "expected_std"),
    [
        ("relu", np.sqrt(2 / 600)),  # He: var = 2 / fan_in
        ("elu", np.sqrt(2 / 600)),
        ("tanh", np.sqrt(2 / (600 + 400))),  # Xavier: var = 2 / (fan_in + fan_out)
        ("sigmoid", np.sqrt(2 / (600 + 400))),
    ],
)
def test_default_init_depends_on_the_activation(activation: str, expected_std: float) -> None:
    net = MLP([600, 400, 2], activation=activation, rng=0)
    assert net[0].W.data.std() == pytest.approx(expected_std, rel=0.02)
    assert not net[0].b.data.any()


def test_custom_activation_class_and_init_override() -> None:
    net = MLP([3, 4, 2], activation=ELU, rng=0, init="zeros")
    assert isinstance(net[1], ELU)
    assert not net[0].W.data.any()


def test_init_is_reproducible_and_seed_dependent() -> None:
    a, b, c = MLP([3, 8, 2], rng=5), MLP([3, 8, 2], rng=5), MLP([3, 8, 2], rng=6)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.allclose(a[0].W.data, c[0].W.data)


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(2)
    net = MLP([3, 8, 2], activation="sigmoid", rng=rng, dtype=np.float32)
    y = net(rng.standard_normal((4, 3)).astype(np.float32))
    dx = net.backward(rng.standard_normal((4, 2)).astype(np.float32))
    assert y.dtype == dx.dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in net.parameters())


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"sizes": [3]}, ValueError, "sizes"),
        ({"sizes": 3}, TypeError, "sizes"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\]"),
        ({"sizes": [3, 2.5]}, TypeError, r"sizes\[1\]"),
        ({"sizes": [3, 2], "activation": "softmax"}, ValueError, "activation"),
        ({"sizes": [3, 2], "activation": np.tanh}, TypeError, "activation"),
        ({"sizes": [3, 2], "init": "he"}, ValueError, "init"),
    ],
)
def test_bad_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        MLP(**kwargs)


def test_repr_lists_the_layers() -> None:
    text = repr(MLP([2, 3, 1], activation="sigmoid", rng=0))
    assert text.startswith("MLP(\n  (0): Linear(in_features=2, out_features=3, bias=True)")
    assert "(1): Sigmoid()" in text


def test_fits_xor_with_adam() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    idx = rng.integers(0, 4, size=200)
    x = centres[idx] + 0.1 * rng.standard_normal((200, 2))
    y = labels[idx]
    net = MLP([2, 16, 2], rng=rng)
    opt = Adam(net.parameters(), lr=0.05)
    criterion = CrossEntropyLoss()
    for _ in range(300):
        opt.zero_grad()
        criterion(net(x), y)
        net.backward(criterion.backward())
        opt.step()
    assert np.mean(net(x).argmax(axis=1) == y) == 1.0
    assert criterion(net(x), y) < 0.1


def test_sigmoid_mlp_module_classes_are_the_nn_ones() -> None:
    net = MLP([2, 2, 2, 1], activation="sigmoid", rng=0)
    assert isinstance(net[1], Sigmoid) and isinstance(net[3], Sigmoid)
    assert isinstance(MLP([2, 2, 1], activation="tanh", rng=0)[1], Tanh)
