"""Tests for the cache rules of dlcourse/nn/module.py: reuse within one forward pass, no_grad,
eval mode, frozen parameters and skipped input gradients.

Every reuse case is checked against centred finite differences in float64: before the
per-call cache stack, ``Sequential(lin, Tanh(), lin)`` gave a weight gradient with relative
error 1.0 and no warning.
"""

from __future__ import annotations

import numpy as np
import pytest
from _gradcheck_utils import check_module_gradients

from dlcourse.gradcheck import numerical_gradient, relative_error
from dlcourse.nn import (
    ELU,
    Flatten,
    Linear,
    Maxout,
    Module,
    Parameter,
    PReLU,
    ReLU,
    Sequential,
    Tanh,
    is_grad_enabled,
    no_grad,
)
from dlcourse.optim import SGD, Adam


def test_same_linear_twice_in_one_sequential_has_correct_gradients() -> None:
    rng = np.random.default_rng(0)
    lin = Linear(3, 3, rng=rng)
    net = Sequential(lin, Tanh(), lin)
    check_module_gradients(net, rng.standard_normal((4, 3)), rng)


def test_nested_reuse_of_a_whole_block() -> None:
    rng = np.random.default_rng(1)
    block = Sequential(Linear(4, 4, rng=rng), Tanh())
    net = Sequential(block, Linear(4, 4, rng=rng), block, block)
    check_module_gradients(net, rng.standard_normal((3, 4)), rng)


def test_shared_parameter_in_two_modules_gets_both_contributions() -> None:
    rng = np.random.default_rng(2)
    first, second = Linear(3, 3, rng=rng), Linear(3, 3, rng=rng)
    second.W = first.W  # tied weights: one Parameter, two modules
    net = Sequential(first, Tanh(), second)
    assert [n for n, _ in net.named_parameters()] == ["0.W", "0.b", "2.b"]
    check_module_gradients(net, rng.standard_normal((5, 3)), rng)


class Cell(Module):
    """h_t = tanh(x_t W_x + b + h_{t−1} W_h), the cell of a plain RNN, unrolled by the caller."""

    def __init__(self, D: int, H: int, rng: np.random.Generator) -> None:
        super().__init__()
        self.wx = Linear(D, H, rng=rng)
        self.wh = Linear(H, H, bias=False, rng=rng)
        self.act = Tanh()

    def forward(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        return self.act(self.wx(x) + self.wh(h))

    def backward(self, dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dz = self.act.backward(dh)
        return self.wx.backward(dz), self.wh.backward(dz)


class Unrolled(Module):
    """Applies one Cell over T steps of x (N, T, D) and returns every h_t: (N, T, H)."""

    def __init__(self, cell: Cell, H: int) -> None:
        super().__init__()
        self.cell, self.H = cell, H

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, T, _ = x.shape
        h = np.zeros((N, self.H))
        hs = []
        for t in range(T):
            h = self.cell(x[:, t], h)
            hs.append(h)
        return np.stack(hs, axis=1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        N, T, _ = dout.shape
        dh_next = np.zeros((N, self.H))
        dxs = []
        for t in reversed(range(T)):  # last in, first out: back-propagation through time
            dx, dh_next = self.cell.backward(dout[:, t] + dh_next)
            dxs.append(dx)
        return np.stack(dxs[::-1], axis=1)


def test_a_cell_applied_T_times_gives_the_bptt_gradients() -> None:
    rng = np.random.default_rng(3)
    net = Unrolled(Cell(2, 3, rng), H=3)
    check_module_gradients(net, rng.standard_normal((2, 5, 2)), rng)
    assert all(m.num_cached_calls == 0 for m in net.modules())


def test_one_backward_too_many_raises_instead_of_reusing_a_cache() -> None:
    lin = Linear(2, 2, rng=0)
    lin(np.ones((1, 2)))
    lin.backward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        lin.backward(np.ones((1, 2)))


def test_caches_are_consumed_last_in_first_out() -> None:
    lin = Linear(2, 1, bias=False, rng=0)
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 2.0]])
    lin(a)
    lin(b)
    lin.backward(np.ones((1, 1)))  # pairs with the call on b
    np.testing.assert_array_equal(lin.W.grad, b.T)
    lin.zero_grad()
    lin.backward(np.ones((1, 1)))  # then with the call on a
    np.testing.assert_array_equal(lin.W.grad, a.T)


