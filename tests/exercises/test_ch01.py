"""Graded tests of chapter 1's exercises (``solutions/ch01.py`` / ``exercises/ch01.py``).

Oracles: ``dlcourse.metrics``, closed forms written here and hand-worked examples. The SGD
tests never replay a particular shuffle: a spy ``grad_fn`` records which sample each update
used and at which parameters, and the test checks algorithm 2.1's structure (every sample
once per epoch, in a seeded random order that changes from epoch to epoch, each update
applied before the next gradient). The metric exercises forbid the student's module the
matching functions of ``dlcourse.metrics`` (``forbid=``, see :mod:`dlcourse.grading.forbid`).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from dlcourse import metrics
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_equal, expect_array

exercise = pytest.mark.exercise

ACCURACY = dict(forbid=["dlcourse.metrics.accuracy", "dlcourse.metrics.error_rate"])
CONFUSION = dict(forbid=["dlcourse.metrics.confusion_matrix"])
PRF1 = dict(depends=["ch01.confusion"], forbid=[
    "dlcourse.metrics.precision", "dlcourse.metrics.recall", "dlcourse.metrics.f1_score"
])
MACRO_F1 = dict(depends=["ch01.prf1", "ch01.confusion"], forbid=["dlcourse.metrics.f1_score"])


@pytest.fixture
def ch01() -> ModuleType:
    return load_impl("ch01")


# --------------------------------------------------------------------------- helpers
class GradSpy:
    """``grad_fn`` for the squared loss ½(θ·x − y)² that records every call.

    Each call stores ``(n, theta, grad)``: the index of the sample (found by matching the row
    of X), a copy of the parameters it was given and the gradient it returned.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X.copy(), y.copy()
        self.calls: list[tuple[int, np.ndarray, np.ndarray]] = []

    def __call__(self, theta, x_n, y_n):
        theta = np.array(theta, dtype=np.float64, copy=True)
        x = np.asarray(x_n, dtype=np.float64).ravel()
        rows = np.flatnonzero((self.X == x).all(axis=1)) if x.shape == self.X[0].shape else []
        assert len(rows) == 1, (
            f"grad_fn must be called as grad_fn(theta, X[n], y[n]); got x_n of shape "
            f"{np.shape(x_n)} that is no row of X"
        )
        n = int(rows[0])
        assert float(np.asarray(y_n)) == self.y[n], f"grad_fn got y_n={y_n!r} with X[{n}]"
        grad = (theta @ x - self.y[n]) * x
        self.calls.append((n, theta, grad))
        return grad.copy()

    def order(self) -> list[int]:
        return [n for n, _, _ in self.calls]


