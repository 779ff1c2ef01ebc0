"""Graded tests of lab 5 (``solutions/lab5.py`` / ``exercises/lab5.py``).

Oracles: closed forms written out here in numpy, ``dlcourse.gradcheck`` finite differences in
float64, and the package's ``dlcourse.nn.BatchNorm1d`` / ``dlcourse.nn.Dropout`` as references
(forbidden to the student's module while its exercise is graded, see
:mod:`dlcourse.grading.forbid`; the tests themselves call the real ones).

Dropout is random, so its checks are of two kinds: exact ones that hold for every mask (a kept
element is x/(1 − p), a dropped one 0; dx uses the forward's mask), and statistical ones whose
tolerance is proven, not tuned (see ``_check_drop_fraction``).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from dlcourse import nn
from dlcourse.data import DataLoader, load_digits
from dlcourse.gradcheck import numerical_jacobian_vector
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_equal, assert_grad
from dlcourse.losses import CrossEntropyLoss
from dlcourse.nn import Linear, Sequential
from dlcourse.optim import SGD
from dlcourse.train import fit, predict

exercise = pytest.mark.exercise

BN = "dlcourse.nn.BatchNorm1d"
DROP = "dlcourse.nn.Dropout"
BN_FORWARD = dict(forbid=[BN, "dlcourse.nn.norm.norm_forward"])
BN_BACKWARD = dict(depends=["lab5.batchnorm_forward"],
                   forbid=[BN, "dlcourse.nn.norm.norm_backward"])
DROP_FORWARD = dict(forbid=[DROP, "dlcourse.nn.dropout.dropout_forward"])
DROP_BACKWARD = dict(depends=["lab5.dropout_forward"],
                     forbid=[DROP, "dlcourse.nn.dropout.dropout_backward"])
BUILD = dict(depends=["lab5.batchnorm_forward", "lab5.batchnorm_backward",
                      "lab5.dropout_forward", "lab5.dropout_backward"],
             forbid=[BN, DROP])


@pytest.fixture
def lab5() -> ModuleType:
    return load_impl("lab5")


def _bn_closed_form(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                    mean: np.ndarray | None = None, var: np.ndarray | None = None) -> np.ndarray:
    """y = γ (x − μ)/√(σ² + ε) + β with the batch's μ and biased σ² unless given."""
    mean = x.mean(axis=0) if mean is None else mean
    var = ((x - x.mean(axis=0)) ** 2).mean(axis=0) if var is None else var
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _bn_pair(lab5: ModuleType, D: int, seed: int, **kwargs: float) -> tuple[object, nn.BatchNorm1d]:
    """The student's BatchNorm1d(D) and the package's, with the same random γ and β."""
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(0.5, 2.0, D), rng.normal(size=D)
    mine, ref = lab5.BatchNorm1d(D, **kwargs), nn.BatchNorm1d(D, **kwargs)
    for layer in (mine, ref):
        layer.gamma.data[...] = gamma
        layer.beta.data[...] = beta
    return mine, ref


