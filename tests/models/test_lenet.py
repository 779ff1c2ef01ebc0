"""Tests for dlcourse/models/lenet.py: the notes' layer shapes, hand-counted parameters,
gradients (finite differences), need_dx, float32 and a one-batch overfit with ``fit``."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import LeNet5
from dlcourse.nn import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    no_grad,
)
from dlcourse.optim import Adam
from dlcourse.train import fit

# The notes' printed LeNet (d2l): Conv2d(1,6,5), Sigmoid, MaxPool2d(2,2), Conv2d(6,16,5),
# Sigmoid, MaxPool2d(2,2), Linear(256,120), Sigmoid, Linear(120,84), Sigmoid, Linear(84,10);
# per-layer output shapes worked out by hand for a 28×28 input: 28 − 5 + 1 = 24, 24 / 2 = 12,
# 12 − 5 + 1 = 8, 8 / 2 = 4, 16·4·4 = 256.
NOTES_LAYERS = [
    (Conv2d, (6, 24, 24)),
    (Sigmoid, (6, 24, 24)),
    (MaxPool2d, (6, 12, 12)),
    (Conv2d, (16, 8, 8)),
    (Sigmoid, (16, 8, 8)),
    (MaxPool2d, (16, 4, 4)),
    (Flatten, (256,)),
    (Linear, (120,)),
    (Sigmoid, (120,)),
    (Linear, (84,)),
    (Sigmoid, (84,)),
    (Linear, (10,)),
]


def test_layers_and_shapes_follow_the_notes() -> None:
    net = LeNet5(rng=0)
    assert len(net) == len(NOTES_LAYERS)
    x = np.random.default_rng(1).random((3, 1, 28, 28))
    for i, (layer, (cls, shape)) in enumerate(zip(net, NOTES_LAYERS, strict=True)):
        assert type(layer) is cls, f"layer {i}: {type(layer).__name__}, expected {cls.__name__}"
        x = layer(x)
        assert x.shape == (3, *shape), f"layer {i} ({cls.__name__}): shape {x.shape}"
    assert (net[0].in_channels, net[0].out_channels, net[0].kernel_size) == (1, 6, (5, 5))
    assert (net[3].in_channels, net[3].out_channels) == (6, 16)
    assert net[2].kernel_size == net[2].stride == (2, 2)
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, Linear)] == [
        (256, 120),
        (120, 84),
        (84, 10),
    ]


def test_parameter_count_by_hand() -> None:
    # conv1 6·1·5·5 + 6 = 156; conv2 16·6·5·5 + 16 = 2416; fc 256·120 + 120 = 30840,
    # 120·84 + 84 = 10164, 84·10 + 10 = 850.
    net = LeNet5(rng=0)
    per_layer = [sum(p.data.size for p in m.parameters()) for m in net if m.parameters()]
    assert per_layer == [156, 2416, 30840, 10164, 850]
    assert sum(p.data.size for p in net.parameters()) == 44426
    # BatchNorm adds γ and β per channel / feature: 2·(6 + 16 + 120 + 84) = 452.
    bn = LeNet5(activation="relu", batch_norm=True, rng=0)
    assert sum(p.data.size for p in bn.parameters()) == 44426 + 452


def test_relu_batchnorm_variant_order() -> None:
    net = LeNet5(activation="relu", batch_norm=True, pool="avg", rng=0)
    kinds = [type(m) for m in net]
    assert kinds == [
        Conv2d, BatchNorm2d, ReLU, AvgPool2d,
        Conv2d, BatchNorm2d, ReLU, AvgPool2d,
        Flatten,
        Linear, BatchNorm1d, ReLU,
        Linear, BatchNorm1d, ReLU,
        Linear,
    ]  # fmt: skip
    assert net(np.zeros((2, 1, 28, 28))).shape == (2, 10)


def test_image_size_32_gives_the_original_400_features() -> None:
    net = LeNet5(image_size=32, in_channels=3, num_classes=7, rng=0)
    assert net.flat_features == 16 * 5 * 5
    assert net(np.zeros((2, 3, 32, 32))).shape == (2, 7)


def test_same_seed_same_weights() -> None:
    a, b = LeNet5(rng=3), LeNet5(rng=3)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)


def _sampled_gradcheck(net: LeNet5, x: np.ndarray, k: int = 10, tol: float = 1e-6) -> None:
    """k random entries of dx and of every parameter gradient against centred differences.

    ε = 1e-5, and the error is normwise, max_i |a_i − b_i| / max(1e-8, 2·max_j |a_j|) over the
    whole analytic array: the sigmoid LeNet's input gradient is ~1e-4 while the loss is O(1),
    so the rounding noise of a difference quotient (~1e-11 here) is judged against the
    gradient's scale rather than entry by entry.
    """
    rng = np.random.default_rng(0)
    out = net(x)
    dout = rng.standard_normal(out.shape)
    net.zero_grad()
    dx = net.backward(dout)
    assert not any(m.num_cached_calls for m in net.modules())
    eps = 1e-5

    def loss() -> float:
        with no_grad():
            return float(np.sum(net(x) * dout))

    arrays = [("x", x, dx)] + [(n, p.data, p.grad) for n, p in net.named_parameters()]
    for name, data, grad in arrays:
        flat = data.reshape(-1)  # a view: perturbing it perturbs the model's input/parameter
        idx = rng.choice(flat.size, size=min(k, flat.size), replace=False)
        numeric = np.empty(idx.size)
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            numeric[j] = (up - down) / (2 * eps)
        if np.max(np.abs(grad)) < 1e-10:
            # A bias right before train-mode BatchNorm: BN removes any per-channel shift, so
            # its gradient is 0 and the difference quotients are rounding noise.
            assert np.max(np.abs(numeric)) < 1e-7, f"{name}: expected a zero gradient"
            continue
        analytic = grad.reshape(-1)[idx]
        scale = max(1e-8, 2 * float(np.max(np.abs(grad))))
        err = float(np.max(np.abs(analytic - numeric))) / scale
        assert err < tol, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"activation": "relu", "batch_norm": True}, {"activation": "tanh", "pool": "avg"}],
)
def test_gradients_match_finite_differences(kwargs: dict) -> None:
    net = LeNet5(image_size=16, rng=0, **kwargs)  # 16 → 12 → 6 → 2 → 1: 16 flat features
    x = np.random.default_rng(2).standard_normal((3, 1, 16, 16))
    _sampled_gradcheck(net, x)


def test_need_dx_false_returns_none_and_same_parameter_grads() -> None:
    net = LeNet5(rng=0)
    x = np.random.default_rng(0).random((2, 1, 28, 28))
    dout = np.random.default_rng(1).standard_normal((2, 10))
    net.zero_grad()
    net(x)
    assert net.backward(dout).shape == x.shape
    full = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net(x)
    assert net.backward(dout, need_dx=False) is None
    for g, p in zip(full, net.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_float32_stays_float32(batch_norm: bool) -> None:
    net = LeNet5(activation="relu", batch_norm=batch_norm, dtype=np.float32, rng=0)
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    out = net(x)
    assert out.dtype == np.float32
    dx = net.backward(np.ones_like(out))
    assert dx.dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in net.parameters())


def test_overfits_one_small_batch_with_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 16, 16))
    y = rng.integers(0, 4, size=16)  # random labels: only memorisation can fit them
    net = LeNet5(activation="relu", batch_norm=True, image_size=16, num_classes=4, rng=0)
    loader = DataLoader(x, y, batch_size=16)
    history = fit(net, CrossEntropyLoss(), Adam(net.parameters(), lr=0.02), loader, epochs=60,
                  quiet=True)  # fmt: skip
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    assert history["train_acc"][-1] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"activation": "nope"}, ValueError),
        ({"activation": ReLU}, TypeError),
        ({"batch_norm": 1}, TypeError),
        ({"pool": "l2"}, ValueError),
        ({"image_size": 12}, ValueError),
        ({"num_classes": 0}, ValueError),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict, error: type) -> None:
    name = next(iter(kwargs))
    with pytest.raises(error, match=name):
        LeNet5(**kwargs)
