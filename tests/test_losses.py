"""Tests for dlcourse/losses.py.

References: PyTorch losses and autograd (float64), closed forms, and centred finite
differences computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse import losses as L

N, C, D = 8, 5, 3
T = 4  # time steps of the sequence cases
PAD = -100  # PyTorch's default ignore_index


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def pm1(seed: int, n: int = N) -> np.ndarray:
    return rng(seed).choice([-1.0, 1.0], size=n)


def finite_difference_grad(loss_fn, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Five-point centred stencil, error O(h⁴): with h = 1e-3 the rounding noise of the
    batch sum (~1e-16·|loss|/h) stays far below the smallest gradient entries (~1e-5),
    which the plain O(h²) difference with h = 1e-6 cannot guarantee."""
    x = x.astype(np.float64).copy()
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        vals = []
        for k in (-2, -1, 1, 2):
            x[i] = old + k * h
            vals.append(loss_fn(x))
        x[i] = old
        grad[i] = (vals[0] - 8.0 * vals[1] + 8.0 * vals[2] - vals[3]) / (12.0 * h)
    return grad


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """CS231n's element-wise relative error with the project's floor (see
    ``dlcourse.gradcheck.relative_error``): entries over 1000 times smaller than the largest
    are judged on the gradient's scale, where the stencil's O(h⁴) truncation (~1e-12) would
    otherwise dominate, e.g. a probability of 1e-6 in a (N, T, V) softmax."""
    denom = np.abs(a) + np.abs(b)
    floor = max(1e-8, 1e-3 * float(np.max(denom)))
    return float(np.max(np.abs(a - b) / np.maximum(floor, denom)))


def torch_value_and_grad(torch, fn, x: np.ndarray):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    (g,) = torch.autograd.grad(out, xt)
    return out.item(), g.numpy()


def padded_labels(seed: int, shape: tuple[int, ...], num_classes: int, pad: int = PAD
                  ) -> np.ndarray:
    """Random labels with about a third of the positions set to ``pad`` (never all)."""
    y = rng(seed).integers(0, num_classes, shape)
    y[rng(seed + 1).random(shape) < 1 / 3] = pad
    y.flat[0] = 1  # at least one position counts
    return y


def ce_ignore_zero(z, y):
    return L.softmax_cross_entropy(z, y, ignore_index=0)


# name -> (functional loss, first argument, targets); first argument in float64
def cases() -> dict[str, tuple]:
    probs = rng(3).uniform(0.05, 0.95, size=(N, D))
    probs_4d = rng(20).uniform(0.05, 0.95, size=(N, 2, 3, 2))
    return {
        "squared_1d": (L.squared_loss, rng(0).standard_normal(N), rng(1).standard_normal(N)),
        "squared_2d": (L.squared_loss, rng(0).standard_normal((N, D)),
                       rng(1).standard_normal((N, D))),
        "hinge": (L.hinge_loss, rng(2).standard_normal(N) * 2.0, pm1(2)),
        "logistic": (L.logistic_loss, rng(4).standard_normal(N) * 3.0, pm1(4)),
        "bce_1d": (L.binary_cross_entropy, probs[:, 0], rng(5).integers(0, 2, N).astype(float)),
        "bce_2d": (L.binary_cross_entropy, probs, rng(5).integers(0, 2, (N, D)).astype(float)),
        "bce_logits": (L.binary_cross_entropy_with_logits, rng(6).standard_normal((N, D)) * 4.0,
                       rng(7).integers(0, 2, (N, D)).astype(float)),
        "cross_entropy": (L.softmax_cross_entropy, rng(8).standard_normal((N, C)) * 3.0,
                          rng(9).integers(0, C, N)),
        # any rank: images (N, C, H, W), sequences (N, T, D) / (N, T, V) with padding
        "squared_4d": (L.squared_loss, rng(21).standard_normal((N, 2, 3, 2)),
                       rng(22).standard_normal((N, 2, 3, 2))),
        "bce_4d": (L.binary_cross_entropy, probs_4d,
                   rng(23).integers(0, 2, probs_4d.shape).astype(float)),
        "bce_logits_3d": (L.binary_cross_entropy_with_logits,
                          rng(24).standard_normal((N, T, D)) * 3.0,
                          rng(25).integers(0, 2, (N, T, D)).astype(float)),
        "cross_entropy_seq": (L.softmax_cross_entropy, rng(26).standard_normal((N, T, C)) * 3.0,
                              padded_labels(27, (N, T), C)),
        "cross_entropy_4d": (L.softmax_cross_entropy,
                             rng(28).standard_normal((2, 3, 2, C)) * 3.0,
                             padded_labels(29, (2, 3, 2), C)),
        "cross_entropy_ignore_0": (ce_ignore_zero, rng(30).standard_normal((N, T, C)) * 3.0,
                                   rng(31).integers(0, C, (N, T))),
    }