def test_no_grad_keeps_nothing_and_restores_the_previous_state() -> None:
    net = Sequential(Linear(3, 4, rng=0), ReLU(), Flatten(), Linear(4, 2, rng=1))
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            net(np.ones((5, 3)))
        assert not is_grad_enabled()
        net(np.ones((5, 3)))
    assert is_grad_enabled()
    assert all(m.num_cached_calls == 0 for m in net.modules())
    with pytest.raises(RuntimeError, match="no_grad"):
        net.backward(np.ones((5, 2)))
    with pytest.raises(ZeroDivisionError), no_grad():
        raise ZeroDivisionError
    assert is_grad_enabled()


def test_eval_mode_keeps_only_the_latest_call_and_mode_changes_release_caches() -> None:
    rng = np.random.default_rng(4)
    net = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng))
    for _ in range(3):
        net(rng.standard_normal((6, 3)))
    assert net[0].num_cached_calls == 3
    net.eval()
    assert all(m.num_cached_calls == 0 for m in net.modules())
    for _ in range(10):  # e.g. evaluating a test set batch by batch
        net(rng.standard_normal((6, 3)))
    assert all(m.num_cached_calls <= 1 for m in net.modules())
    # the latest call can still be differentiated, e.g. for a saliency map
    x = rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 2))
    net(x)
    dx = net.backward(dout)
    with no_grad():
        numeric = numerical_gradient(lambda z: float(np.sum(net(z) * dout)), x)
    assert relative_error(dx, numeric) < 1e-6
    net(x)
    net.train()
    assert all(m.num_cached_calls == 0 for m in net.modules())


def test_reuse_in_eval_mode_raises_rather_than_using_the_wrong_cache() -> None:
    lin = Linear(3, 3, rng=0)
    net = Sequential(lin, Tanh(), lin).eval()
    net(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="eval mode only the latest call is kept"):
        net.backward(np.ones((2, 3)))


def test_frozen_parameters_get_no_gradient_and_no_update() -> None:
    rng = np.random.default_rng(5)
    first, second = Linear(3, 4, rng=rng), Linear(4, 2, rng=rng)
    net = Sequential(first, Tanh(), second)
    assert first.requires_grad_(False) is first
    assert all(not p.requires_grad for p in first.parameters())
    before = [p.data.copy() for p in net.parameters()]
    for opt in (SGD(net.parameters(), lr=0.1, weight_decay=0.1), Adam(net.parameters())):
        opt.zero_grad()
        x = rng.standard_normal((5, 3))
        net(x)
        dx = net.backward(rng.standard_normal((5, 2)))
        assert dx.shape == x.shape  # the input gradient still flows through frozen layers
        assert not first.W.grad.any() and not first.b.grad.any()
        assert second.W.grad.any()
        opt.step()
    np.testing.assert_array_equal(first.W.data, before[0])
    np.testing.assert_array_equal(first.b.data, before[1])
    assert not np.array_equal(second.W.data, before[2])
    first.requires_grad_(True)
    net(rng.standard_normal((5, 3)))
    net.backward(rng.standard_normal((5, 2)))
    assert first.W.grad.any()


def test_frozen_parameter_gradient_matches_the_unfrozen_one_for_the_rest() -> None:
    rng = np.random.default_rng(6)
    net = Sequential(Linear(3, 4, rng=rng), ELU(), Linear(4, 2, rng=rng))
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    net(x)
    dx_all = net.backward(dout)
    grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net[2].W.requires_grad = False
    net(x)
    dx_frozen = net.backward(dout)
    np.testing.assert_array_equal(dx_frozen, dx_all)
    assert not net[2].W.grad.any()
    for (name, p), g in zip(net.named_parameters(), grads, strict=True):
        if name != "2.W":
            np.testing.assert_array_equal(p.grad, g)


def test_need_dx_false_skips_the_input_gradient_and_keeps_parameter_grads() -> None:
    rng = np.random.default_rng(7)
    net = Sequential(Linear(3, 4, rng=rng), PReLU(), Maxout(4, 3, pieces=2, rng=rng))
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    net(x)
    net.backward(dout)
    grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net(x)
    assert net.backward(dout, need_dx=False) is None
    for p, g in zip(net.parameters(), grads, strict=True):
        np.testing.assert_allclose(p.grad, g, rtol=1e-15)
    assert all(m.num_cached_calls == 0 for m in net.modules())


def test_need_dx_false_only_affects_the_first_use_of_a_reused_layer() -> None:
    rng = np.random.default_rng(8)
    lin = Linear(3, 3, rng=rng)
    net = Sequential(lin, Tanh(), lin)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    net(x)
    net.backward(dout)
    full = lin.W.grad.copy()
    net.zero_grad()
    net(x)
    assert net.backward(dout, need_dx=False) is None
    np.testing.assert_allclose(lin.W.grad, full, rtol=1e-15)


