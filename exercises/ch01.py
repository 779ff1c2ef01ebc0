# GENERATED from solutions/ch01.py by `python -m dlcourse.grading.make_exercises`
# — edit solutions/, not this file.
# ruff: noqa: F401, F841
"""Chapter 1 (机器学习基础) exercises: algorithm 2.1 (SGD with its stopping rule) and metrics.

Coded parts of the chapter-2 review questions of the course notes ("总结 · 第二章"):
"随机梯度下降法步骤" and "机器学习几个评价指标". The written answers are in
``solutions/ch01.md`` and in the book's page ``book/01_basics/exercises.md``.

Fill in every function body that raises ``NotImplementedError("exercise <id>")``, then run
``dlcourse grade ch01`` (or ``dlcourse grade ch01.sgd_epoch`` for a single exercise).

Conventions used below:

- ``theta`` is a float array of any shape (all the model's parameters), ``X`` has shape
  ``(N, D)`` and ``y`` shape ``(N,)`` (or ``(N, K)``); ``x_n = X[n]`` has shape ``(D,)``.
- Labels are integer class ids; in binary problems ``positive`` names the positive class.
- Nothing here may modify the caller's arrays: build new arrays instead.
- Write the metrics yourself: while a metric exercise is graded, the matching function of
  ``dlcourse.metrics`` raises "implement this yourself" when your code calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlcourse._validate import as_rng

__all__ = [
    "sgd_epoch",
    "should_stop",
    "sgd",
    "accuracy_error",
    "confusion_counts",
    "precision_recall_f1",
    "macro_f1",
]

GradFn = Callable[[np.ndarray, np.ndarray, object], np.ndarray]


# --------------------------------------------------------------------------- algorithm 2.1
def sgd_epoch(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    grad_fn: GradFn,
    lr: float,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """One pass of algorithm 2.1 over the training set (its lines 3–7).

    Shuffle the N samples once with ``rng``, then for each sample ``n`` in that order update

        θ ← θ − α ∂L(θ; x⁽ⁿ⁾, y⁽ⁿ⁾)/∂θ

    using the parameters *already updated* by the previous samples (one update per sample,
    not one per epoch).

    Args:
        theta: the current parameters, any shape. Not modified.
        X: training inputs, shape (N, D).
        y: training targets, shape (N,) or (N, K); ``y[n]`` goes with ``X[n]``.
        grad_fn: ``grad_fn(theta, x_n, y_n)`` returns ∂L/∂θ for one sample, same shape as
            ``theta``; ``x_n = X[n]`` has shape (D,) and ``y_n = y[n]``.
        lr: the learning rate α > 0.
        rng: a ``np.random.Generator`` (or seed) used for the shuffle; never numpy's global
            random state.

    Returns:
        The parameters after the epoch: a new float array with the shape of ``theta``.
    """
    rng = as_rng(rng)
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X, y: expected shapes (N, D) and (N, ...), got {X.shape} and {y.shape}")
    raise NotImplementedError("exercise ch01.sgd_epoch")


def should_stop(val_errors: Sequence[float], patience: int = 1) -> bool:
    """The stopping rule of algorithm 2.1: "until the validation error no longer falls".

    ``val_errors[e]`` is the validation error measured after epoch ``e``. Training stops once
    the last ``patience`` epochs have all failed to bring the error *strictly* below the best
    value seen before them (a tie does not count as falling). With fewer than
    ``patience + 1`` measurements there is nothing to compare yet: do not stop.

    Examples:
        ``should_stop([0.5, 0.4, 0.3])`` is False, ``should_stop([0.5, 0.4, 0.3, 0.35])`` is
        True; ``should_stop([0.5, 0.4, 0.45, 0.3], patience=2)`` is False.

    Args:
        val_errors: the validation errors so far, one per epoch.
        patience: how many epochs without improvement to tolerate (≥ 1).

    Returns:
        True if training should stop now.
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"patience: expected an integer >= 1, got {patience!r}")
    errors = [float(e) for e in val_errors]
    raise NotImplementedError("exercise ch01.stop_rule")