def torch_refs(torch) -> dict:
    tf = torch.nn.functional

    def t(a):
        return torch.tensor(a)

    return {
        "squared_1d": lambda p, y: 0.5 * tf.mse_loss(p, t(y)),  # D = 1: ½ mean
        "squared_2d": lambda p, y: 0.5 * D * tf.mse_loss(p, t(y)),  # ½ Σ_D, mean over N
        "hinge": lambda s, y: torch.clamp(1.0 - t(y) * s, min=0.0).mean(),
        "logistic": lambda s, y: tf.softplus(-t(y) * s).mean(),
        "bce_1d": lambda p, y: tf.binary_cross_entropy(p, t(y)),
        "bce_2d": lambda p, y: tf.binary_cross_entropy(p, t(y), reduction="sum") / N,
        "bce_logits": lambda z, y: tf.binary_cross_entropy_with_logits(
            z, t(y), reduction="sum") / N,
        "cross_entropy": lambda z, y: tf.cross_entropy(z, t(y)),
        "squared_4d": lambda p, y: 0.5 * 12 * tf.mse_loss(p, t(y)),  # D = 2·3·2 = 12
        "bce_4d": lambda p, y: tf.binary_cross_entropy(p, t(y), reduction="sum") / N,
        "bce_logits_3d": lambda z, y: tf.binary_cross_entropy_with_logits(
            z, t(y), reduction="sum") / N,
        # PyTorch's class axis is 1: move ours (the last) there
        "cross_entropy_seq": lambda z, y: tf.cross_entropy(z.permute(0, 2, 1), t(y)),
        "cross_entropy_4d": lambda z, y: tf.cross_entropy(z.permute(0, 3, 1, 2), t(y)),
        "cross_entropy_ignore_0": lambda z, y: tf.cross_entropy(
            z.permute(0, 2, 1), t(y), ignore_index=0),
    }


CASES = list(cases())


@pytest.mark.parametrize("name", CASES)
def test_loss_and_grad_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, x, y = cases()[name]
    loss, grad = fn(x, y)
    ref_loss, ref_grad = torch_value_and_grad(torch, lambda xt: torch_refs(torch)[name](xt, y), x)
    assert isinstance(loss, float)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", CASES)
def test_grad_matches_finite_differences(name):
    fn, x, y = cases()[name]
    _, grad = fn(x, y)
    numeric = finite_difference_grad(lambda z: fn(z, y)[0], x)
    assert rel_err(grad, numeric) < 1e-6


def test_hinge_with_weight_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    s, y, W, lam = rng(10).standard_normal(N), pm1(10), rng(11).standard_normal((D, 1)), 0.3
    loss, dscores, dW = L.hinge_loss(s, y, W, lam)
    st, Wt = torch.tensor(s, requires_grad=True), torch.tensor(W, requires_grad=True)
    ref = torch.clamp(1.0 - torch.tensor(y) * st, min=0.0).mean() + 0.5 * lam * (Wt**2).sum()
    gs, gW = torch.autograd.grad(ref, (st, Wt))
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dscores, gs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dW, gW.numpy(), rtol=1e-12)


def test_hand_computed_examples():
    # squared: ½((1-0)² + (2-4)²) / 2 = 1.25
    loss, grad = L.squared_loss(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    assert loss == 1.25
    np.testing.assert_array_equal(grad, [0.5, -1.0])
    # hinge: margins 1 - y s = [0.5, -1, 3] -> mean(0.5, 0, 3) = 7/6
    loss, grad = L.hinge_loss(np.array([0.5, 2.0, 2.0]), np.array([1, 1, -1]))
    assert loss == pytest.approx(7 / 6, rel=1e-15)
    np.testing.assert_allclose(grad, [-1 / 3, 0.0, 1 / 3])
    # logistic at s = 0: log 2, gradient -y/2/N
    loss, grad = L.logistic_loss(np.zeros(2), np.array([1, -1]))
    assert loss == pytest.approx(math.log(2.0), rel=1e-15)
    np.testing.assert_allclose(grad, [-0.25, 0.25])
    # cross-entropy with equal logits: log C, gradient (1/C - onehot)/N
    loss, grad = L.softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 3]))
    assert loss == pytest.approx(math.log(4.0), rel=1e-15)
    np.testing.assert_allclose(grad, (0.25 - np.eye(4)[[1, 3]]) / 2, atol=1e-16)
    # BCE: -(log 0.8 + log(1 - 0.4)) / 2
    loss, _ = L.binary_cross_entropy(np.array([0.8, 0.4]), np.array([1, 0]))
    assert loss == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2, rel=1e-15)