def _batch(seed: int, N: int = 8, D: int = 5) -> np.ndarray:
    """Features with different means and scales per column (as a hidden layer's)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)) * rng.uniform(0.5, 3.0, D) + rng.normal(size=D) * 2


# ---------------------------------------------------------------- lab5.batchnorm_forward
@exercise("lab5.batchnorm_forward", points=2, **BN_FORWARD)
def test_batchnorm_forward_training(lab5: ModuleType) -> None:
    layer, ref = _bn_pair(lab5, 5, seed=0)
    x = _batch(1)
    snap = Snapshot(x=x)
    out = layer.forward(x)
    snap.assert_unchanged("BatchNorm1d.forward")
    want = _bn_closed_form(x, layer.gamma.data, layer.beta.data, 1e-5)
    assert_close(out, want, "BatchNorm1d.forward (training): y = γ (x − μ)/√(σ² + ε) + β",
                 1e-9, 1e-10, hint="μ and the biased σ² (divide by N) of this batch, per feature")
    assert_close(out, ref.forward(x), "BatchNorm1d.forward (training) vs dlcourse.nn", 1e-9, 1e-10)
    # ε inside the square root, with a large ε and small variances where it matters
    layer, _ = _bn_pair(lab5, 5, seed=2, eps=0.5)
    x = _batch(3) * 0.1
    assert_close(layer.forward(x), _bn_closed_form(x, layer.gamma.data, layer.beta.data, 0.5),
                 "BatchNorm1d.forward with eps=0.5", 1e-9, 1e-10,
                 hint="ε is added to the variance under the square root: √(σ² + ε)")


@exercise("lab5.batchnorm_forward", points=2, **BN_FORWARD)
def test_batchnorm_running_statistics(lab5: ModuleType) -> None:
    """PyTorch's update: running = (1 − momentum)·running + momentum·batch, unbiased variance."""
    x = _batch(4, N=6)
    layer, _ = _bn_pair(lab5, 5, seed=5)
    layer.forward(x)
    N = x.shape[0]
    mean, var_unbiased = x.mean(axis=0), x.var(axis=0) * N / (N - 1)
    assert_close(layer.running_mean, 0.9 * 0.0 + 0.1 * mean,
                 "BatchNorm1d.running_mean after one batch (momentum=0.1, started at 0)", 1e-9,
                 1e-12, hint="running_mean = (1 − momentum)·running_mean + momentum·μ")
    assert_close(layer.running_var, 0.9 * 1.0 + 0.1 * var_unbiased,
                 "BatchNorm1d.running_var after one batch (momentum=0.1, started at 1)", 1e-9,
                 1e-12, hint="the running variance takes the unbiased variance, σ²·N/(N − 1)")
    layer, ref = _bn_pair(lab5, 5, seed=6, momentum=0.3)
    for k in range(3):
        xb = _batch(10 + k, N=7)
        layer.forward(xb)
        ref.forward(xb)
    assert_close(layer.running_mean, ref.running_mean,
                 "BatchNorm1d.running_mean after 3 batches (momentum=0.3) vs dlcourse.nn", 1e-9,
                 1e-12, hint="momentum is the weight of the new batch")
    assert_close(layer.running_var, ref.running_var,
                 "BatchNorm1d.running_var after 3 batches (momentum=0.3) vs dlcourse.nn", 1e-9,
                 1e-12)


@exercise("lab5.batchnorm_forward", points=2, **BN_FORWARD)
def test_batchnorm_eval_uses_running_statistics(lab5: ModuleType) -> None:
    layer, ref = _bn_pair(lab5, 5, seed=7, momentum=0.5)
    for k in range(3):
        xb = _batch(20 + k)
        layer.forward(xb)
        ref.forward(xb)
    layer.eval()
    ref.eval()
    before = (np.array(layer.running_mean, copy=True), np.array(layer.running_var, copy=True))
    x = _batch(30, N=6) + 1.0
    out = layer.forward(x)
    want = _bn_closed_form(x, layer.gamma.data, layer.beta.data, 1e-5, before[0], before[1])
    assert_close(out, want, "BatchNorm1d.forward in eval mode", 1e-9, 1e-10,
                 hint="eval() normalises with running_mean and running_var, not the batch's")
    assert_close(out, ref.forward(x), "BatchNorm1d.forward in eval mode vs dlcourse.nn", 1e-9,
                 1e-10)
    assert_close(layer.forward(x[2:3]), out[2:3],
                 "BatchNorm1d.forward in eval mode on one sample (must not depend on the batch)",
                 1e-9, 1e-10)
    assert_close(layer.running_mean, before[0], "BatchNorm1d.running_mean changed in eval mode",
                 0, 0)
    assert_close(layer.running_var, before[1], "BatchNorm1d.running_var changed in eval mode",
                 0, 0)


# ---------------------------------------------------------------- lab5.batchnorm_backward
def _bn_gradients(layer: object, x: np.ndarray, dout: np.ndarray, mode: str) -> None:
    """dx, dγ, dβ of the student's layer against finite differences of its own forward."""
    gamma0 = layer.gamma.data.copy()
    layer.zero_grad()
    layer.forward(x)
    dx = layer.backward(dout)

    def with_gamma(g: np.ndarray) -> np.ndarray:
        layer.gamma.data[...] = g
        try:
            return layer.forward(x)
        finally:
            layer.gamma.data[...] = gamma0

    def with_beta(b: np.ndarray) -> np.ndarray:
        beta0 = layer.beta.data.copy()
        layer.beta.data[...] = b
        try:
            return layer.forward(x)
        finally:
            layer.beta.data[...] = beta0

    num_dx = numerical_jacobian_vector(layer.forward, x, dout)
    assert_grad(dx, num_dx, f"BatchNorm1d.backward ({mode}): dx",
                hint="in training μ and σ² depend on every x of the batch" if mode == "training"
                else "in eval mode the statistics are constants")
    assert_grad(layer.gamma.grad, numerical_jacobian_vector(with_gamma, gamma0, dout),
                f"BatchNorm1d.backward ({mode}): gamma.grad")
    assert_grad(layer.beta.grad, numerical_jacobian_vector(with_beta, layer.beta.data, dout),
                f"BatchNorm1d.backward ({mode}): beta.grad")


