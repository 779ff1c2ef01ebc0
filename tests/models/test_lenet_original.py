"""Tests for dlcourse/models/lenet_original.py: the computed layer table against the notes'
(and LeCun et al. 1998's) numbers, the C3 connection table of the paper's Table I, the table
convolution against the didactic loop ``corr2d``, and gradients by finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from _directional import check_directional_derivative

from dlcourse.gradcheck import numerical_jacobian_vector, relative_error
from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import LeNet5Original
from dlcourse.models.lenet_original import (
    C3_TABLE,
    RBFOutput,
    ScaledTanh,
    Subsampling,
    TableConv2d,
)
from dlcourse.nn import corr2d
from dlcourse.optim import Adam

# The notes' section "LeNet-5" (from LeCun et al. 1998): neurons, trainable parameters and
# connections (bias included) per layer, as printed there.
NOTES = {
    "C1": (4704, 156, 122304),
    "S2": (1176, 12, 5880),
    "C3": (1600, 1516, 151600),
    "S4": (400, 32, 2000),
    "C5": (120, 48120, 48120),
    "F6": (84, 10164, 10164),
}


def test_layer_table_matches_the_notes() -> None:
    rows = {r.name: r for r in LeNet5Original(rng=0).layer_table()}
    assert list(rows) == ["C1", "S2", "C3", "S4", "C5", "F6", "output"]
    for name, (neurons, params, connections) in NOTES.items():
        r = rows[name]
        assert (r.neurons, r.params, r.connections) == (neurons, params, connections), name
    assert rows["C1"].shape == (6, 28, 28) and rows["S4"].shape == (16, 5, 5)
    assert rows["output"].neurons == 10 and rows["output"].connections == 84 * 10
    assert rows["output"].params == 0  # fixed centres, as the paper
    # LeCun et al. (1998), section II.B: "340,908 connections, but only 60,000 trainable
    # free parameters" (the RBF centres are fixed, their 840 connections counted).
    assert sum(r.connections for r in rows.values()) == 340_908
    assert sum(r.params for r in rows.values()) == 60_000
    rows_t = {r.name: r for r in LeNet5Original(trainable_centres=True, rng=0).layer_table()}
    assert rows_t["output"].params == 840


def test_c3_table_is_lecun_table_1() -> None:
    # Table I: the first six maps read 3 contiguous S2 maps, the next six 4 contiguous ones,
    # the next three 4 non-contiguous ones, the last all six: 60 = 6×3 + 9×4 + 1×6.
    assert len(C3_TABLE) == 16
    for j in range(6):
        assert set(C3_TABLE[j]) == {(j + i) % 6 for i in range(3)}
    for j in range(6, 12):
        assert set(C3_TABLE[j]) == {(j - 6 + i) % 6 for i in range(4)}
    assert [set(r) for r in C3_TABLE[12:15]] == [{0, 1, 3, 4}, {1, 2, 4, 5}, {0, 2, 3, 5}]
    assert set(C3_TABLE[15]) == set(range(6))
    assert sorted(len(r) for r in C3_TABLE) == [3] * 6 + [4] * 9 + [6]
    assert sum(len(r) for r in C3_TABLE) == 60 == 6 * 3 + 9 * 4 + 1 * 6
    conv = LeNet5Original(rng=0).layers["C3"]
    assert conv.n_kernels == 60 and 96 - 60 == 36  # without the table: 16 × 6 = 96 kernels


def test_table_conv_equals_a_loop_over_the_table() -> None:
    rng = np.random.default_rng(0)
    table = ((0,), (0, 2), (1, 2))
    conv = TableConv2d(3, 3, 3, table, rng=1)
    conv.b.data[:] = rng.normal(size=3)
    x = rng.normal(size=(2, 3, 6, 7))
    out = conv(x)
    for n in range(2):
        for j, row in enumerate(table):
            want = sum(corr2d(x[n, i], conv.W.data[j, i]) for i in row) + conv.b.data[j]
            np.testing.assert_allclose(out[n, j], want, rtol=1e-12, atol=1e-12)


def test_unconnected_kernels_stay_zero_under_training() -> None:
    net = LeNet5Original(rng=0)
    c3 = net.layers["C3"]
    unconnected = c3.mask == 0
    assert np.all(c3.W.data[unconnected] == 0)
    opt = Adam(net.parameters(), lr=1e-2)
    loss = CrossEntropyLoss()
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 1, 32, 32)), rng.integers(0, 10, 4)
    for _ in range(3):
        opt.zero_grad()
        loss(net(x), y)
        net.backward(loss.backward())
        assert np.all(c3.W.grad[unconnected] == 0)
        opt.step()
    assert np.all(c3.W.data[unconnected] == 0)
    assert np.any(c3.W.data[~unconnected] != 0)


def _vjp_check(module, x: np.ndarray, seed: int = 0) -> None:
    """dx and every parameter gradient of ``module`` against central differences (float64)."""
    dout = np.random.default_rng(seed).normal(size=module(x).shape)
    module.clear_cache()
    module.zero_grad()
    module(x)
    dx = module.backward(dout)
    num = numerical_jacobian_vector(lambda z: _no_cache(module, z), x, dout)
    assert relative_error(dx, num) < 1e-6
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue

        def f(w: np.ndarray, p=p) -> np.ndarray:
            p.data[...] = w
            return _no_cache(module, x)

        num_p = numerical_jacobian_vector(f, p.data.copy(), dout)
        assert relative_error(p.grad, num_p) < 1e-6, name


def _no_cache(module, z: np.ndarray) -> np.ndarray:
    out = module(z)
    module.clear_cache()
    return out


@pytest.mark.parametrize("make, shape", [
    (lambda: ScaledTanh(), (2, 3, 4)),
    (lambda: Subsampling(3), (2, 3, 4, 6)),
    (lambda: TableConv2d(3, 3, 3, ((0,), (0, 2), (1, 2)), rng=0), (2, 3, 5, 6)),
    (lambda: RBFOutput(5, 4, trainable=True, rng=0), (3, 5)),
])
def test_layers_gradcheck(make, shape) -> None:
    module = make()
    rng = np.random.default_rng(3)
    for p in module.parameters():
        p.data[...] = rng.normal(size=p.shape)
    _vjp_check(module, rng.normal(size=shape))


def test_frozen_rbf_centres_get_no_gradient() -> None:
    rbf = RBFOutput(4, 3, rng=0)
    assert not rbf.centres.requires_grad
    assert set(np.unique(rbf.centres.data)) <= {-1.0, 1.0}
    x = np.random.default_rng(0).normal(size=(2, 4))
    out = rbf(x)
    np.testing.assert_allclose(out, -((x[:, None, :] - rbf.centres.data) ** 2).sum(-1))
    rbf.backward(np.ones_like(out))
    assert np.all(rbf.centres.grad == 0)


def test_whole_model_directional_derivative() -> None:
    """d loss along a random direction of the input and of every parameter, against the
    analytic gradients (two forward passes each instead of one per entry)."""
    net = LeNet5Original(trainable_centres=True, rng=0)
    rng = np.random.default_rng(2)
    x, y = rng.random((2, 1, 32, 32)), np.array([3, 7])
    params = [p for p in net.parameters() if p.requires_grad]
    dirs = [rng.normal(size=p.shape) * (net.layers["C3"].mask if p is net.layers["C3"].W else 1)
            for p in params]
    check_directional_derivative(net, CrossEntropyLoss(), x, y, params, dirs,
                                 rng.normal(size=x.shape))


def test_float32_stays_float32_and_learns_one_batch() -> None:
    net = LeNet5Original(rng=0, dtype=np.float32)
    rng = np.random.default_rng(0)
    x = rng.random((8, 1, 32, 32)).astype(np.float32)
    y = np.arange(8) % 10
    out = net(x)
    assert out.dtype == np.float32 and out.shape == (8, 10)
    net.clear_cache()
    loss, opt = CrossEntropyLoss(), Adam(net.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        opt.zero_grad()
        value = loss(net(x), y)
        first = value if first is None else first
        net.backward(loss.backward(), need_dx=False)
        opt.step()
    assert value < 0.5 * first
    assert all(p.data.dtype == np.float32 for p in net.parameters())


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="table"):
        TableConv2d(3, 2, 3, ((0,),))
    with pytest.raises(ValueError, match=r"table\[0\]"):
        TableConv2d(3, 1, 3, ((5,),))
    with pytest.raises(ValueError, match="x: expected shape"):
        Subsampling(2)(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="x: expected shape"):
        RBFOutput(4, 3)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="channels"):
        Subsampling(0)