def test_cross_entropy_grad_is_p_minus_onehot_over_n():
    z, y = rng(12).standard_normal((N, C)), rng(13).integers(0, C, N)
    _, grad = L.softmax_cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (p - np.eye(C)[y]) / N, rtol=1e-12, atol=1e-16)


def test_extreme_inputs_are_stable_without_warnings():
    big = np.array([-1000.0, 1000.0, -1000.0, 1000.0])
    loss, grad = L.logistic_loss(big, np.array([1, 1, -1, -1]))
    assert loss == pytest.approx(2000.0 / 4) and np.all(np.isfinite(grad))
    loss, grad = L.binary_cross_entropy_with_logits(big, np.array([1, 1, 0, 0]))
    assert loss == pytest.approx(2000.0 / 4) and np.all(np.isfinite(grad))
    loss, grad = L.softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]),
                                         np.array([1, 1]))
    assert loss == pytest.approx(500.0) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [[0.5, -0.5], [0.0, 0.0]])


def test_bce_clips_probabilities_at_0_and_1():
    loss, grad = L.binary_cross_entropy(np.array([0.0, 1.0, 1.0, 0.0]), np.array([1, 0, 1, 0]))
    expected = -2.0 * math.log(L.BCE_EPS) / 4  # two saturated mistakes, two exact hits
    assert loss == pytest.approx(expected, rel=1e-6)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("name", CASES)
def test_float32_grad_and_untouched_inputs(name):
    fn, x, y = cases()[name]
    x32 = x.astype(np.float32)
    x32.setflags(write=False)
    y_ro = np.array(y)
    y_ro.setflags(write=False)
    before_x, before_y = x32.copy(), y_ro.copy()
    loss, grad = fn(x32, y_ro)
    assert isinstance(loss, float) and grad.dtype == np.float32
    np.testing.assert_array_equal(x32, before_x)
    np.testing.assert_array_equal(y_ro, before_y)
    np.testing.assert_allclose(grad, fn(x, y)[1], rtol=1e-4, atol=1e-6)


CLASSES = {
    "squared_2d": L.MSELoss,
    "hinge": L.HingeLoss,
    "logistic": L.LogisticLoss,
    "bce_2d": L.BCELoss,
    "bce_logits": L.BCEWithLogitsLoss,
    "cross_entropy": L.CrossEntropyLoss,
    "cross_entropy_seq": L.CrossEntropyLoss,
    "bce_logits_3d": L.BCEWithLogitsLoss,
    "squared_4d": L.MSELoss,
}


@pytest.mark.parametrize("name", CLASSES)
def test_classes_match_functional_forms(name):
    fn, x, y = cases()[name]
    crit = CLASSES[name]()
    with pytest.raises(RuntimeError, match="before the forward pass"):
        crit.backward()
    loss = crit(x, y)
    ref_loss, ref_grad = fn(x, y)
    assert isinstance(loss, float) and loss == ref_loss
    np.testing.assert_array_equal(crit.backward(), ref_grad)
    np.testing.assert_array_equal(crit.pred, x)
    np.testing.assert_array_equal(crit.y, y)
    with pytest.raises(ValueError):  # a failed call must not leave the old gradient behind
        crit(x[:-1], y)
    with pytest.raises(RuntimeError):
        crit.backward()


