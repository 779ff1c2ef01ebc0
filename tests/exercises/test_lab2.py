"""Graded tests of lab 2 (``solutions/lab2.py`` / ``exercises/lab2.py``).

Oracles: ``dlcourse.functional`` and its derivatives, ``dlcourse.gradcheck`` finite
differences in float64, closed forms, and the package's ``dlcourse.optim.Adam``. Each exercise
forbids the student's module the package's own version of what it asks for (``forbid=``, see
:mod:`dlcourse.grading.forbid`): an activation may not be answered with
``dlcourse.functional``, the layer classes or the registry
``dlcourse.nn.activation.ACTIVATIONS`` (whose entries hold those functions).

The training test spies on the student's ``Adam.step`` and on the network ``build_mlp``
returns: every step must see the gradient of its own mini-batch, taken by the student's Adam,
and the epochs must visit every sample once in a fresh random order.
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
from dlcourse.grading.checks import (
    RowIndex,
    Snapshot,
    assert_close,
    assert_equal,
    assert_grad,
    check_epochs,
    check_step_gradients,
    expect_array,
)
from dlcourse.nn import Linear, Parameter, Sequential

exercise = pytest.mark.exercise


def _activation(name: str, layer: str) -> dict:
    return dict(forbid=[f"dlcourse.functional.{name}", f"dlcourse.functional.{name}_grad",
                        f"dlcourse.nn.{layer}"])


RELU, SIGMOID, TANH = _activation("relu", "ReLU"), _activation("sigmoid", "Sigmoid"), _activation(
    "tanh", "Tanh"
)
ADAM = dict(forbid=["dlcourse.optim.Adam"])
BUILD = dict(forbid=["dlcourse.models.MLP"])
TRAIN = dict(depends=["lab2.relu", "lab2.adam_step", "lab2.build_mlp"],
             forbid=["dlcourse.optim.Adam", "dlcourse.train.fit"])


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
@exercise("lab2.relu", points=2, **RELU)
def test_relu(lab2: ModuleType) -> None:
    _check_activation(lab2.ReLU(), "ReLU", F.relu, seed=0)


@exercise("lab2.sigmoid", points=1, **SIGMOID)
def test_sigmoid(lab2: ModuleType) -> None:
    _check_activation(lab2.Sigmoid(), "Sigmoid", F.sigmoid, seed=2)


@exercise("lab2.sigmoid", points=1, **SIGMOID)
def test_sigmoid_stable(lab2: ModuleType) -> None:
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in exp is a RuntimeWarning: fail on it
        layer = lab2.Sigmoid()
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert_close(out, F.sigmoid(x), "Sigmoid.forward for |x| up to 1000", 1e-9, 1e-15)
    assert_close(dx, F.sigmoid_grad(x), "Sigmoid.backward for |x| up to 1000", 1e-9, 1e-12)


@exercise("lab2.tanh", points=2, **TANH)
def test_tanh(lab2: ModuleType) -> None:
    _check_activation(lab2.Tanh(), "Tanh", F.tanh, seed=4)


# ---------------------------------------------------------------- lab2.adam_step
def _params(seed: int) -> tuple[list[Parameter], list[Parameter]]:
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    return [Parameter(v) for v in values], [Parameter(v) for v in values]


@exercise("lab2.adam_step", points=1, **ADAM)
def test_adam_first_step(lab2: ModuleType) -> None:
    """With bias correction the first step is −lr·g/(|g| + ε): every entry moves by ≈ lr."""
    p = Parameter(np.random.default_rng(5).normal(size=(3, 2)))
    start = p.data.copy()
    g = np.random.default_rng(6).normal(size=p.data.shape)
    p.grad[...] = g
    lab2.Adam([p], lr=0.01).step()
    assert_close(p.data, start - 0.01 * g / (np.abs(g) + 1e-8), "Adam: first step", 1e-9)


@exercise("lab2.adam_step", points=2, **ADAM)
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
@exercise("lab2.build_mlp", points=1, **BUILD)
def test_build_mlp_structure(lab2: ModuleType) -> None:
    model = lab2.build_mlp([6, 5, 4, 3], rng=0)
    assert isinstance(model, Sequential), (
        f"build_mlp: expected a dlcourse.nn.Sequential, got {type(model).__name__}"
    )
    kinds = [type(m).__name__ for m in model]
    assert_equal(kinds, ["Linear", "ReLU", "Linear", "ReLU", "Linear"], "build_mlp: layers")
    for m, cls in zip(model, [Linear, lab2.ReLU] * 3, strict=False):
        assert isinstance(m, cls), (
            f"build_mlp: expected {cls.__module__}.{cls.__name__}, got {type(m).__module__}."
            f"{type(m).__name__}"
        )
    shapes = [p.data.shape for p in model.parameters()]
    assert_equal(shapes, [(6, 5), (5,), (5, 4), (4,), (4, 3), (3,)], "build_mlp: parameter shapes")


@exercise("lab2.build_mlp", points=1, **BUILD)
def test_build_mlp_draws_every_layer_from_rng(lab2: ModuleType) -> None:
    """The documented initialisation: ``Linear(s_i, s_i+1, rng=g)`` layer after layer, one g."""
    sizes = [6, 5, 4, 3]

    def weights(rng: object) -> list[np.ndarray]:
        return [p.data.copy() for p in lab2.build_mlp(sizes, rng=rng).parameters()]

    g = np.random.default_rng(0)
    want = [p.data for k in range(3) for p in Linear(sizes[k], sizes[k + 1], rng=g).parameters()]
    for rng, label in ((0, "rng=0"), (np.random.default_rng(0), "rng=np.random.default_rng(0)")):
        for i, (got, exp) in enumerate(zip(weights(rng), want, strict=True)):
            assert_close(got, exp, f"build_mlp({sizes}, {label}): parameter {i}", 0, 0,
                         hint="draw every Linear's weights from one generator "
                              "g = np.random.default_rng(rng), first layer first")
    first, other = weights(0), weights(1)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True)), (
        "build_mlp: rng=0 and rng=1 gave the same weights: pass rng on to the layers"
    )


# ---------------------------------------------------------------- lab2.train_mlp
class TrainingSpy:
    """Records what the student's ``train_mlp`` does at every ``Adam.step``.

    Wraps ``build_mlp`` (keeps the network and wraps its ``forward`` to remember the latest
    input) and ``Adam.step`` (before the update: that input, copies of every Linear's W, b and
    their gradients, and the optimiser) of the freshly loaded student module.
    """

    def __init__(self, lab2: ModuleType) -> None:
        self.models: list[Sequential] = []
        self.last: np.ndarray | None = None
        self.steps: list[dict] = []
        build, step = lab2.build_mlp, lab2.Adam.step
        spy = self

        def spy_build(*args, **kwargs):
            model = build(*args, **kwargs)
            forward = model.forward

            def spy_forward(x):
                spy.last = np.array(x, dtype=np.float64, copy=True)
                return forward(x)

            model.forward = spy_forward
            spy.models.append(model)
            return model

        def spy_step(opt):
            lins = [m for m in spy.models[-1] if isinstance(m, Linear)] if spy.models else []
            spy.steps.append({
                "opt": opt, "x": spy.last,
                "params": [(p.data.copy(), p.grad.copy()) for m in lins for p in (m.W, m.b)],
            })
            return step(opt)

        lab2.build_mlp = spy_build
        lab2.Adam.step = spy_step


def softmax_ce_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Closed form ∂/∂z of the mean softmax cross-entropy: (softmax(z) − onehot(y)) / N."""
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def mlp_gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Closed-form gradients [dW1, db1, dW2, db2, ...] of the mean softmax cross-entropy of the
    ReLU network with parameters [W1, b1, W2, b2, ...] on the batch (x, y)."""
    Ws, bs = params[0::2], params[1::2]
    acts = [x]
    for k, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = acts[-1] @ W + b
        acts.append(np.maximum(z, 0.0) if k < len(Ws) - 1 else z)
    G = softmax_ce_grad(acts[-1], y)
    grads: list[np.ndarray] = []
    for k in range(len(Ws) - 1, -1, -1):
        grads = [acts[k].T @ G, G.sum(axis=0), *grads]
        if k:
            G = (G @ Ws[k].T) * (acts[k] > 0)
    return grads


def check_mlp_training(spy: TrainingSpy, model: object, X: np.ndarray, y: np.ndarray,
                       epochs: int, lr: float, batch_size: int) -> None:
    what = "train_mlp"
    assert spy.models and spy.models[-1] is model, (
        "train_mlp: build the network with build_mlp([D, *hidden, C], rng) and return it"
    )
    assert spy.steps, "train_mlp: your Adam.step was never called (train with your Adam)"
    params = [p for m in model if isinstance(m, Linear) for p in (m.W, m.b)]
    for k, s in enumerate(spy.steps):
        assert s["x"] is not None, f"{what}: step {k} came before any forward of the network"
        assert {id(p) for p in s["opt"].params} == {id(p) for p in params}, (
            f"{what}: the optimiser must update exactly the network's parameters "
            "(Adam(model.parameters(), lr=lr))"
        )
        assert_close(s["opt"].lr, lr, f"{what}: Adam's lr", hint="pass lr on to Adam")
    rows = RowIndex(X)
    batches = [rows(s["x"], f"{what}: step {k}") for k, s in enumerate(spy.steps)]
    check_epochs(batches, len(X), epochs, batch_size, what)
    names = [f"{n}{k // 2 + 1}.grad" for k, n in enumerate(["W", "b"] * (len(params) // 2))]
    for k, (s, idx) in enumerate(zip(spy.steps, batches, strict=True)):
        want = mlp_gradients([data for data, _ in s["params"]], s["x"], y[idx])
        previous = [g for _, g in spy.steps[k - 1]["params"]] if k else None
        check_step_gradients([g for _, g in s["params"]], want, previous, names,
                             f"{what}: at step {k}")


@exercise("lab2.train_mlp", points=3, **TRAIN)
def test_train_mlp_digits(lab2: ModuleType) -> None:
    """MLP 64-64-10 with ReLU and Adam on the 8×8 digits: ≥ 94 % test accuracy, trained as
    documented (checked step by step by the spy).

    The reference reaches 97.5 % with seed 0 and 95.5–98.3 % over seeds 0–49.
    """
    X, y = load_digits("train")
    X_test, y_test = load_digits("test")
    snap = Snapshot(X=X, y=y)
    spy = TrainingSpy(lab2)
    model = lab2.train_mlp(X, y, hidden=(64,), epochs=20, lr=1e-2, batch_size=32, rng=0)
    snap.assert_unchanged("train_mlp")
    check_mlp_training(spy, model, X, y, epochs=20, lr=1e-2, batch_size=32)
    scores = expect_array(model(X_test), "model(X_test)", (len(y_test), 10))
    acc = float(np.mean(scores.argmax(1) == y_test))
    assert acc >= 0.94, f"train_mlp: test accuracy {acc:.3f} < 0.94 after 20 epochs"


@exercise("lab2.train_mlp", points=1, **TRAIN)
def test_train_mlp_uses_rng_for_everything(lab2: ModuleType) -> None:
    """The same seed gives the same network; another seed another network."""
    X, y = load_digits("train")
    X, y = X[:300], y[:300]

    def weights(rng: object) -> list[np.ndarray]:
        model = lab2.train_mlp(X, y, hidden=(16,), epochs=2, lr=1e-2, batch_size=32, rng=rng)
        return [p.data.copy() for p in model.parameters()]

    first, again = weights(0), weights(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True)), (
        "train_mlp: two runs with rng=0 gave different weights: draw the initial weights and "
        "every shuffle from rng (never numpy's global random state)"
    )
    other = weights(1)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True)), (
        "train_mlp: rng=0 and rng=1 gave the same weights: use rng"
    )