@exercise("lab5.batchnorm_backward", points=2, **BN_BACKWARD)
def test_batchnorm_backward_training(lab5: ModuleType) -> None:
    layer, _ = _bn_pair(lab5, 5, seed=8)
    x = _batch(9, N=8)
    dout = np.random.default_rng(10).normal(size=x.shape)
    snap = Snapshot(x=x, dout=dout)
    _bn_gradients(layer, x, dout, "training")
    snap.assert_unchanged("BatchNorm1d")


@exercise("lab5.batchnorm_backward", points=1, forbid=BN_BACKWARD["forbid"])
def test_batchnorm_backward_from_the_documented_cache(lab5: ModuleType) -> None:
    """backward alone: the cache (x_hat, inv_std, batch_stats) set by the test, not by the
    student's forward; dx against finite differences of the closed form (7.55)-(7.57)."""
    rng = np.random.default_rng(12)
    x, dout = _batch(13, N=6, D=3), rng.normal(size=(6, 3))
    gamma, beta, eps = rng.uniform(0.5, 2.0, 3), rng.normal(size=3), 1e-5
    layer = lab5.BatchNorm1d(3, eps=eps)
    layer.gamma.data[...] = gamma
    var = x.var(axis=0)
    layer.x_hat = (x - x.mean(axis=0)) / np.sqrt(var + eps)
    layer.inv_std = 1.0 / np.sqrt(var + eps)
    layer.batch_stats = True
    layer.zero_grad()
    dx = layer.backward(dout)
    num = numerical_jacobian_vector(lambda z: _bn_closed_form(z, gamma, beta, eps), x, dout)
    assert_grad(dx, num, "BatchNorm1d.backward (training, cache set by the test): dx",
                hint="use self.x_hat, self.inv_std and self.batch_stats as the docstring says")
    assert_grad(layer.beta.grad, dout.sum(axis=0), "BatchNorm1d.backward: beta.grad")


@exercise("lab5.batchnorm_backward", points=1, **BN_BACKWARD)
def test_batchnorm_backward_eval_and_accumulation(lab5: ModuleType) -> None:
    layer, _ = _bn_pair(lab5, 4, seed=11)
    for k in range(2):
        layer.forward(_batch(40 + k, D=4))
    layer.eval()
    x = _batch(12, N=6, D=4)
    dout = np.random.default_rng(13).normal(size=x.shape)
    _bn_gradients(layer, x, dout, "eval")
    # gradients are added (+=), as every dlcourse module does
    layer.train()
    layer.zero_grad()
    layer.gamma.grad[...] = 1.0
    layer.beta.grad[...] = 1.0
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    layer.forward(x)
    layer.backward(dout)
    assert_close(layer.beta.grad, 1.0 + dout.sum(0), "BatchNorm1d.backward must add (+=) into "
                 "beta.grad", 1e-9, 1e-12)
    assert_close(layer.gamma.grad, 1.0 + (dout * x_hat).sum(0), "BatchNorm1d.backward must add "
                 "(+=) into gamma.grad", 1e-7, 1e-9)


# ---------------------------------------------------------------- lab5.dropout_forward
P = 0.3
SHAPE = (400, 500)   # 200,000 elements for the statistical checks


def _away_from_zero(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)


def _check_drop_fraction(out: np.ndarray, p: float, what: str) -> None:
    """The fraction of dropped elements is p within 0.01.

    Why 0.01 cannot fail a correct layer: the n = 200,000 drops are independent Bernoulli(p),
    so by Hoeffding's inequality P(|fraction − p| >= t) <= 2·exp(−2·n·t²) = 2·e^{−40} ≈ 8.5e-18
    for t = 0.01. Measured too: over seeds 0–999 of ``dlcourse.nn.Dropout(0.3)`` the largest
    deviation was 0.0033 (standard deviation 0.0006). A layer that drops with probability
    1 − p instead (0.7 here) misses by 0.4.
    """
    frac = float(np.mean(out == 0))
    assert abs(frac - p) < 0.01, (
        f"{what}: fraction of dropped elements {frac:.4f}, expected p = {p} ± 0.01 "
        "(p is the probability of DROPPING an element, as in PyTorch)"
    )