def test_class_extra_attributes():
    z, y = rng(14).standard_normal((N, C)), rng(15).integers(0, C, N)
    ce = L.CrossEntropyLoss()
    ce(z, y)
    np.testing.assert_allclose(ce.probs.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(ce.backward(), (ce.probs - np.eye(C)[y]) / N, atol=1e-16)
    bce = L.BCEWithLogitsLoss()
    bce(z, (z > 0).astype(float))
    np.testing.assert_allclose(bce.probs, 1.0 / (1.0 + np.exp(-z)), rtol=1e-14)
    s, yy, W = rng(16).standard_normal(N), pm1(16), rng(17).standard_normal(4)
    hinge = L.HingeLoss(lam=0.5)
    loss = hinge(s, yy, W=W)
    ref = L.hinge_loss(s, yy, W, 0.5)
    assert loss == ref[0]
    np.testing.assert_array_equal(hinge.backward(), ref[1])
    np.testing.assert_array_equal(hinge.dW, 0.5 * W)
    with pytest.raises(ValueError, match="lam"):
        hinge(s, yy)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: L.softmax_cross_entropy(np.zeros(5), np.zeros(5, int)), ValueError,
         r"logits: expected an array \(N, C\) or \(N, \.\.\., C\) with at least 2 "
         r"dimensions, got shape \(5,\)"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros(2, int)), ValueError,
         r"y: expected shape \(2, 3\) \(the logits' shape without the class axis C\), "
         r"got \(2,\)"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3, 4)), np.array([[0, 1, 2]] * 2).T),
         ValueError, r"y: expected shape \(2, 3\)"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3, 4)), np.array([[0, PAD, 4]] * 2)),
         ValueError, r"y: expected labels in \[0, 4\) or ignore_index=-100, got maximum 4"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, PAD])), ValueError,
         r"y: expected labels in \[0, 3\) or ignore_index=-100, got minimum -1"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([PAD, PAD])), ValueError,
         r"y: every target equals ignore_index=-100, so there is no position"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=1.0),
         TypeError, r"ignore_index: expected an integer"),
        (lambda: L.CrossEntropyLoss(ignore_index="pad"), TypeError, "ignore_index"),
        (lambda: L.softmax_cross_entropy(np.zeros((4, 3)), np.zeros(3, int)), ValueError,
         r"y: expected shape \(4,\)"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError,
         r"y: expected labels in \[0, 3\)"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.5, 1])), TypeError, "y"),
        (lambda: L.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)), ValueError,
         r"logits: expected at least one sample"),
        (lambda: L.hinge_loss(np.zeros(3), np.array([0, 1, 2])), ValueError,
         r"y: expected values in \{-1, 1\}, got 0, 2"),
        (lambda: L.hinge_loss(np.zeros(3), np.ones(3), lam=0.1), ValueError, "lam"),
        (lambda: L.hinge_loss(np.zeros(3), np.ones(3), np.ones(2), lam=-1.0), ValueError, "lam"),
        (lambda: L.hinge_loss(np.zeros((3, 2)), np.ones(3)), ValueError, "scores"),
        (lambda: L.logistic_loss(np.zeros(2), np.array([0, 1])), ValueError,
         r"y: expected values in \{-1, 1\}, got 0"),
        (lambda: L.binary_cross_entropy(np.full(2, 0.5), np.array([0.5, 1])), ValueError,
         r"y: expected values in \{0, 1\}, got 0.5"),
        (lambda: L.binary_cross_entropy(np.array([1.5, 0.5]), np.array([0, 1])), ValueError,
         r"probs: expected values in \[0, 1\]"),
        (lambda: L.binary_cross_entropy_with_logits(np.zeros(2), np.array([-1, 1])), ValueError,
         r"y: expected values in \{0, 1\}, got -1"),
        (lambda: L.squared_loss(np.zeros((3, 1)), np.zeros(3)), ValueError,
         r"y: expected the same shape as pred"),
        (lambda: L.squared_loss(np.float64(1.0), np.float64(1.0)), ValueError,
         r"pred: expected an array \(N, \.\.\.\) with at least 1 dimension, got shape \(\)"),
        (lambda: L.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3, 1))),
         ValueError, r"y: expected the same shape as logits \(2, 3\), got \(2, 3, 1\)"),
        (lambda: L.hinge_loss(np.zeros((3, 1, 1)), np.ones(3)), ValueError,
         r"scores: expected shape \(N,\) or \(N, 1\)"),
        (lambda: L.squared_loss(np.array([np.nan]), np.zeros(1)), ValueError, "pred"),
        (lambda: L.squared_loss("a", np.zeros(1)), TypeError, "pred"),
        (lambda: L.HingeLoss(lam=-0.1), ValueError, "lam"),
    ],
)
def test_bad_inputs_raise_with_argument_name(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("fn", [L.hinge_loss, L.logistic_loss])
def test_margin_losses_accept_a_linear_layers_column_output(fn) -> None:
    """Scores from Linear(D, 1) have shape (N, 1): same loss, gradient in the same layout."""
    rng = np.random.default_rng(3)
    s = rng.normal(size=5)
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
    loss_flat, g_flat = fn(s, y)
    loss_col, g_col = fn(s[:, None], y)
    assert loss_col == loss_flat
    assert g_col.shape == (5, 1)
    np.testing.assert_array_equal(g_col[:, 0], g_flat)
    with pytest.raises(ValueError, match=r"scores: expected shape \(N,\) or \(N, 1\)"):
        fn(np.zeros((5, 2)), y)


# ---- any rank and padding -----------------------------------------------------------------------


def test_cross_entropy_sequence_equals_the_flattened_batch() -> None:
    """(N, T, V) logits with (N, T) targets = the (N·T, V) loss over the kept positions."""
    z, y = rng(40).standard_normal((N, T, C)), padded_labels(41, (N, T), C)
    loss, grad = L.softmax_cross_entropy(z, y)
    keep = y.reshape(-1) != PAD
    flat_loss, flat_grad = L.softmax_cross_entropy(z.reshape(-1, C)[keep], y.reshape(-1)[keep])
    assert loss == pytest.approx(flat_loss, rel=1e-14)
    np.testing.assert_allclose(grad.reshape(-1, C)[keep], flat_grad, rtol=1e-13, atol=1e-17)


def test_ignored_positions_have_zero_gradient_and_no_influence() -> None:
    z, y = rng(42).standard_normal((N, T, C)), padded_labels(43, (N, T), C)
    pad = y == PAD
    assert pad.any() and not pad.all()
    loss, grad = L.softmax_cross_entropy(z, y)
    assert np.all(grad[pad] == 0.0)
    z2 = z.copy()
    z2[pad] = 1e3 * rng(44).standard_normal((int(pad.sum()), C))  # change only the padding
    assert L.softmax_cross_entropy(z2, y)[0] == loss


def test_cross_entropy_with_padding_hand_computed() -> None:
    # equal logits: log C per kept position; mean over the M = 2 kept positions, not N·T = 3
    z = np.zeros((1, 3, 4))
    loss, grad = L.softmax_cross_entropy(z, np.array([[1, PAD, 3]]))
    assert loss == pytest.approx(math.log(4.0), rel=1e-15)
    expected = np.zeros((1, 3, 4))
    expected[0, 0] = (0.25 - np.eye(4)[1]) / 2
    expected[0, 2] = (0.25 - np.eye(4)[3]) / 2
    np.testing.assert_allclose(grad, expected, atol=1e-16)
    # one kept logit row of [0, log 3]: p = (1/4, 3/4), loss -log(3/4) over M = 1
    loss, _ = L.softmax_cross_entropy(np.array([[0.0, math.log(3.0)], [5.0, 5.0]]),
                                      np.array([1, 7]), ignore_index=7)
    assert loss == pytest.approx(-math.log(0.75), rel=1e-14)


def test_cross_entropy_loss_class_with_ignore_index() -> None:
    z, y = rng(45).standard_normal((N, T, C)), rng(46).integers(0, C, (N, T))
    crit = L.CrossEntropyLoss(ignore_index=2)
    loss = crit(z, y)
    ref_loss, ref_grad = L.softmax_cross_entropy(z, y, ignore_index=2)
    assert loss == ref_loss
    np.testing.assert_array_equal(crit.backward(), ref_grad)
    assert crit.probs.shape == (N, T, C)
    np.testing.assert_allclose(crit.probs.sum(axis=-1), 1.0, rtol=1e-14)
    assert np.all(crit.backward()[y == 2] == 0.0)
    assert L.CrossEntropyLoss()(z, y) != loss  # the default ignores nothing here


def test_element_wise_losses_sum_over_non_batch_axes() -> None:
    """(N, C, H, W) equals the same data flattened to (N, C·H·W)."""
    x, t = rng(47).standard_normal((N, 2, 3, 2)), rng(48).integers(0, 2, (N, 2, 3, 2))
    for fn, arg in ((L.squared_loss, x), (L.binary_cross_entropy_with_logits, x),
                    (L.binary_cross_entropy, 1.0 / (1.0 + np.exp(-x)))):
        loss, grad = fn(arg, t)
        flat_loss, flat_grad = fn(arg.reshape(N, -1), t.reshape(N, -1))
        assert loss == pytest.approx(flat_loss, rel=1e-14)
        np.testing.assert_array_equal(grad, flat_grad.reshape(grad.shape))


# ---- label smoothing (chapter 3) -----------------------------------------------------------------


def _torch_smoothed_ce(torch, z, y, eps, ignore_index=PAD):
    """PyTorch's cross-entropy with label smoothing; logits (N, ..., C) -> classes on axis 1."""
    tf = torch.nn.functional
    zt = z.movedim(-1, 1) if z.ndim > 2 else z
    return tf.cross_entropy(zt, torch.tensor(y), ignore_index=ignore_index, label_smoothing=eps)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.37, 1.0])