def regression(seed: int, N: int = 10, D: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + 0.1 * rng.normal(size=N)
    return X, y


def check_sequential_updates(
    spy: GradSpy, theta0: np.ndarray, theta_end: object, lr: float
) -> None:
    """Each call sees the parameters left by the previous update; the result is the last one."""
    expected = theta0
    for k, (n, theta, grad) in enumerate(spy.calls):
        assert_close(
            theta, expected,
            f"update {k} (sample {n}): grad_fn was not called at θ updated by the previous "
            "sample (algorithm 2.1 updates θ after every sample)", rtol=1e-10, atol=1e-12,
        )
        expected = theta - lr * grad
    assert_close(theta_end, expected, "θ returned (θ − α·gradient after the last sample)",
                 rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- ch01.sgd_epoch
@exercise("ch01.sgd_epoch", points=2)
def test_sgd_epoch_visits_every_sample_once_with_sequential_updates(ch01: ModuleType) -> None:
    X, y = regression(0)
    theta0 = np.array([0.3, -0.2, 0.1])
    t0 = theta0.copy()
    snap = Snapshot(theta=theta0, X=X, y=y)
    spy = GradSpy(X, y)
    out = ch01.sgd_epoch(theta0, X, y, spy, 0.05, np.random.default_rng(1))
    snap.assert_unchanged("sgd_epoch")
    assert len(spy.calls) == X.shape[0], (
        f"sgd_epoch: one epoch must call grad_fn once per sample: expected {X.shape[0]} calls, "
        f"got {len(spy.calls)}"
    )
    assert sorted(spy.order()) == list(range(X.shape[0])), (
        f"sgd_epoch: every sample must be used exactly once per epoch, got order {spy.order()}"
    )
    out = expect_array(out, "sgd_epoch: θ returned", theta0.shape)
    check_sequential_updates(spy, t0, out, 0.05)


@exercise("ch01.sgd_epoch", points=1)
def test_sgd_epoch_shuffles_with_the_given_generator(ch01: ModuleType) -> None:
    X, y = regression(1, N=12)
    theta0 = np.zeros(3)
    orders = []
    for seed in range(4):
        runs = []
        for _ in range(2):  # the same seed twice: the same order and result
            spy = GradSpy(X, y)
            out = ch01.sgd_epoch(theta0, X, y, spy, 0.01, np.random.default_rng(seed))
            runs.append((spy.order(), expect_array(out, "sgd_epoch: θ returned", (3,))))
        assert runs[0][0] == runs[1][0], (
            "sgd_epoch: two calls with np.random.default_rng(same seed) visited the samples in "
            "different orders: shuffle with the `rng` argument, not numpy's global random state"
        )
        assert_close(runs[0][1], runs[1][1], "sgd_epoch: θ from two runs with the same seed")
        orders.append(tuple(runs[0][0]))
    assert any(o != tuple(range(12)) for o in orders), (
        "sgd_epoch: the samples were visited in their stored order: line 3 of algorithm 2.1 "
        "shuffles the training set every epoch"
    )
    assert len(set(orders)) > 1, (
        "sgd_epoch: different seeds gave the same order: use `rng` to shuffle"
    )


# --------------------------------------------------------------------------- ch01.stop_rule
def reference_should_stop(errors: list[float], patience: int) -> bool:
    """Closed form: stop iff the last `patience` epochs had no strict improvement."""
    best, since = np.inf, 0
    for e in errors:
        if e < best:
            best, since = e, 0
        else:
            since += 1
    return since >= patience


STOP_CASES = [
    ([], 1, False),
    ([0.3], 1, False),
    ([0.5, 0.4, 0.3], 1, False),
    ([0.5, 0.4, 0.3, 0.35], 1, True),
    ([0.3, 0.3], 1, True),  # equal is not "falling"
    ([0.5, 0.4, 0.45], 2, False),
    ([0.5, 0.4, 0.45, 0.3], 2, False),
    ([0.5, 0.4, 0.45, 0.41], 2, True),
    ([0.5, 0.6, 0.7], 2, True),
    ([0.5, 0.2, 0.6, 0.3], 1, True),  # 0.3 beats 0.6 but not the best value 0.2
]


@exercise("ch01.stop_rule", points=1)
def test_should_stop_hand_examples(ch01: ModuleType) -> None:
    for errors, patience, want in STOP_CASES:
        got = ch01.should_stop(list(errors), patience=patience)
        assert isinstance(got, (bool, np.bool_)), (
            f"should_stop: expected a bool, got {type(got).__name__}"
        )
        assert_equal(got, want, f"should_stop({errors}, patience={patience})",
                     hint="stop once the last `patience` errors are all >= the best before them")


@exercise("ch01.stop_rule", points=1)
def test_should_stop_matches_the_rule_on_random_histories(ch01: ModuleType) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(0, 9))
        errors = list(rng.integers(0, 5, size=n) / 10)  # many ties on purpose
        patience = int(rng.integers(1, 4))
        want = reference_should_stop(errors, patience)
        assert_equal(bool(ch01.should_stop(list(errors), patience)), want,
                     f"should_stop({[float(e) for e in errors]}, patience={patience})")


# --------------------------------------------------------------------------- ch01.sgd
class ValSpy:
    """``val_error_fn`` returning a scripted sequence and recording the θ it was given."""

    def __init__(self, script: list[float]) -> None:
        self.script = script
        self.thetas: list[np.ndarray] = []

    def __call__(self, theta):
        self.thetas.append(np.array(theta, dtype=np.float64, copy=True))
        return self.script[len(self.thetas) - 1]


@exercise("ch01.sgd", points=2, depends=["ch01.sgd_epoch", "ch01.stop_rule"])
def test_sgd_stops_when_the_validation_error_no_longer_falls(ch01: ModuleType) -> None:
    X, y = regression(2, N=8)
    theta0 = np.array([0.1, 0.2, -0.3])
    t0 = theta0.copy()
    snap = Snapshot(theta=theta0, X=X, y=y)
    script = [0.50, 0.40, 0.30, 0.35, 0.10, 0.05]  # no longer falls after epoch 3 (index 3)
    spy, val = GradSpy(X, y), ValSpy(script)
    best, errors = ch01.sgd(theta0, X, y, spy, 0.02, val, max_epochs=10, patience=1, rng=3)
    snap.assert_unchanged("sgd")
    assert_equal(list(map(float, errors)), script[:4], "sgd: validation errors returned",
                 hint="stop after the first epoch whose error does not fall")
    assert_equal(len(spy.calls), 4 * X.shape[0], "sgd: calls of grad_fn in 4 epochs of 8 samples")
    epochs = [[n for n, _, _ in spy.calls[e * 8 : (e + 1) * 8]] for e in range(4)]
    for e, epoch in enumerate(epochs):
        assert sorted(epoch) == list(range(8)), (
            f"sgd: epoch {e} must visit each of the 8 samples once, got the order {epoch}"
        )
    assert any(epoch != epochs[0] for epoch in epochs[1:]), (
        f"sgd: all 4 epochs visited the samples in the same order {epochs[0]}: draw every "
        "epoch's shuffle from the one generator (never re-create it from the seed)"
    )
    check_sequential_updates(spy, t0, val.thetas[-1], 0.02)
    for e in range(4):  # the validation error is measured on the θ reached after epoch e
        n, theta, grad = spy.calls[(e + 1) * 8 - 1]
        assert_close(val.thetas[e], theta - 0.02 * grad,
                     f"θ given to val_error_fn after epoch {e}", rtol=1e-10, atol=1e-12)
    assert_close(best, val.thetas[2],
                 "sgd: θ returned (must be θ of the epoch with the lowest validation error, 2)")


@exercise("ch01.sgd", points=1, depends=["ch01.sgd_epoch", "ch01.stop_rule"])
def test_sgd_patience_and_max_epochs(ch01: ModuleType) -> None:
    X, y = regression(3, N=6)
    script = [0.5, 0.4, 0.45, 0.3, 0.35, 0.36, 0.2]
    val = ValSpy(script)
    best, errors = ch01.sgd(np.zeros(3), X, y, GradSpy(X, y), 0.01, val, max_epochs=20,
                            patience=2, rng=0)
    assert_equal(list(map(float, errors)), script[:6], "sgd with patience=2: validation errors")
    assert_close(best, val.thetas[3], "sgd: θ returned (lowest validation error at epoch 3)")
    val = ValSpy([1.0 / (k + 1) for k in range(50)])  # always falling: max_epochs ends it
    best, errors = ch01.sgd(np.zeros(3), X, y, GradSpy(X, y), 0.01, val, max_epochs=5, rng=0)
    assert_equal(len(errors), 5, "sgd with max_epochs=5: number of epochs run")
    assert_close(best, val.thetas[4], "sgd: θ returned (lowest validation error at epoch 4)")


@exercise("ch01.sgd", points=1, depends=["ch01.sgd_epoch", "ch01.stop_rule"])
def test_sgd_keeps_the_first_of_tied_best_epochs(ch01: ModuleType) -> None:
    X, y = regression(4, N=6)
    script = [0.5, 0.3, 0.3, 0.4]  # epochs 1 and 2 tie for the best; patience 2 stops at 3
    val = ValSpy(script)
    best, errors = ch01.sgd(np.zeros(3), X, y, GradSpy(X, y), 0.05, val, max_epochs=10,
                            patience=2, rng=1)
    assert_equal(list(map(float, errors)), script, "sgd with patience=2: validation errors")
    assert not np.allclose(val.thetas[1], val.thetas[2]), "the tied epochs must differ"
    assert_close(best, val.thetas[1], "sgd: θ returned when epochs 1 and 2 tie",
                 hint="keep the first epoch with the lowest error: a tie is no improvement")


@exercise("ch01.sgd", points=1, depends=["ch01.sgd_epoch", "ch01.stop_rule"])
def test_sgd_learns_linear_regression(ch01: ModuleType) -> None:
    rng = np.random.default_rng(11)
    w_true = np.array([1.5, -2.0, 0.5])
    X = rng.normal(size=(80, 3))
    y = X @ w_true + 0.05 * rng.normal(size=80)
    Xv = rng.normal(size=(40, 3))
    yv = Xv @ w_true

    def grad_fn(theta, x, t):
        return (theta @ x - t) * x

    def val_error(theta):
        return float(np.mean((Xv @ theta - yv) ** 2))

    best, errors = ch01.sgd(np.zeros(3), X, y, grad_fn, 0.05, val_error, max_epochs=50, rng=5)
    assert_close(val_error(expect_array(best, "sgd: θ returned", (3,))), min(errors),
                 "sgd: validation error of the θ returned", rtol=1e-6,
                 hint="return the θ of the epoch with the lowest validation error")
    assert min(errors) < 0.01, f"SGD should fit this regression (val MSE {min(errors):.3g})"


# --------------------------------------------------------------------------- metrics
def labels(seed: int, n: int = 60, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, size=n), rng.integers(0, classes, size=n)


def pair(result: object, what: str, names: tuple[str, ...]) -> tuple:
    """``result`` as a tuple of ``len(names)`` values, or a message saying what came back."""
    if not isinstance(result, tuple) or len(result) != len(names):
        raise AssertionError(
            f"{what}: expected a tuple ({', '.join(names)}), got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, tuple) else "")
        )
    return result


@exercise("ch01.accuracy", points=1, **ACCURACY)
def test_accuracy_error(ch01: ModuleType) -> None:
    what = "accuracy_error([0, 1, 2, 2, 1], [0, 2, 2, 2, 0])"
    acc, err = pair(ch01.accuracy_error(np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 2, 0])),
                    what, ("accuracy", "error_rate"))
    assert_close(acc, 0.6, f"{what}: accuracy", hint="3 of the 5 labels are right")
    assert_close(err, 0.4, f"{what}: error rate", hint="1 − accuracy")
    for seed in range(5):
        yt, yp = labels(seed, classes=4)
        snap = Snapshot(y_true=yt, y_pred=yp)
        acc, err = pair(ch01.accuracy_error(yt, yp), "accuracy_error", ("accuracy", "error_rate"))
        snap.assert_unchanged("accuracy_error")
        assert_close(acc, metrics.accuracy(yt, yp), f"accuracy_error on 60 labels (seed {seed}): "
                     "accuracy")
        assert_close(err, metrics.error_rate(yt, yp), f"accuracy_error on 60 labels (seed {seed}):"
                     " error rate")