@exercise("lab5.dropout_forward", points=1, **DROP_FORWARD)
def test_dropout_forward_values(lab5: ModuleType) -> None:
    x = _away_from_zero(SHAPE, 0)
    snap = Snapshot(x=x)
    out = np.asarray(lab5.Dropout(P, rng=1).forward(x))
    snap.assert_unchanged("Dropout.forward")
    assert_equal(out.shape, SHAPE, "Dropout.forward: output shape")
    kept = out != 0
    ref = np.asarray(nn.Dropout(P, rng=1).forward(x))      # the package's layer: its scale
    scale = float(np.mean(ref[ref != 0] / x[ref != 0]))     # 1/(1 − p)
    assert_close(out[kept], x[kept] * scale, f"Dropout.forward (training, p={P}): kept elements",
                 1e-12, 0, hint="inverted dropout scales every kept element by 1/(1 − p)")
    _check_drop_fraction(out, P, f"Dropout.forward (training, p={P})")
    # E[out] = x: with x = 1 the mean output is (kept fraction)/(1 − p), within 0.01/0.7
    mean = float(np.mean(lab5.Dropout(P, rng=2).forward(np.ones(SHAPE))))
    assert abs(mean - 1.0) < 0.0143, f"Dropout.forward: mean output {mean:.4f} for x = 1, " \
                                     "expected 1 ± 0.0143 (E[out] = x)"


@exercise("lab5.dropout_forward", points=1, **DROP_FORWARD)
def test_dropout_masks_come_from_rng(lab5: ModuleType) -> None:
    x = _away_from_zero((50, 40), 3)
    layer = lab5.Dropout(0.5, rng=0)
    first, second = np.array(layer.forward(x), copy=True), np.array(layer.forward(x), copy=True)
    assert not np.array_equal(first == 0, second == 0), (
        "Dropout.forward: two training-mode calls dropped the same elements (draw a new mask "
        "from self.rng at every call)"
    )
    again = lab5.Dropout(0.5, rng=0).forward(x)
    assert np.array_equal(first, again), (
        "Dropout.forward: two layers with rng=0 gave different masks (draw from self.rng, never "
        "numpy's global random state)"
    )
    other = lab5.Dropout(0.5, rng=1).forward(x)
    assert not np.array_equal(first, other), "Dropout.forward: rng=0 and rng=1 gave the same mask"


@exercise("lab5.dropout_forward", points=1, **DROP_FORWARD)
def test_dropout_eval_and_p0_are_identity(lab5: ModuleType) -> None:
    x = _away_from_zero((20, 30), 4)
    layer = lab5.Dropout(0.5, rng=0)
    layer.eval()
    assert_close(layer.forward(x), x, "Dropout.forward in eval mode (must be the identity)", 0, 0)
    layer.train()
    assert_close(lab5.Dropout(0.0, rng=0).forward(x), x, "Dropout(p=0).forward (identity)", 0, 0)
    _check_drop_fraction(layer.forward(_away_from_zero(SHAPE, 5)), 0.5,
                         "Dropout.forward after train() (p=0.5)")


# ---------------------------------------------------------------- lab5.dropout_backward
@exercise("lab5.dropout_backward", points=1, **DROP_BACKWARD)
def test_dropout_backward_uses_the_forward_mask(lab5: ModuleType) -> None:
    x = _away_from_zero((30, 20), 6)
    dout = np.random.default_rng(7).normal(size=x.shape)
    layer = lab5.Dropout(P, rng=8)
    out = np.asarray(layer.forward(x))
    snap = Snapshot(dout=dout)
    dx = layer.backward(dout)
    snap.assert_unchanged("Dropout.backward")
    assert_close(dx, dout * (out != 0) / (1.0 - P), f"Dropout.backward (p={P})", 1e-12, 0,
                 hint="dx = dout ⊙ μ / (1 − p) with the mask μ of the forward call")
    # finite differences: a fresh layer seeded alike draws the same mask at every call
    num = numerical_jacobian_vector(lambda z: lab5.Dropout(P, rng=8).forward(z), x, dout)
    assert_grad(dx, num, "Dropout.backward: dx")


@exercise("lab5.dropout_backward", points=1, **DROP_BACKWARD)
def test_dropout_backward_in_eval_mode(lab5: ModuleType) -> None:
    x = _away_from_zero((10, 6), 9)
    dout = np.random.default_rng(10).normal(size=x.shape)
    layer = lab5.Dropout(0.5, rng=0)
    layer.eval()
    layer.forward(x)
    assert_close(layer.backward(dout), dout, "Dropout.backward in eval mode (identity)", 0, 0)