@pytest.mark.parametrize("case", ["flat", "sequence", "padded"])
def test_label_smoothing_matches_torch(eps: float, case: str) -> None:
    torch = pytest.importorskip("torch")
    r = rng(40)
    if case == "flat":
        z, y = r.normal(size=(N, C)) * 2, r.integers(0, C, size=N)
    else:
        z, y = r.normal(size=(N, T, C)) * 2, r.integers(0, C, size=(N, T))
        if case == "padded":
            y[r.random((N, T)) < 0.3] = PAD
            y[0, 0] = PAD
    loss, grad = L.softmax_cross_entropy(z, y, label_smoothing=eps)
    ref_loss, ref_grad = torch_value_and_grad(
        torch, lambda zt: _torch_smoothed_ce(torch, zt, y, eps), z)
    assert loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("eps", [0.05, 0.5])
def test_label_smoothing_grad_matches_finite_differences(eps: float) -> None:
    r = rng(41)
    z, y = r.normal(size=(4, 3, C)), r.integers(0, C, size=(4, 3))
    y[1, 2] = PAD
    _, grad = L.softmax_cross_entropy(z, y, label_smoothing=eps)
    num = finite_difference_grad(lambda v: L.softmax_cross_entropy(v, y, label_smoothing=eps)[0], z)
    assert rel_err(grad, num) < 1e-8
    assert np.all(grad[1, 2] == 0.0)