def sgd(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    grad_fn: GradFn,
    lr: float,
    val_error_fn: Callable[[np.ndarray], float],
    max_epochs: int = 100,
    patience: int = 1,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Algorithm 2.1 complete: repeat epochs until the validation error no longer falls.

    Repeat: one :func:`sgd_epoch` (all epochs draw their shuffles from the *same* generator),
    then measure ``val_error_fn(theta)`` once; stop when :func:`should_stop` says so or after
    ``max_epochs`` epochs. Output the parameters of the epoch with the lowest validation
    error (the first such epoch if several tie), which is what early stopping keeps.

    Args:
        theta: initial parameters θ (line 1 of the algorithm), any shape. Not modified.
        X, y, grad_fn, lr: as in :func:`sgd_epoch`.
        val_error_fn: ``val_error_fn(theta)`` → the error rate on the validation set 𝒱.
        max_epochs: upper bound on the number of epochs (≥ 1).
        patience: passed to :func:`should_stop`.
        rng: generator or seed for all the shuffles.

    Returns:
        ``(theta_best, val_errors)``: the kept parameters and the list of validation errors,
        one per epoch run (so ``len(val_errors)`` is the number of epochs).
    """
    rng = as_rng(rng)
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"max_epochs: expected an integer >= 1, got {max_epochs!r}")
    raise NotImplementedError("exercise ch01.sgd")


# --------------------------------------------------------------------------- metrics
def accuracy_error(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Accuracy 𝒜 = (1/N) Σ I(y⁽ⁿ⁾ = ŷ⁽ⁿ⁾) and error rate ℰ = 1 − 𝒜.

    Args:
        y_true: true labels, shape (N,), N ≥ 1.
        y_pred: predicted labels, shape (N,).

    Returns:
        ``(accuracy, error_rate)`` as Python floats.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true, y_pred: expected two non-empty (N,) arrays, got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    raise NotImplementedError("exercise ch01.accuracy")


def confusion_counts(
    y_true: np.ndarray, y_pred: np.ndarray, positive: int = 1
) -> tuple[int, int, int, int]:
    """Counts of the 2×2 confusion table for the class ``positive`` (one against the rest).

    TP: truly ``positive`` and predicted ``positive``; FP: predicted ``positive`` but another
    class; FN: truly ``positive`` but predicted another class; TN: neither.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels, shape (N,).
        positive: the label of the positive class.

    Returns:
        ``(TP, FP, FN, TN)`` as Python ints; they sum to N.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true, y_pred: expected two (N,) arrays, got {y_true.shape} and {y_pred.shape}"
        )
    raise NotImplementedError("exercise ch01.confusion")


def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, positive: int = 1
) -> tuple[float, float, float]:
    """Precision P = TP/(TP+FP), recall R = TP/(TP+FN) and F1 = 2PR/(P+R).

    (The notes' prose swaps the words "precision" and "recall"; the formulas above are the
    standard ones and the ones the notes' equations give.) A ratio whose denominator is 0 is
    defined as 0.0 (no prediction of the positive class → P = 0; no positive sample → R = 0;
    P + R = 0 → F1 = 0).

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels, shape (N,).
        positive: the label of the positive class (any other label counts as negative).

    Returns:
        ``(precision, recall, f1)`` as Python floats in [0, 1].
    """
    raise NotImplementedError("exercise ch01.prf1")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-averaged F1: the plain mean of the per-class F1 scores.

    Each class that occurs in ``y_true`` or in ``y_pred`` is taken in turn as the positive
    class (one against the rest); classes that occur in neither are ignored.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels, shape (N,).

    Returns:
        The macro F1 as a Python float in [0, 1].
    """
    raise NotImplementedError("exercise ch01.macro_f1")
