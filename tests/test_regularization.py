"""Tests of dlcourse/regularization.py.

References: closed forms (½α‖w‖², α sign(w), the shrink form (5.50), 1 − (1 − 1/N)^N,
(5.54)), centred finite differences of the penalty value, PyTorch's SGD(weight_decay=) and
sampling statistics with tolerances of 6 standard errors over several seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import regularization as R
from dlcourse.functional import softmax
from dlcourse.losses import MSELoss
from dlcourse.nn import BatchNorm1d, Linear, Parameter, ReLU, Sequential
from dlcourse.optim import SGD


def net(seed: int = 0) -> Sequential:
    r = np.random.default_rng(seed)
    m = Sequential(Linear(3, 4), ReLU(), BatchNorm1d(4), Linear(4, 2))
    for p in m.parameters():  # nonzero everywhere, also the biases and γ/β
        p.data[...] = r.normal(size=p.shape)
    return m


def grads(m: Sequential) -> dict[str, np.ndarray]:
    return {n: p.grad.copy() for n, p in m.named_parameters()}


def numerical_grad(fn, p: Parameter, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(p.data)
    for i in np.ndindex(p.shape):
        old = p.data[i]
        p.data[i] = old + h
        up = fn()
        p.data[i] = old - h
        down = fn()
        p.data[i] = old
        g[i] = (up - down) / (2 * h)
    return g


# ---- penalties -------------------------------------------------------------------------------


def test_l2_value_and_gradient_on_weights_only() -> None:
    m, lam = net(), 0.3
    W1, W2 = m[0].W.data, m[3].W.data
    value = R.l2_penalty(m, lam)
    assert value == pytest.approx(0.5 * lam * (np.sum(W1**2) + np.sum(W2**2)), rel=1e-12)
    g = grads(m)
    np.testing.assert_allclose(g["0.W"], lam * W1)
    np.testing.assert_allclose(g["3.W"], lam * W2)
    for name in ("0.b", "3.b", "2.gamma", "2.beta"):  # biases and γ/β are not penalised
        assert np.all(g[name] == 0.0), name


def test_l1_value_and_subgradient() -> None:
    m, lam = net(1), 0.2
    m[0].W.data[0, 0] = 0.0  # subgradient 0 at 0
    value = R.l1_penalty(m, lam)
    assert value == pytest.approx(lam * (np.abs(m[0].W.data).sum() + np.abs(m[3].W.data).sum()))
    g = m[0].W.grad
    assert g[0, 0] == 0.0
    np.testing.assert_array_equal(g, lam * np.sign(m[0].W.data))


@pytest.mark.parametrize("penalty", [R.l2_penalty, R.l1_penalty])
def test_penalty_gradient_matches_finite_differences(penalty) -> None:
    m = net(2)
    penalty(m, 0.7)
    for name, p in m.named_parameters():
        num = numerical_grad(lambda: penalty(m, 0.7, add_grad=False), p)
        np.testing.assert_allclose(p.grad, num, atol=1e-8, err_msg=name)


def test_gradients_accumulate_into_existing_grads_and_add_grad_false_leaves_them() -> None:
    m = net(3)
    m[0].W.grad[...] = 1.0
    R.l2_penalty(m, 0.5, add_grad=False)
    assert np.all(m[0].W.grad == 1.0)
    R.l2_penalty(m, 0.5)
    np.testing.assert_allclose(m[0].W.grad, 1.0 + 0.5 * m[0].W.data)


def test_weights_only_false_penalises_every_parameter() -> None:
    m = net(4)
    value = R.l2_penalty(m, 1.0, weights_only=False)
    assert value == pytest.approx(sum(0.5 * np.sum(p.data**2) for p in m.parameters()))
    np.testing.assert_allclose(m[0].b.grad, m[0].b.data)


def test_frozen_parameters_are_skipped() -> None:
    m = net(5)
    m[0].requires_grad_(False)
    value = R.l2_penalty(m, 1.0)
    assert value == pytest.approx(0.5 * np.sum(m[3].W.data ** 2))
    assert np.all(m[0].W.grad == 0.0)


def test_separate_alpha_per_layer() -> None:  # (5.46)
    m = net(6)
    value = R.l2_penalty(m, {"0": 0.1, "3": 2.0})
    assert value == pytest.approx(0.05 * np.sum(m[0].W.data**2) + np.sum(m[3].W.data**2))
    np.testing.assert_allclose(m[3].W.grad, 2.0 * m[3].W.data)
    m.zero_grad()
    R.l1_penalty(m, {"3.W": 0.5})  # a full name is a prefix too; unmatched layers get 0
    assert np.all(m[0].W.grad == 0.0)
    np.testing.assert_array_equal(m[3].W.grad, 0.5 * np.sign(m[3].W.data))


def test_plain_parameter_lists_and_pairs() -> None:
    W, b = Parameter(np.array([[1.0, -2.0]])), Parameter(np.array([3.0]))
    assert R.l2_penalty([W, b], 2.0) == pytest.approx(5.0)  # ½·2·(1 + 4); b is 1-D
    assert R.l1_penalty([("W", W), ("b", b)], {"b": 1.0}, weights_only=False) == 3.0


def test_sgd_with_l2_is_the_shrink_form() -> None:  # (5.47)–(5.50)
    r = np.random.default_rng(7)
    X, Y = r.normal(size=(16, 3)), r.normal(size=(16, 2))
    model, loss = Linear(3, 2), MSELoss()
    w0 = model.W.data.copy()
    eps, alpha = 0.1, 0.05
    opt = SGD(model.parameters(), lr=eps)
    opt.zero_grad()
    loss(model(X), Y)
    model.backward(loss.backward())
    grad_J = model.W.grad.copy()
    R.l2_penalty(model, alpha)
    opt.step()
    np.testing.assert_allclose(model.W.data, (1 - eps * alpha) * w0 - eps * grad_J, rtol=1e-13)


def test_l2_penalty_equals_torch_weight_decay_on_the_weights() -> None:
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(8)
    X, Y = r.normal(size=(10, 3)), r.normal(size=(10, 2))
    model, loss = Linear(3, 2, dtype=np.float64), MSELoss()
    model.W.data[...] = r.normal(size=(3, 2))
    Wt = torch.tensor(model.W.data.copy(), requires_grad=True)
    bt = torch.tensor(model.b.data.copy(), requires_grad=True)
    topt = torch.optim.SGD([{"params": [Wt], "weight_decay": 0.1},
                            {"params": [bt], "weight_decay": 0.0}], lr=0.05, momentum=0.9)
    opt = R.PenalizedOptimizer(SGD(model.parameters(), lr=0.05, momentum=0.9),
                               R.Penalty(model, l2=0.1))
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(5):
        opt.zero_grad()
        loss(model(X), Y)
        model.backward(loss.backward())
        opt.step()
        topt.zero_grad()
        (0.5 * ((Xt @ Wt + bt - Yt) ** 2).sum() / len(X)).backward()
        topt.step()
    np.testing.assert_allclose(model.W.data, Wt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.b.data, bt.detach().numpy(), rtol=1e-12)


def test_penalty_object_and_wrapper() -> None:
    m = net(9)
    pen = R.Penalty(m, l2=0.2, l1=0.1)
    v = pen()
    W = m[0].W.data
    assert v == pytest.approx(
        sum(0.1 * np.sum(w**2) + 0.1 * np.abs(w).sum() for w in (W, m[3].W.data)))
    np.testing.assert_allclose(m[0].W.grad, 0.2 * W + 0.1 * np.sign(W))
    assert pen.last_value == v
    m.zero_grad()
    opt = R.PenalizedOptimizer(SGD(m.parameters(), lr=0.5), R.Penalty(m, l2=0.2))
    assert opt.lr == 0.5  # attributes of the wrapped optimiser
    w0 = m[0].W.data.copy()
    opt.step()  # no loss gradient: pure decay w ← (1 − εα) w
    np.testing.assert_allclose(m[0].W.data, (1 - 0.5 * 0.2) * w0)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: R.l2_penalty(net(), -1.0), ValueError, "lam: expected a value >= 0, got -1.0"),
        (lambda: R.l2_penalty(net(), "0.1"), TypeError, "lam: expected a real number"),
        (lambda: R.l1_penalty(3, 0.1), TypeError, "params: expected a Module"),
        (lambda: R.l1_penalty([1.0], 0.1), TypeError, "params: expected Parameters"),
        (lambda: R.l2_penalty(net(), {"5": 0.1}), ValueError, r"lam: keys \['5'\] match no"),
        (lambda: R.l2_penalty(net(), {"0": -0.1}), ValueError, r"lam\['0'\]: expected a value"),
        (lambda: R.l2_penalty(net().parameters(), {"0": 0.1}), ValueError,
         "lam: a per-layer dict of coefficients needs parameter names"),
        (lambda: R.l2_penalty(net(), 0.1, weights_only=1), TypeError, "weights_only"),
        (lambda: R.PenalizedOptimizer(object(), R.Penalty(net())), TypeError, "optimizer"),
        (lambda: R.bootstrap_indices(0, 3), ValueError, "n: expected an integer >= 1, got 0"),
        (lambda: R.bootstrap_indices(5, 0), ValueError, "k: expected an integer >= 1, got 0"),
        (lambda: R.unique_fraction(np.array([[0, 5]]), n=5), ValueError,
         r"indices: expected values in \[0, 5\)"),
        (lambda: R.average_predictions([np.zeros(3), np.zeros(4)]), ValueError, "predictions"),
        (lambda: R.average_predictions([np.zeros(3)] * 2, weights=[1.0, -1.0]), ValueError,
         "weights: expected 2 non-negative weights"),
        (lambda: R.bagging_predict([], np.zeros((2, 3))), ValueError, "members"),
        (lambda: R.bagging_predict([3], np.zeros((2, 3))), TypeError, r"members\[0\]"),
    ],
)
def test_bad_arguments_raise_naming_them(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---- bagging ---------------------------------------------------------------------------------


def test_bootstrap_indices_shape_range_and_seed() -> None:
    idx = R.bootstrap_indices(50, 4, rng=0)
    assert idx.shape == (4, 50) and idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() < 50
    np.testing.assert_array_equal(idx, R.bootstrap_indices(50, 4, rng=0))
    assert R.bootstrap_indices(50, 4, rng=0, size=7).shape == (4, 7)


@pytest.mark.parametrize("seed", range(5))
def test_unique_fraction_tends_to_one_minus_one_over_e(seed: int) -> None:
    n, k = 1000, 2000
    frac = R.unique_fraction(R.bootstrap_indices(n, k, rng=seed))
    assert frac.shape == (k,)
    exact = 1 - (1 - 1 / n) ** n  # 0.63230..., 1 − 1/e = 0.63212...
    # Var of the distinct count ≈ N(e^{-1} − 2e^{-2}) ≈ 0.0972 N: sd of the mean ≈ 2.2e-4.
    se = math.sqrt(0.0972 / n) / math.sqrt(k)
    assert abs(frac.mean() - exact) < 6 * se
    assert abs(exact - (1 - math.exp(-1))) < 2e-4
    assert abs(frac.mean() - 2 / 3) > 0.03  # the notes' "about 2/3" is not it


def test_unique_fraction_hand_computed() -> None:
    assert R.unique_fraction(np.array([0, 0, 2, 2])) == 0.5
    np.testing.assert_array_equal(R.unique_fraction(np.array([[0, 1, 2], [1, 1, 1]])),
                                  [1.0, 1 / 3])


@pytest.mark.parametrize(("k", "v", "c"), [(5, 1.0, 0.0), (5, 1.0, 0.5), (10, 2.0, 2.0)])
def test_ensemble_error_formula_5_54(k: int, v: float, c: float) -> None:
    # Errors ε ~ N(0, Σ) with Σ_ii = v, Σ_ij = c: E[(mean ε)²] = v/k + (k − 1)c/k.
    r = np.random.default_rng(k)
    cov = np.full((k, k), c) + (v - c) * np.eye(k)
    eps = r.multivariate_normal(np.zeros(k), cov, size=200_000)
    mse = np.mean(R.average_predictions(eps.T) ** 2)
    expected = v / k + (k - 1) * c / k
    # (mean ε)² is expected·χ²₁: sd of the mean of 200,000 draws is expected·√2/√200000.
    assert abs(mse - expected) < 6 * expected * math.sqrt(2 / 200_000)


def test_average_predictions_plain_and_weighted() -> None:
    a, b = np.array([[0.2, 0.8]]), np.array([[0.6, 0.4]])
    np.testing.assert_allclose(R.average_predictions([a, b]), [[0.4, 0.6]])
    np.testing.assert_allclose(R.average_predictions(np.stack([a, b]), weights=[3, 1]),
                               [[0.3, 0.7]])


def test_bagging_predict_with_modules_and_callables() -> None:
    r = np.random.default_rng(10)
    X = r.normal(size=(7, 3))
    m1, m2 = Linear(3, 2), Linear(3, 2)
    out = R.bagging_predict([m1, m2, lambda x: np.zeros((len(x), 2))], X)
    np.testing.assert_allclose(out, (X @ m1.W.data + m1.b.data + X @ m2.W.data + m2.b.data) / 3,
                               rtol=1e-6)
    probs = R.bagging_predict([m1, m2], X, transform=softmax)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_training_with_the_penalty_reaches_lasso_and_ridge_closed_forms(kind: str) -> None:
    # Orthonormal centred design (XᵀX/N = I): the minimiser of (1/N)Σ½(x·w + b − y)² + α Ω(w)
    # is soft-thresholding z ↦ sign(z)·max(|z| − α, 0) for L1 (LASSO zeroes the irrelevant
    # weights) and z/(1 + α) for L2, with z = Xᵀy/N; b = mean(y) is not penalised.
    from dlcourse.data import DataLoader
    from dlcourse.train import fit

    r = np.random.default_rng(11)
    n, d, alpha = 200, 8, 0.1
    A = r.normal(size=(n, d))
    Q, _ = np.linalg.qr(A - A.mean(axis=0))
    X = math.sqrt(n) * Q
    y = X @ np.array([3.0, -2.0, 0, 0, 0, 0, 0, 0]) + 1.5 + 0.1 * r.normal(size=n)
    z = X.T @ (y - y.mean()) / n
    want = (np.sign(z) * np.maximum(np.abs(z) - alpha, 0.0) if kind == "l1"
            else z / (1 + alpha))
    model = Linear(d, 1, rng=0)
    opt = R.PenalizedOptimizer(SGD(model.parameters(), lr=0.05),
                               R.Penalty(model, **{kind: alpha}))
    fit(model, MSELoss(), opt, DataLoader(X, y[:, None], batch_size=n), epochs=300,
        metrics=(), quiet=True, progress=False)
    np.testing.assert_allclose(model.W.data[:, 0], want, atol=0.05 * alpha)  # ± lr·α jitter
    assert model.b.data[0] == pytest.approx(y.mean(), abs=1e-6)
    if kind == "l1":
        assert np.all(np.abs(model.W.data[2:, 0]) <= 0.05 * alpha)