@exercise("ch01.confusion", points=1, **CONFUSION)
def test_confusion_counts(ch01: ModuleType) -> None:
    # hand example: y = [1, 1, 1, 0, 0, 1, 0, 0], ŷ = [1, 0, 1, 1, 0, 1, 1, 0]
    yt, yp = np.array([1, 1, 1, 0, 0, 1, 0, 0]), np.array([1, 0, 1, 1, 0, 1, 1, 0])
    assert_equal(ch01.confusion_counts(yt, yp), (3, 2, 1, 2),
                 f"confusion_counts({yt.tolist()}, {yp.tolist()}): (TP, FP, FN, TN)",
                 hint="FP: predicted positive but negative; FN: positive but predicted negative")
    for seed in range(6):
        yt, yp = labels(seed, classes=3)
        for pos in range(3):
            M = metrics.confusion_matrix(yt, yp, num_classes=3)
            tp = M[pos, pos]
            fp = M[:, pos].sum() - tp
            fn = M[pos, :].sum() - tp
            tn = M.sum() - tp - fp - fn
            got = ch01.confusion_counts(yt, yp, positive=pos)
            assert_equal(got, (tp, fp, fn, tn),
                         f"confusion_counts on 60 labels of 3 classes, positive={pos}")


def check_prf1(got: object, want: tuple[float, float, float], what: str) -> None:
    p, r, f = pair(got, what, ("precision", "recall", "f1"))
    for name, value, exp, hint in (
        ("precision", p, want[0], "TP/(TP+FP): the share of the predicted positives that are "
         "positive (the notes' prose swaps the names)"),
        ("recall", r, want[1], "TP/(TP+FN): the share of the positives that are found"),
        ("F1", f, want[2], "2PR/(P+R), the harmonic mean of precision and recall"),
    ):
        assert_close(value, exp, f"{what}: {name}", hint=hint)


