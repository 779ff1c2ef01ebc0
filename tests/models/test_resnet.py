"""Tests for dlcourse/models/resnet.py: the residual block's two branches (shapes, the sum of
their input gradients, reuse, need_dx), a small ResNet, float32, and a tiny overfit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nn"))
from _gradcheck_utils import check_module_gradients  # noqa: E402

from dlcourse.data import DataLoader  # noqa: E402
from dlcourse.losses import CrossEntropyLoss  # noqa: E402
from dlcourse.models import ResidualBlock, ResNet  # noqa: E402
from dlcourse.nn import (  # noqa: E402
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    ReLU,
    Sequential,
)
from dlcourse.optim import Adam  # noqa: E402
from dlcourse.train import fit  # noqa: E402

try:
    import torch
except ImportError:  # torch is a test-only reference
    torch = None


def test_identity_shortcut_when_shapes_agree_projection_otherwise() -> None:
    same = ResidualBlock(4, 4, rng=0)
    assert same.shortcut is None
    assert [type(m) for m in same.body] == [Conv2d, BatchNorm2d, ReLU, Conv2d, BatchNorm2d]
    assert same(np.zeros((2, 4, 5, 5))).shape == (2, 4, 5, 5)
    wider = ResidualBlock(4, 6, rng=0)
    assert [type(m) for m in wider.shortcut] == [Conv2d, BatchNorm2d]
    assert wider.shortcut[0].kernel_size == (1, 1)
    assert wider(np.zeros((2, 4, 5, 5))).shape == (2, 6, 5, 5)
    strided = ResidualBlock(4, 4, stride=2, rng=0)
    assert strided.shortcut is not None and strided.shortcut[0].stride == (2, 2)
    # 3×3 conv, padding 1, stride 2: ⌊(5 + 2 − 3)/2⌋ + 1 = 3; 1×1 conv stride 2: ⌊4/2⌋ + 1 = 3.
    assert strided(np.zeros((2, 4, 5, 5))).shape == (2, 4, 3, 3)
    assert ResidualBlock(4, 4, projection=True, rng=0).shortcut is not None


def test_zero_branch_gives_relu_of_x_and_its_gradient() -> None:
    # With the last BN's γ = β = 0, f(x) = 0, so out = ReLU(x) and dx = dout · [x > 0]
    # (the identity path alone), while the branch still receives its parameter gradients.
    block = ResidualBlock(3, 3, rng=0)
    block.body[4].gamma.data[:] = 0.0
    block.body[4].beta.data[:] = 0.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 4))
    out = block(x)
    np.testing.assert_allclose(out, np.maximum(x, 0.0), atol=1e-12)
    dout = rng.standard_normal(out.shape)
    block.zero_grad()
    dx = block.backward(dout)
    np.testing.assert_allclose(dx, dout * (x > 0), atol=1e-12)
    # dL/dγ of the last BN is Σ dout·[out > 0]·x̂, not 0: the branch is still trained.
    assert np.abs(block.body[4].gamma.grad).max() > 1e-3


@pytest.mark.parametrize(
    ("c_in", "c_out", "stride", "hw"),
    [(2, 2, 1, 4), (2, 3, 1, 4), (2, 2, 2, 5), (2, 3, 2, 4)],
)
def test_block_gradients_match_finite_differences(
    c_in: int, c_out: int, stride: int, hw: int
) -> None:
    rng = np.random.default_rng(0)
    block = ResidualBlock(c_in, c_out, stride=stride, rng=rng)
    check_module_gradients(block, rng.standard_normal((3, c_in, hw, hw)), rng)


def test_block_in_eval_mode_uses_running_statistics_and_gradchecks() -> None:
    rng = np.random.default_rng(0)
    block = ResidualBlock(2, 3, stride=2, rng=rng)
    for _ in range(3):  # give the BatchNorms non-trivial running statistics
        block(rng.standard_normal((4, 2, 5, 5)))
    block.clear_cache()
    block.eval()
    x = rng.standard_normal((2, 2, 5, 5))
    np.testing.assert_allclose(block(x[:1]), block(x)[:1], rtol=1e-12, atol=1e-14)  # per sample
    block.clear_cache()
    check_module_gradients(block, x, rng)


def test_block_float32_stays_float32() -> None:
    block = ResidualBlock(2, 3, stride=2, dtype=np.float32, rng=0)
    x = np.random.default_rng(0).random((2, 2, 5, 5)).astype(np.float32)
    out = block(x)
    assert out.dtype == np.float32
    assert block.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in block.parameters())


def test_block_reused_twice_in_one_pass() -> None:
    # x feeds the block twice: each call's caches are popped last in, first out.
    rng = np.random.default_rng(0)
    block = ResidualBlock(2, 2, rng=rng)
    check_module_gradients(Sequential(block, block), rng.standard_normal((3, 2, 4, 4)), rng)


def test_need_dx_false_returns_none_and_same_parameter_grads() -> None:
    rng = np.random.default_rng(0)
    block = ResidualBlock(2, 3, stride=2, rng=rng)
    x = rng.standard_normal((2, 2, 6, 6))
    dout = rng.standard_normal((2, 3, 3, 3))
    block.zero_grad()
    block(x)
    assert block.backward(dout).shape == x.shape
    full = [p.grad.copy() for p in block.parameters()]
    block.zero_grad()
    block(x)
    assert block.backward(dout, need_dx=False) is None
    assert not any(m.num_cached_calls for m in block.modules())
    for g, p in zip(full, block.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(torch is None, reason="torch (test-only reference) is not installed")
def test_block_matches_a_torch_residual_block() -> None:
    rng = np.random.default_rng(0)
    block = ResidualBlock(2, 3, stride=2, rng=rng)
    for bn in (block.body[1], block.body[4], block.shortcut[1]):
        bn.gamma.data[:] = rng.uniform(0.5, 1.5, bn.gamma.data.shape)
        bn.beta.data[:] = rng.standard_normal(bn.beta.data.shape)
    x = rng.standard_normal((2, 2, 5, 5))
    dout = rng.standard_normal((2, 3, 3, 3))
    out = block(x)
    dx = block.backward(dout)

    def conv(m: Conv2d) -> torch.nn.Conv2d:
        t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                            bias=False).double()  # fmt: skip
        t.weight.data = torch.tensor(m.W.data)
        return t

    def bn(m: BatchNorm2d) -> torch.nn.BatchNorm2d:
        t = torch.nn.BatchNorm2d(m.num_features).double()
        t.weight.data, t.bias.data = torch.tensor(m.gamma.data), torch.tensor(m.beta.data)
        return t

    b = block.body
    body = torch.nn.Sequential(conv(b[0]), bn(b[1]), torch.nn.ReLU(), conv(b[3]), bn(b[4]))
    short = torch.nn.Sequential(conv(block.shortcut[0]), bn(block.shortcut[1]))
    xt = torch.tensor(x, requires_grad=True)
    ot = torch.relu(body(xt) + short(xt))
    ot.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b[0].W.grad, body[0].weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        block.shortcut[0].W.grad, short[0].weight.grad.numpy(), rtol=1e-10, atol=1e-12
    )


def test_resnet_structure_and_cifar_shapes() -> None:
    net = ResNet(rng=0)
    kinds = [type(m) for m in net]
    assert kinds == [Conv2d, BatchNorm2d, ReLU, ResidualBlock, ResidualBlock, ResidualBlock,
                     AdaptiveAvgPool2d, Flatten, Linear]  # fmt: skip
    assert [(m.in_channels, m.out_channels, m.stride) for m in net[3:6]] == [
        (16, 16, 1),
        (16, 32, 2),
        (32, 64, 2),
    ]
    x = np.random.default_rng(0).random((2, 3, 32, 32))
    shapes = []
    for m in net:
        x = m(x)
        shapes.append(x.shape[1:])
    assert shapes == [(16, 32, 32)] * 4 + [(32, 16, 16), (64, 8, 8), (64, 1, 1), (64,), (10,)]
    assert len(ResNet(blocks_per_stage=2, rng=0)) == 3 + 6 + 3


def test_resnet_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    net = ResNet(channels=(2, 3), in_channels=2, num_classes=3, rng=rng)
    check_module_gradients(net, rng.standard_normal((2, 2, 4, 4)), rng)


def test_resnet_float32_stays_float32() -> None:
    net = ResNet(channels=(4, 8), dtype=np.float32, rng=0)
    x = np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)
    out = net(x)
    assert out.dtype == np.float32
    assert net.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in net.parameters())


def test_resnet_overfits_one_small_batch_with_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 3, 6, 6))
    y = rng.integers(0, 4, size=12)  # random labels: only memorisation can fit them
    net = ResNet(channels=(4, 8), num_classes=4, rng=0)
    loader = DataLoader(x, y, batch_size=12)
    history = fit(net, CrossEntropyLoss(), Adam(net.parameters(), lr=0.03), loader, epochs=30,
                  quiet=True)  # fmt: skip
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    assert history["train_acc"][-1] == 1.0


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="projection"):
        ResidualBlock(2, 3, projection=False)
    with pytest.raises(TypeError, match="projection"):
        ResidualBlock(2, 2, projection=1)
    with pytest.raises(ValueError, match="stride"):
        ResidualBlock(2, 2, stride=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2, H, W\)"):
        ResidualBlock(2, 2, rng=0)(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="channels"):
        ResNet(channels=())
    with pytest.raises(TypeError, match="channels"):
        ResNet(channels=16)