class OldStyle(Module):
    """A module whose backward has no ``need_dx`` (a student's own layer)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return 2 * x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return 2 * dout


def test_sequential_accepts_a_first_layer_without_need_dx() -> None:
    net = Sequential(OldStyle(), Linear(2, 1, rng=0))
    net(np.ones((3, 2)))
    assert net.backward(np.ones((3, 1)), need_dx=False) is None


def test_linear_accepts_leading_dimensions() -> None:
    rng = np.random.default_rng(9)
    lin = Linear(4, 3, rng=rng)
    x = rng.standard_normal((2, 5, 4))  # (N, T, D)
    with no_grad():
        y = lin(x)
    assert y.shape == (2, 5, 3)
    np.testing.assert_allclose(y[1, 2], x[1, 2] @ lin.W.data + lin.b.data, rtol=1e-12)
    check_module_gradients(lin, x, rng)
    check_module_gradients(Sequential(lin, Tanh(), Linear(3, 2, rng=rng)), x, rng)


def test_maxout_gradients_and_leading_dimensions() -> None:
    rng = np.random.default_rng(10)
    layer = Maxout(4, 3, pieces=3, rng=rng)
    assert layer.W.shape == (3, 4, 3) and layer.b.shape == (3, 3)
    check_module_gradients(layer, rng.standard_normal((6, 4)), rng)
    check_module_gradients(layer, rng.standard_normal((2, 3, 4)), rng)


def test_maxout_with_pieces_x_and_gamma_x_is_leaky_relu() -> None:
    """Two pieces, z₁ = x and z₂ = γx (γ < 1): max(x, γx) is LeakyReLU with slope γ."""
    gamma = 0.1
    layer = Maxout(1, 1, pieces=2)
    layer.W.data[:] = np.array([1.0, gamma]).reshape(2, 1, 1)
    layer.b.data[:] = 0.0
    x = np.linspace(-3, 3, 13).reshape(-1, 1)
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, gamma * x), rtol=1e-15)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(dx[x != 0], np.where(x > 0, 1.0, gamma)[x != 0], rtol=1e-15)


def test_maxout_argument_errors() -> None:
    with pytest.raises(ValueError, match="pieces: expected an integer >= 1, got 0"):
        Maxout(2, 2, pieces=0)
    layer = Maxout(2, 3, pieces=2, rng=0)
    with pytest.raises(ValueError, match=r"x: expected shape \(..., in_features\) = \(..., 2\)"):
        layer(np.ones((4, 3)))
    layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"dout: expected shape \(4, 3\)"):
        layer.backward(np.ones((4, 2)))


def test_parameter_requires_grad_is_checked() -> None:
    with pytest.raises(TypeError, match="requires_grad: expected a bool, got int"):
        Parameter(np.zeros(2), requires_grad=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="requires_grad: expected a bool"):
        Linear(2, 2).requires_grad_("no")  # type: ignore[arg-type]
    assert "requires_grad=False" in repr(Parameter(np.zeros(2), requires_grad=False))


class PairLayer(Module):
    """Returns a pair (outputs, state), as a recurrent layer does."""

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return 2 * x, x[:, -1]

    def backward(self, dpair: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        doutputs, dstate = dpair
        dx = 2 * doutputs
        if dstate is not None:
            dx[:, -1] += dstate
        return dx


class TakeOutputs(Module):
    """Keeps the first element of a pair; its backward returns (doutputs, None)."""

    def forward(self, pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return pair[0]

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, None]:
        return dout, None


def test_sequential_passes_tuples_between_children() -> None:
    rng = np.random.default_rng(11)
    net = Sequential(Linear(3, 4, rng=rng), PairLayer(), TakeOutputs(), Linear(4, 2, rng=rng))
    check_module_gradients(net, rng.standard_normal((5, 3)), rng)


def test_train_mode_keeps_a_bounded_number_of_calls_and_refuses_dropped_ones() -> None:
    rng = np.random.default_rng(12)
    net = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng))
    for _ in range(Module.max_cached_calls + 50):  # e.g. evaluating in train mode in a loop
        net(rng.standard_normal((2, 3)))
    assert all(m.num_cached_calls <= Module.max_cached_calls for m in net.modules())
    for _ in range(Module.max_cached_calls):  # the kept calls are still differentiable
        net.backward(np.ones((2, 2)))
    with pytest.raises(RuntimeError, match="max_cached_calls=128"):
        net.backward(np.ones((2, 2)))


def test_max_cached_calls_can_be_raised_per_instance() -> None:
    lin = Linear(2, 2, rng=0)
    lin.max_cached_calls = 300
    for _ in range(300):
        lin(np.ones((1, 2)))
    assert lin.num_cached_calls == 300
