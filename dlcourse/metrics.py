"""Classification metrics: accuracy, error rate, precision, recall, F1, confusion matrix.

Every function takes ``y_true`` (true class labels, shape ``(N,)``) first and ``y_pred``
second. ``y_pred`` may be predicted labels ``(N,)`` or class scores ``(N, C)`` (logits or
probabilities), in which case the predicted label is the arg-max over the ``C`` columns.

Definitions (binary case, "positive" = ``pos_label``)::

    TP = #{true positive, predicted positive}    FP = #{true negative, predicted positive}
    FN = #{true positive, predicted negative}    TN = #{true negative, predicted negative}

    precision = TP / (TP + FP)   of everything predicted positive, the fraction that is positive
    recall    = TP / (TP + FN)   of everything truly positive, the fraction that was found
    F1        = 2 · precision · recall / (precision + recall)

The course notes' prose describes these two the other way round (it calls the fraction of
true positives that were found "precision"); the formulas above are the standard ones, used
by scikit-learn and PyTorch, and the book points out the swap.

Zero division: when a denominator is 0 (e.g. nothing was predicted positive, so precision
has no meaning) the value is defined as 0.0, silently. scikit-learn returns the same value
with ``zero_division=0``.

``average="macro"`` computes the metric for each class present in ``y_true`` or ``y_pred`` and
takes the unweighted mean (macro F1 is the mean of the per-class F1 scores, as in
scikit-learn, not the F1 of the macro precision and recall).
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_array, check_choice, check_int, check_labels

__all__ = [
    "accuracy",
    "error_rate",
    "precision",
    "recall",
    "f1_score",
    "confusion_matrix",
]


def _as_label_vector(name: str, y: object) -> np.ndarray:
    """Integer labels of shape ``(N,)`` (integer-valued floats are accepted)."""
    arr = as_array(name, y)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels (N,), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.bool_):
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise TypeError(
                f"{name}: expected integer class labels, got dtype {arr.dtype} with "
                "non-integer values (pass (N, C) scores to take the arg-max)"
            )
        arr = arr.astype(np.int64)
    return arr


def _labels_pair(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y_true, y_pred)`` as integer label vectors of equal length."""
    yt = _as_label_vector("y_true", y_true)
    yp_arr = as_array("y_pred", y_pred)
    if yp_arr.ndim == 2:
        if yp_arr.shape[1] < 2:
            raise ValueError(
                "y_pred: expected labels (N,) or scores (N, C) with C >= 2, got shape "
                f"{yp_arr.shape}; threshold single-column scores yourself"
            )
        yp = np.argmax(yp_arr, axis=1).astype(np.int64)
    elif yp_arr.ndim == 1:
        yp = _as_label_vector("y_pred", yp_arr)
    else:
        raise ValueError(
            f"y_pred: expected labels (N,) or scores (N, C), got shape {yp_arr.shape}"
        )
    if yp.shape[0] != yt.shape[0]:
        raise ValueError(
            f"y_pred: expected {yt.shape[0]} predictions (the length of y_true), "
            f"got {yp.shape[0]}"
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true: expected at least one sample, got 0")
    return yt, yp


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` element-wise, with 0.0 where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def accuracy(y_true: object, y_pred: object) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C) (arg-max is taken).

    Returns:
        ``#{i : y_pred[i] == y_true[i]} / N`` as a float in [0, 1].
    """
    yt, yp = _labels_pair(y_true, y_pred)
    return float(np.mean(yt == yp))


def error_rate(y_true: object, y_pred: object) -> float:
    """Fraction of misclassified samples, ``1 - accuracy(y_true, y_pred)``.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C).
    """
    yt, yp = _labels_pair(y_true, y_pred)
    return float(np.mean(yt != yp))


def _counts(
    y_true: object, y_pred: object, average: str, pos_label: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(TP, FP, FN)`` arrays: one entry (binary) or one per present class (macro)."""
    check_choice("average", average, ("binary", "macro"))
    yt, yp = _labels_pair(y_true, y_pred)
    present = np.union1d(yt, yp)
    if average == "binary":
        pos_label = check_int("pos_label", pos_label)
        if present.size > 2:
            raise ValueError(
                f"average: 'binary' needs at most 2 distinct labels, found {present.size} "
                f"({present.tolist()}); use average='macro' for multi-class problems"
            )
        if present.size == 2 and pos_label not in present:
            raise ValueError(
                f"pos_label: expected one of the labels {present.tolist()}, got {pos_label}"
            )
        classes = np.array([pos_label])
    else:
        classes = present
    true_pos = yt[None, :] == classes[:, None]  # (K, N)
    pred_pos = yp[None, :] == classes[:, None]
    tp = np.sum(true_pos & pred_pos, axis=1)
    fp = np.sum(~true_pos & pred_pos, axis=1)
    fn = np.sum(true_pos & ~pred_pos, axis=1)
    return tp, fp, fn


def precision(
    y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1
) -> float:
    """Precision ``TP / (TP + FP)``: of the samples predicted positive, the fraction that is.

    (The notes' prose calls this quantity "recall"; see the module docstring.)

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C).
        average: ``"binary"`` (the class ``pos_label`` is positive; at most two distinct
            labels allowed) or ``"macro"`` (unweighted mean over the classes present).
        pos_label: the positive class when ``average="binary"``.

    Returns:
        A float in [0, 1]; 0.0 when nothing is predicted positive (zero division).
    """
    tp, fp, _ = _counts(y_true, y_pred, average, pos_label)
    return float(np.mean(_safe_div(tp, tp + fp)))


def recall(y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1) -> float:
    """Recall ``TP / (TP + FN)``: of the truly positive samples, the fraction found.

    (The notes' prose calls this quantity "precision"; see the module docstring.)

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C).
        average: ``"binary"`` or ``"macro"`` (see :func:`precision`).
        pos_label: the positive class when ``average="binary"``.

    Returns:
        A float in [0, 1]; 0.0 when there is no positive sample (zero division).
    """
    tp, _, fn = _counts(y_true, y_pred, average, pos_label)
    return float(np.mean(_safe_div(tp, tp + fn)))


def f1_score(
    y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1
) -> float:
    """F1, the harmonic mean of precision and recall: ``2PR / (P + R) = 2TP / (2TP + FP + FN)``.

    Args:
        y_true: true labels, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C).
        average: ``"binary"`` or ``"macro"`` (mean of the per-class F1 scores).
        pos_label: the positive class when ``average="binary"``.

    Returns:
        A float in [0, 1]; 0.0 when ``TP + FP + FN == 0`` for a class (zero division).
    """
    tp, fp, fn = _counts(y_true, y_pred, average, pos_label)
    return float(np.mean(_safe_div(2 * tp, 2 * tp + fp + fn)))


def confusion_matrix(
    y_true: object, y_pred: object, num_classes: int | None = None
) -> np.ndarray:
    """Count matrix ``M`` with ``M[i, j]`` = number of samples of true class i predicted as j.

    Rows are true classes, columns predicted classes (the scikit-learn convention), so
    ``M.sum(axis=1)`` are the class sizes and ``np.trace(M) / M.sum()`` the accuracy.

    Args:
        y_true: true labels in ``[0, num_classes)``, shape (N,).
        y_pred: predicted labels (N,) or class scores (N, C).
        num_classes: C; default ``max(y_true.max(), y_pred.max()) + 1``.

    Returns:
        int64 array of shape (C, C).
    """
    yt, yp = _labels_pair(y_true, y_pred)
    if num_classes is None:
        num_classes = int(max(yt.max(), yp.max())) + 1
    else:
        num_classes = check_int("num_classes", num_classes, minimum=1)
    yt = check_labels("y_true", yt, yt.shape[0], num_classes)
    yp = check_labels("y_pred", yp, yp.shape[0], num_classes)
    flat = np.bincount(yt * num_classes + yp, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)