def test_label_smoothing_hand_computed() -> None:
    # Equal logits: p = 1/C for every class, so −Σ q log p = log C for any target q.
    z, y = np.zeros((3, 4)), np.array([0, 1, 3])
    for eps in (0.0, 0.2, 1.0):
        loss, grad = L.softmax_cross_entropy(z, y, label_smoothing=eps)
        assert loss == pytest.approx(math.log(4.0))
        # grad = (p − q)/N with q = (1 − ε) onehot + ε/4: target entry (0.25 − 1 + 0.75ε)/3
        assert grad[0, 0] == pytest.approx((0.25 - (1 - eps) - eps / 4) / 3)
        assert grad[0, 1] == pytest.approx((0.25 - eps / 4) / 3)
    # Two classes, logits (0, log 3): p = (1/4, 3/4); y = 1, ε = 0.2: q = (0.1, 0.9).
    loss, _ = L.softmax_cross_entropy(np.array([[0.0, math.log(3.0)]]), [1], label_smoothing=0.2)
    assert loss == pytest.approx(-(0.1 * math.log(0.25) + 0.9 * math.log(0.75)))


def test_label_smoothing_keeps_float32_and_class_matches_functional() -> None:
    r = rng(42)
    z, y = r.normal(size=(N, C)).astype(np.float32), r.integers(0, C, size=N)
    crit = L.CrossEntropyLoss(label_smoothing=0.1)
    loss = crit(z, y)
    f_loss, f_grad = L.softmax_cross_entropy(z, y, label_smoothing=0.1)
    assert loss == f_loss
    assert crit.backward().dtype == np.float32
    np.testing.assert_array_equal(crit.backward(), f_grad)
    assert crit.label_smoothing == 0.1


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=1.5),
         ValueError, r"label_smoothing: expected a value in \[0, 1\], got 1.5"),
        (lambda: L.softmax_cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=-0.1),
         ValueError, "label_smoothing"),
        (lambda: L.CrossEntropyLoss(label_smoothing="0.1"), TypeError,
         "label_smoothing: expected a real number"),
    ],
)
def test_label_smoothing_bad_values_raise(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()