@exercise("ch01.prf1", points=2, **PRF1)
def test_precision_recall_f1(ch01: ModuleType) -> None:
    # hand example: TP=3, FP=1, FN=2 → P = 3/4, R = 3/5, F1 = 2·0.75·0.6/1.35 = 2/3
    yt = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    yp = np.array([1, 1, 1, 0, 0, 1, 0, 0])
    check_prf1(ch01.precision_recall_f1(yt, yp), (0.75, 0.6, 2 / 3),
               "precision_recall_f1 with TP=3, FP=1, FN=2")
    for seed in range(8):
        yt, yp = labels(seed)
        want = (metrics.precision(yt, yp), metrics.recall(yt, yp), metrics.f1_score(yt, yp))
        check_prf1(ch01.precision_recall_f1(yt, yp, positive=1), want,
                   f"precision_recall_f1 on 60 labels (seed {seed})")
        want0 = tuple(
            m(yt, yp, pos_label=0) for m in (metrics.precision, metrics.recall, metrics.f1_score)
        )
        check_prf1(ch01.precision_recall_f1(yt, yp, positive=0), want0,
                   f"precision_recall_f1 on 60 labels (seed {seed}), positive=0")
    # zero divisions are 0.0: nothing predicted positive, no positive sample
    check_prf1(ch01.precision_recall_f1(np.array([1, 0]), np.array([0, 0])), (0.0, 0.0, 0.0),
               "precision_recall_f1([1, 0], [0, 0]) (no positive prediction: P = 0 by definition)")
    check_prf1(ch01.precision_recall_f1(np.array([0, 0]), np.array([0, 0])), (0.0, 0.0, 0.0),
               "precision_recall_f1([0, 0], [0, 0]) (no positive sample: P = R = F1 = 0)")


