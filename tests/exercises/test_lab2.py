"""Graded tests of lab 2 (``solutions/lab2.py`` / ``exercises/lab2.py``).

Oracles: ``dlcourse.functional`` and its derivatives, ``dlcourse.gradcheck`` finite
differences in float64, closed forms, and the package's ``dlcourse.optim.Adam``.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest

from dlcourse import functional as F
from dlcourse import optim
from dlcourse.data import load_digits
from dlcourse.gradcheck import numerical_derivative
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_grad, expect_array
from dlcourse.nn import Linear, Parameter, Sequential

exercise = pytest.mark.exercise


@pytest.fixture
def lab2() -> ModuleType:
    return load_impl("lab2")


def _away_from_zero(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Random values with |x| in [0.05, 3]: no finite-difference step crosses ReLU's kink."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 3.0, size=shape)


def _check_activation(layer: object, name: str, f: object, seed: int) -> None:
    """forward = f on a 4-D batch; backward = dout ⊙ f'(x) by finite differences."""
    x = _away_from_zero((2, 3, 4, 5), seed)
    dout = np.random.default_rng(seed + 1).normal(size=x.shape)
    snap = Snapshot(x=x, dout=dout)
    out = layer.forward(x)
    assert_close(out, f(x), f"{name}.forward", 1e-10, 1e-12)
    dx = layer.backward(dout)
    snap.assert_unchanged(name)
    assert_grad(dx, dout * numerical_derivative(f, x), f"{name}.backward: dx")


# ---------------------------------------------------------------- activations
@exercise("lab2.relu", points=2)
def test_relu(lab2: ModuleType) -> None:
    _check_activation(lab2.ReLU(), "ReLU", F.relu, seed=0)


@exercise("lab2.sigmoid", points=1)
def test_sigmoid(lab2: ModuleType) -> None:
    _check_activation(lab2.Sigmoid(), "Sigmoid", F.sigmoid, seed=2)


@exercise("lab2.sigmoid", points=1)
def test_sigmoid_stable(lab2: ModuleType) -> None:
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in exp is a RuntimeWarning: fail on it
        layer = lab2.Sigmoid()
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert_close(out, F.sigmoid(x), "Sigmoid.forward for |x| up to 1000", 1e-9, 1e-15)
    assert_close(dx, F.sigmoid_grad(x), "Sigmoid.backward for |x| up to 1000", 1e-9, 1e-12)


@exercise("lab2.tanh", points=2)
def test_tanh(lab2: ModuleType) -> None:
    _check_activation(lab2.Tanh(), "Tanh", F.tanh, seed=4)


# ---------------------------------------------------------------- lab2.adam_step
def _params(seed: int) -> tuple[list[Parameter], list[Parameter]]:
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    return [Parameter(v) for v in values], [Parameter(v) for v in values]


@exercise("lab2.adam_step", points=1)
def test_adam_first_step(lab2: ModuleType) -> None:
    """With bias correction the first step is −lr·g/(|g| + ε): every entry moves by ≈ lr."""
    p = Parameter(np.random.default_rng(5).normal(size=(3, 2)))
    start = p.data.copy()
    g = np.random.default_rng(6).normal(size=p.data.shape)
    p.grad[...] = g
    lab2.Adam([p], lr=0.01).step()
    assert_close(p.data, start - 0.01 * g / (np.abs(g) + 1e-8), "Adam: first step", 1e-9)


@exercise("lab2.adam_step", points=2)
def test_adam_matches_reference(lab2: ModuleType) -> None:
    mine, ref = _params(7)
    student = lab2.Adam(mine, lr=0.02, betas=(0.8, 0.95), eps=1e-6)
    reference = optim.Adam(ref, lr=0.02, betas=(0.8, 0.95), eps=1e-6)
    rng = np.random.default_rng(8)
    for step in range(1, 11):
        for p, q in zip(mine, ref, strict=True):
            g = rng.normal(size=p.data.shape)
            p.grad[...] = g
            q.grad[...] = g
        grads = Snapshot(g0=mine[0].grad, g1=mine[1].grad)
        student.step()
        reference.step()
        grads.assert_unchanged("Adam.step")
        for i, (p, q) in enumerate(zip(mine, ref, strict=True)):
            assert_close(p.data, q.data, f"Adam: params[{i}] after step {step}", 1e-9, 1e-12)


# ---------------------------------------------------------------- lab2.build_mlp
@exercise("lab2.build_mlp", points=1)
def test_build_mlp_structure(lab2: ModuleType) -> None:
    model = lab2.build_mlp([6, 5, 4, 3], rng=0)
    assert isinstance(model, Sequential), f"build_mlp must return a Sequential, got {model!r}"
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"], f"layers: got {kinds}"
    for m, cls in zip(model, [Linear, lab2.ReLU] * 3, strict=False):
        assert isinstance(m, cls), f"build_mlp: expected {cls.__module__}.{cls.__name__}, got {m!r}"
    shapes = [p.data.shape for p in model.parameters()]
    assert shapes == [(6, 5), (5,), (5, 4), (4,), (4, 3), (3,)], f"parameter shapes: {shapes}"
    same = lab2.build_mlp([6, 5, 4, 3], rng=0)
    for p, q in zip(model.parameters(), same.parameters(), strict=True):
        assert np.array_equal(p.data, q.data), "build_mlp: the same rng seed must give same weights"


# ---------------------------------------------------------------- lab2.train_mlp
@exercise(
    "lab2.train_mlp", points=3, depends=["lab2.relu", "lab2.adam_step", "lab2.build_mlp"]
)
def test_train_mlp_digits(lab2: ModuleType) -> None:
    """MLP 64-64-10 with ReLU and Adam on the 8×8 digits: ≥ 94 % test accuracy.

    The reference reaches 97.5 % with seed 0 and 95.5–98.3 % over seeds 0–49.
    """
    X, y = load_digits("train")
    X_test, y_test = load_digits("test")
    snap = Snapshot(X=X, y=y)
    model = lab2.train_mlp(X, y, hidden=(64,), epochs=20, lr=1e-2, batch_size=32, rng=0)
    snap.assert_unchanged("train_mlp")
    scores = expect_array(model(X_test), "model(X_test)", (len(y_test), 10))
    acc = float(np.mean(scores.argmax(1) == y_test))
    assert acc >= 0.94, f"test accuracy {acc:.3f} < 0.94 after 20 epochs"