# ---------------------------------------------------------------- lab5.build_net
@exercise("lab5.build_net", points=1, **BUILD)
def test_build_net_structure(lab5: ModuleType) -> None:
    sizes = [6, 5, 4, 3]
    cases = {
        (False, 0.0): ["Linear", "ReLU", "Linear", "ReLU", "Linear"],
        (True, 0.0): ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"],
        (False, 0.5): ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"],
        (True, 0.5): ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d",
                      "ReLU", "Dropout", "Linear"],
    }
    for (bn, p), kinds in cases.items():
        net = lab5.build_net(sizes, batch_norm=bn, dropout=p, rng=0)
        what = f"build_net({sizes}, batch_norm={bn}, dropout={p})"
        assert isinstance(net, Sequential), f"{what}: expected a dlcourse.nn.Sequential"
        assert_equal([type(m).__name__ for m in net], kinds, f"{what}: layers")
        for m in net:
            name = type(m).__name__
            if name in ("BatchNorm1d", "Dropout"):
                assert isinstance(m, getattr(lab5, name)), f"{what}: use your own {name}"
            if name == "Dropout":
                assert_close(m.p, p, f"{what}: Dropout.p")
        lins = [m for m in net if isinstance(m, Linear)]
        assert_equal([m.W.data.shape for m in lins], [(6, 5), (5, 4), (4, 3)],
                     f"{what}: Linear weight shapes")
    g = np.random.default_rng(0)
    want = [Linear(a, b, rng=g).W.data for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    got = [m.W.data for m in lab5.build_net(sizes, True, 0.5, rng=0) if isinstance(m, Linear)]
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert_close(a, b, f"build_net(rng=0): Linear {i} weights", 0, 0,
                     hint="draw every Linear from one g = np.random.default_rng(rng), in order")
    x = _away_from_zero((40, 6), 11)
    outs = [np.asarray(lab5.build_net(sizes, False, 0.5, rng=0)(x)) for _ in range(2)]
    assert np.array_equal(outs[0], outs[1]), (
        "build_net(rng=0): two networks gave different training-mode outputs (give every "
        "Dropout the generator g, rng=g)"
    )


@exercise("lab5.build_net", points=2, **BUILD)
def test_build_net_trains_with_fit(lab5: ModuleType) -> None:
    """Your modules inside dlcourse.train.fit: BatchNorm + Dropout MLP on the 8×8 digits.

    The reference solution reaches 95.8 % with seed 0 and 95.8–97.5 % over seeds 0–9 (rng of
    build_net and of the loader); 92 % leaves room.
    """
    X, y = load_digits("train")
    X_test, y_test = load_digits("test")
    net = lab5.build_net([64, 64, 10], batch_norm=True, dropout=0.2, rng=0)
    opt = SGD(net.parameters(), lr=0.05, momentum=0.9)
    fit(net, CrossEntropyLoss(), opt, DataLoader(X, y, batch_size=32, shuffle=True, rng=0),
        epochs=10, quiet=True)
    acc = float(np.mean(predict(net, X_test).argmax(1) == y_test))
    assert acc >= 0.92, f"build_net + fit: test accuracy {acc:.3f} < 0.92 after 10 epochs"


# ---------------------------------------------------------------- lab5.epochs_to_target
@exercise("lab5.epochs_to_target", points=1)
def test_epochs_to_target(lab5: ModuleType) -> None:
    cases = [([0.9, 0.97, 0.96], 0.97, 2), ([0.98], 0.97, 1), ([0.5, 0.6], 0.97, None),
             ([0.9, 0.95, 0.99, 0.995], 0.99, 3), ([], 0.97, None)]
    for acc, target, want in cases:
        assert_equal(lab5.epochs_to_target(acc, target), want,
                     f"epochs_to_target({acc}, {target})",
                     hint="the first epoch counts as 1; None if no epoch reaches the target")


@exercise("lab5.dropout_backward", points=1, forbid=DROP_BACKWARD["forbid"])
def test_dropout_backward_from_the_documented_cache(lab5: ModuleType) -> None:
    """backward alone: the mask set by the test, not drawn by the student's forward."""
    rng = np.random.default_rng(21)
    layer = lab5.Dropout(0.25, rng=0)
    mask = rng.random((4, 6)) >= 0.25
    dout = rng.normal(size=(4, 6))
    layer.mask = mask
    assert_close(layer.backward(dout), dout * mask / 0.75,
                 "Dropout.backward (mask set by the test)",
                 hint="dx = dout ⊙ μ / (1 − p) with μ = self.mask")
    layer.mask = None
    assert_close(layer.backward(dout), dout, "Dropout.backward with self.mask None (eval)")