@exercise("ch01.macro_f1", points=1, **MACRO_F1)
def test_macro_f1(ch01: ModuleType) -> None:
    for seed in range(6):
        yt, yp = labels(seed, classes=4)
        assert_close(ch01.macro_f1(yt, yp), metrics.f1_score(yt, yp, average="macro"),
                     f"macro_f1 on 60 labels of 4 classes (seed {seed})")
    # class 2 occurs only in the prediction: it counts (F1 = 0); class 3 occurs nowhere
    yt, yp = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    want = (2 / 3 + 1.0 + 0.0) / 3  # F1 of class 0: P=1, R=1/2
    assert_close(ch01.macro_f1(yt, yp), want, "macro_f1([0, 0, 1, 1], [0, 2, 1, 1])",
                 hint="mean F1 of classes 0, 1 and 2: a class only predicted counts with F1 = 0")
    # class 1 occurs nowhere, between classes that do: it is ignored
    yt, yp = np.array([0, 0, 2, 2, 2]), np.array([0, 2, 2, 2, 0])
    want = (1 / 2 + 2 / 3) / 2  # class 0: P = R = 1/2; class 2: P = R = 2/3
    assert_close(ch01.macro_f1(yt, yp), want, "macro_f1([0, 0, 2, 2, 2], [0, 2, 2, 2, 0])",
                 hint="mean F1 of classes 0 and 2: class 1 occurs nowhere and is ignored")
