"""Tests for dlcourse/models/alexnet.py: the configuration tables against the notes' printed
shapes and PyTorch, the original's two-GPU shapes and parameter count, the small AlexNet's layer
order, PyTorch agreement and gradients by finite differences."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from _directional import check_directional_derivative

from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import AlexNet
from dlcourse.models.alexnet import (
    NOTES_CONFIG,
    ORIGINAL_LAYERS,
    LayerSpec,
    n_parameters,
    shape_table,
)
from dlcourse.nn import Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, ReLU


def test_notes_config_flattens_to_6400() -> None:
    rows = {r.name: r for r in shape_table(NOTES_CONFIG, 224, 1)}
    # The notes' printed model: Linear(in_features=6400, ...) after a 256-channel conv5.
    assert rows["pool3"].shape == (256, 5, 5) and 256 * 5 * 5 == 6400
    assert [rows[n].shape for n in ("fc6", "fc7", "fc8")] == [(4096,), (4096,), (10,)]
    # Without the third pooling (the notes' code), conv5's output cannot feed Linear(6400, ...).
    no_pool3 = tuple(s for s in NOTES_CONFIG if s.name != "pool3")
    conv5 = {r.name: r for r in shape_table(no_pool3, 224, 1)}["conv5"]
    assert conv5.shape == (256, 12, 12) and 256 * 12 * 12 != 6400


def test_notes_config_against_torch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    layers = []
    for s in NOTES_CONFIG:
        if s.kind == "conv":
            layers.append(nn.LazyConv2d(s.out, s.k, s.stride, s.padding))
        elif s.kind == "maxpool":
            layers.append(nn.MaxPool2d(s.k, s.stride))
        else:
            if not any(isinstance(m, nn.Flatten) for m in layers):
                layers.append(nn.Flatten())
            layers.append(nn.LazyLinear(s.out))
    x = torch.zeros(1, 1, 224, 224)
    rows = shape_table(NOTES_CONFIG, 224, 1)
    i = 0
    with torch.no_grad():
        for m in layers:
            x = m(x)
            if isinstance(m, nn.Flatten):
                continue
            assert tuple(x.shape[1:]) == rows[i].shape, rows[i].name
            assert sum(p.numel() for p in m.parameters()) == rows[i].params, rows[i].name
            i += 1
    assert n_parameters(NOTES_CONFIG, 224, 1) == sum(
        p.numel() for m in layers for p in m.parameters())


def test_original_shapes_are_the_stated_ones() -> None:
    for r, s in zip(shape_table(ORIGINAL_LAYERS, 224, 3), ORIGINAL_LAYERS, strict=True):
        assert r.shape == s.stated, r.name
    conv1 = shape_table(ORIGINAL_LAYERS, 224, 3)[0]
    assert conv1.exact == Fraction(223, 4) == Fraction(5575, 100)  # (224 + 6 − 11)/4 + 1
    no_pad = (LayerSpec("conv1", "conv", 96, 11, 4, 0),)
    assert shape_table(no_pad, 227, 3)[0].exact == 55  # (227 − 11)/4 + 1, exact


def test_original_parameter_count_with_two_gpus() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    total = 0
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        for s in ORIGINAL_LAYERS:
            if s.kind == "conv":
                m = nn.Conv2d(x.shape[1], s.out, s.k, s.stride, s.padding, groups=s.groups)
            elif s.kind == "maxpool":
                m = nn.MaxPool2d(s.k, s.stride)
            else:
                x = x.flatten(1)
                m = nn.Linear(x.shape[1], s.out)
            x = m(x)
            total += sum(p.numel() for p in m.parameters())
    assert n_parameters(ORIGINAL_LAYERS, 224, 3) == total
    assert 60e6 < total < 61e6  # "60 million parameters" (Krizhevsky et al. 2012)


def test_small_alexnet_structure() -> None:
    net = AlexNet(rng=0)
    kinds = [type(m) for m in net]
    assert kinds.count(Conv2d) == 5 and kinds.count(MaxPool2d) == 3
    assert kinds.count(Linear) == 3 and kinds.count(Dropout) == 2
    assert kinds.count(LocalResponseNorm) == 2
    # LRN after conv1 / conv2 (and their ReLU), before their pooling (Krizhevsky et al.).
    assert kinds[:8] == [Conv2d, ReLU, LocalResponseNorm, MaxPool2d] * 2
    assert kinds.index(Dropout) > kinds.index(Linear)
    for size, flat in ((28, 64 * 2 * 2), (32, 64 * 3 * 3)):
        m = AlexNet(in_channels=3, image_size=size, rng=0)
        assert m.flat_features == flat
        x = np.zeros((2, 3, size, size))
        assert m(x).shape == (2, 10)
    assert [type(m) for m in AlexNet(lrn=False, rng=0)].count(LocalResponseNorm) == 0


def test_small_alexnet_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = AlexNet(image_size=15, channels=(3, 4, 5, 4, 3), hidden=6, dropout=0.0, rng=0)
    ref = []
    for m in net:
        if isinstance(m, Conv2d):
            t = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
            t.weight.data = torch.tensor(m.W.data)
            t.bias.data = torch.tensor(m.b.data)
        elif isinstance(m, Linear):
            t = nn.Linear(m.in_features, m.out_features)
            t.weight.data = torch.tensor(m.W.data.T.copy())
            t.bias.data = torch.tensor(m.b.data)
        elif isinstance(m, LocalResponseNorm):
            t = nn.LocalResponseNorm(m.size, m.alpha, m.beta, m.k)
        elif isinstance(m, MaxPool2d):
            t = nn.MaxPool2d(m.kernel_size, m.stride)
        elif isinstance(m, ReLU):
            t = nn.ReLU()
        elif isinstance(m, Dropout):
            t = nn.Dropout(0.0)
        else:
            t = nn.Flatten()
        ref.append(t)
    tnet = nn.Sequential(*ref).double()
    x = np.random.default_rng(1).normal(size=(3, 1, 15, 15))
    out = net(x)
    dout = np.random.default_rng(2).normal(size=out.shape)
    dx = net.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    ot = tnet(xt)
    ot.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_small_alexnet_directional_derivative(mode: str) -> None:
    """d loss along random directions of the input and every parameter (float64)."""
    net = AlexNet(image_size=15, channels=(2, 3, 4, 3, 2), hidden=5,
                  dropout=0.0 if mode == "train" else 0.5, rng=0)
    getattr(net, mode)()
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(2, 1, 15, 15)), np.array([1, 4])
    params = net.parameters()
    dirs = [rng.normal(size=p.shape) for p in params]
    check_directional_derivative(net, CrossEntropyLoss(), x, y, params, dirs,
                                 rng.normal(size=x.shape))


def test_float32_in_float32_out() -> None:
    net = AlexNet(rng=0, dtype=np.float32)
    out = net(np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32))
    assert out.dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in net.parameters())


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="image_size"):
        AlexNet(image_size=12)
    with pytest.raises(ValueError, match="channels"):
        AlexNet(channels=(8, 8, 8))
    with pytest.raises(ValueError, match="dropout"):
        AlexNet(dropout=1.0)
    with pytest.raises(TypeError, match="lrn"):
        AlexNet(lrn="yes")
    with pytest.raises(ValueError, match="kind"):
        shape_table((LayerSpec("x", "upsample"),))
