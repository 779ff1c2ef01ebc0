"""Classification metrics: accuracy, error rate, precision, recall, F1, confusion matrix.

Every function takes ``y_true`` (true class labels, shape ``(N,)`` or ``(N, ...)``) first and
``y_pred`` second. ``y_pred`` may be predicted labels of the same shape, or class scores
``(N, C)`` / ``(N, ..., C)`` (logits or probabilities, class axis last), in which case the
predicted label is the arg-max over the ``C`` entries. With leading dimensions (a sequence
model's labels ``(N, T)`` and scores ``(N, T, C)``) every position counts as one sample.
``ignore_index`` (default None: nothing ignored) drops the positions whose true label equals
it, e.g. the padding of sequences, as the cross-entropy loss does.

Two helpers turn other outputs into labels: :func:`binary_predictions` thresholds one score
per sample (a ``Linear(D, 1)`` output) into labels {0, 1} or {−1, 1}, and
:func:`labels_from_one_hot` turns one-hot targets back into labels. :func:`output_accuracy`
applies them as needed to score a model's raw output; it is what ``fit`` reports as accuracy.

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

import numbers

import numpy as np

from dlcourse._validate import as_array, as_float_array, check_choice, check_int, check_labels

__all__ = [
    "accuracy",
    "error_rate",
    "precision",
    "recall",
    "f1_score",
    "confusion_matrix",
    "binary_predictions",
    "labels_from_one_hot",
    "output_accuracy",
]


def _as_labels(name: str, arr: np.ndarray) -> np.ndarray:
    """Integer labels of ``arr``'s shape (integer-valued floats and bools are accepted)."""
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


def _shape_str(shape: tuple[int, ...], extra: str = "") -> str:
    """``(2, 3)`` -> "(2, 3)"; with ``extra="C"`` -> "(2, 3, C)"; ``(2,)`` -> "(2,)"."""
    items = [str(d) for d in shape] + ([extra] if extra else [])
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _labels_pair(
    y_true: object, y_pred: object, ignore_index: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y_true, y_pred)`` as flat integer label vectors of equal length.

    ``y_true`` (N, ...); ``y_pred`` labels of the same shape or scores (N, ..., C), C >= 2,
    arg-maxed over the last axis. Positions where ``y_true == ignore_index`` are dropped.
    """
    yt_arr = as_array("y_true", y_true)
    if yt_arr.ndim == 0:
        raise ValueError(f"y_true: expected labels of shape (N,) or (N, ...), got shape {()}")
    yt = _as_labels("y_true", yt_arr)
    yp_arr = as_array("y_pred", y_pred)
    if yp_arr.ndim >= 1 and yt.ndim == 1 and yp_arr.shape[0] != yt.shape[0]:
        raise ValueError(
            f"y_pred: expected {yt.shape[0]} predictions (the length of y_true), "
            f"got {yp_arr.shape[0]}"
        )
    if yp_arr.shape == yt.shape:
        yp = _as_labels("y_pred", yp_arr)
    elif yp_arr.ndim == yt.ndim + 1 and yp_arr.shape[:-1] == yt.shape:
        if yp_arr.shape[-1] < 2:
            raise ValueError(
                f"y_pred: expected labels {_shape_str(yt.shape)} or scores "
                f"{_shape_str(yt.shape, 'C')} with C >= 2, got shape {yp_arr.shape}; "
                "threshold one score per sample with binary_predictions(scores)"
            )
        yp = np.argmax(as_float_array("y_pred", yp_arr), axis=-1).astype(np.int64)
    else:
        raise ValueError(
            f"y_pred: expected labels of y_true's shape {_shape_str(yt.shape)} or scores "
            f"{_shape_str(yt.shape, 'C')}, got shape {yp_arr.shape}"
        )
    yt, yp = yt.reshape(-1), yp.reshape(-1)
    if yt.shape[0] == 0:
        raise ValueError("y_true: expected at least one sample, got 0")
    if ignore_index is not None:
        ignore_index = check_int("ignore_index", ignore_index)
        keep = yt != ignore_index
        if not keep.any():
            raise ValueError(
                f"y_true: every label equals ignore_index={ignore_index}, so there is "
                "nothing to score"
            )
        yt, yp = yt[keep], yp[keep]
    return yt, yp


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` element-wise, with 0.0 where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def accuracy(y_true: object, y_pred: object, *, ignore_index: int | None = None) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Args:
        y_true: true labels, shape (N,) or (N, ...) (every position is a sample).
        y_pred: predicted labels of the same shape or class scores (N, ..., C) (arg-max).
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        ``#{i : y_pred[i] == y_true[i]} / N`` as a float in [0, 1].
    """
    yt, yp = _labels_pair(y_true, y_pred, ignore_index)
    return float(np.mean(yt == yp))


def error_rate(y_true: object, y_pred: object, *, ignore_index: int | None = None) -> float:
    """Fraction of misclassified samples, ``1 - accuracy(y_true, y_pred)``.

    Args:
        y_true: true labels, shape (N,) or (N, ...).
        y_pred: predicted labels of the same shape or class scores (N, ..., C).
        ignore_index: a true label marking positions to leave out (padding), or None.
    """
    yt, yp = _labels_pair(y_true, y_pred, ignore_index)
    return float(np.mean(yt != yp))


def _counts(
    y_true: object, y_pred: object, average: str, pos_label: int, ignore_index: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(TP, FP, FN)`` arrays: one entry (binary) or one per present class (macro)."""
    check_choice("average", average, ("binary", "macro"))
    yt, yp = _labels_pair(y_true, y_pred, ignore_index)
    present = np.union1d(yt, yp)
    if average == "binary":
        pos_label = check_int("pos_label", pos_label)
        if present.size > 2:
            raise ValueError(
                f"average: 'binary' needs at most 2 distinct labels, found {present.size} "
                f"({present.tolist()}); use average='macro' for multi-class problems"
            )
        if present.size == 2 and pos_label not in present:
            raise ValueError(f"pos_label: expected one of the labels {present.tolist()}, "
                             f"got {pos_label}")
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
    y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1,
    *, ignore_index: int | None = None,
) -> float:
    """Precision ``TP / (TP + FP)``: of the samples predicted positive, the fraction that is.

    (The notes' prose calls this quantity "recall"; see the module docstring.)

    Args:
        y_true: true labels, shape (N,) or (N, ...).
        y_pred: predicted labels of the same shape or class scores (N, ..., C).
        average: ``"binary"`` (the class ``pos_label`` is positive; at most two distinct
            labels allowed) or ``"macro"`` (unweighted mean over the classes present).
        pos_label: the positive class when ``average="binary"``.
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        A float in [0, 1]; 0.0 when nothing is predicted positive (zero division).
    """
    tp, fp, _ = _counts(y_true, y_pred, average, pos_label, ignore_index)
    return float(np.mean(_safe_div(tp, tp + fp)))


def recall(
    y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1,
    *, ignore_index: int | None = None,
) -> float:
    """Recall ``TP / (TP + FN)``: of the truly positive samples, the fraction found.

    (The notes' prose calls this quantity "precision"; see the module docstring.)

    Args:
        y_true: true labels, shape (N,) or (N, ...).
        y_pred: predicted labels of the same shape or class scores (N, ..., C).
        average: ``"binary"`` or ``"macro"`` (see :func:`precision`).
        pos_label: the positive class when ``average="binary"``.
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        A float in [0, 1]; 0.0 when there is no positive sample (zero division).
    """
    tp, _, fn = _counts(y_true, y_pred, average, pos_label, ignore_index)
    return float(np.mean(_safe_div(tp, tp + fn)))


def f1_score(
    y_true: object, y_pred: object, average: str = "binary", pos_label: int = 1,
    *, ignore_index: int | None = None,
) -> float:
    """F1, the harmonic mean of precision and recall: ``2PR / (P + R) = 2TP / (2TP + FP + FN)``.

    Args:
        y_true: true labels, shape (N,) or (N, ...).
        y_pred: predicted labels of the same shape or class scores (N, ..., C).
        average: ``"binary"`` or ``"macro"`` (mean of the per-class F1 scores).
        pos_label: the positive class when ``average="binary"``.
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        A float in [0, 1]; 0.0 when ``TP + FP + FN == 0`` for a class (zero division).
    """
    tp, fp, fn = _counts(y_true, y_pred, average, pos_label, ignore_index)
    return float(np.mean(_safe_div(2 * tp, 2 * tp + fp + fn)))


def confusion_matrix(
    y_true: object, y_pred: object, num_classes: int | None = None,
    *, ignore_index: int | None = None,
) -> np.ndarray:
    """Count matrix ``M`` with ``M[i, j]`` = number of samples of true class i predicted as j.

    Rows are true classes, columns predicted classes (the scikit-learn convention), so
    ``M.sum(axis=1)`` are the class sizes and ``np.trace(M) / M.sum()`` the accuracy.

    Args:
        y_true: true labels in ``[0, num_classes)``, shape (N,) or (N, ...).
        y_pred: predicted labels of the same shape or class scores (N, ..., C).
        num_classes: C; default ``max(y_true.max(), y_pred.max()) + 1``.
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        int64 array of shape (C, C).
    """
    yt, yp = _labels_pair(y_true, y_pred, ignore_index)
    if num_classes is None:
        num_classes = int(max(yt.max(), yp.max())) + 1
    else:
        num_classes = check_int("num_classes", num_classes, minimum=1)
    yt = check_labels("y_true", yt, yt.shape[0], num_classes)
    yp = check_labels("y_pred", yp, yp.shape[0], num_classes)
    flat = np.bincount(yt * num_classes + yp, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


# ---- labels from other model outputs ---------------------------------------------------------


def binary_predictions(
    scores: object, threshold: float = 0.0, labels: tuple[int, int] = (0, 1)
) -> np.ndarray:
    """Labels from one score per sample: ``labels[1]`` where score > threshold, else ``labels[0]``.

    The decision rule of a binary linear classifier, sign(w·x + b) (lesson 1, "线性模型"):
    for logits the threshold is 0 (σ(0) = ½); pass ``threshold=0.5`` for probabilities.

    Args:
        scores: real scores of shape (N,) or (N, ...); a trailing axis of size 1 (the
            (N, 1) output of ``Linear(D, 1)``) is dropped.
        threshold: scores strictly above it are positive.
        labels: the ``(negative, positive)`` labels, e.g. ``(0, 1)`` or ``(-1, 1)``.

    Returns:
        int64 labels of shape (N,), or the scores' shape without the trailing 1.

    Example:
        >>> binary_predictions(np.array([[2.0], [-0.5], [0.0]]), labels=(-1, 1)).tolist()
        [1, -1, -1]
    """
    s = as_float_array("scores", scores)
    if s.ndim == 0:
        raise ValueError(f"scores: expected an array of shape (N,) or (N, 1), got shape {()}")
    if s.ndim >= 2 and s.shape[-1] == 1:
        s = s[..., 0]
    if (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
            or not np.isfinite(threshold)):
        raise TypeError(f"threshold: expected a finite real number, got {threshold!r}")
    t = float(threshold)
    if (not isinstance(labels, (tuple, list)) or len(labels) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in labels)):
        raise TypeError(
            f"labels: expected a pair of integer labels (negative, positive), got {labels!r}"
        )
    return np.where(s > t, int(labels[1]), int(labels[0])).astype(np.int64)


def labels_from_one_hot(y: object) -> np.ndarray:
    """Class labels from one-hot targets: the position of the 1 along the last axis.

    Args:
        y: one-hot targets (N, C) or (N, ..., C): entries 0 or 1, exactly one 1 per row.

    Returns:
        int64 labels of shape (N,) or (N, ...).

    Example:
        >>> labels_from_one_hot([[0, 1, 0], [1, 0, 0]]).tolist()
        [1, 0]
    """
    arr = as_array("y", y)
    if arr.ndim < 2:
        raise ValueError(
            f"y: expected one-hot targets (N, C) or (N, ..., C), got shape {arr.shape}"
        )
    bad = ~(np.all((arr == 0) | (arr == 1), axis=-1) & (arr.sum(axis=-1) == 1))
    if bad.any():  # show the first bad row
        raise ValueError("y: expected one-hot rows along the last axis (entries 0 or 1, exactly "
                         f"one 1 per row), got the row {arr[bad][0]} in shape {arr.shape}")
    return np.argmax(arr, axis=-1).astype(np.int64)


def output_accuracy(y_true: object, out: object, *, ignore_index: int | None = None) -> float:
    """Accuracy of a model's raw output ``out`` against the targets ``y_true``.

    The accuracy that :func:`dlcourse.train.fit` and ``evaluate`` report; the output decides
    how it becomes labels:

    - class scores ``out`` (N, C) or (N, ..., C) with C >= 2: the arg-max, compared with
      labels ``y_true`` (N, ...) or one-hot targets of ``out``'s shape
      (:func:`labels_from_one_hot`);
    - one score per sample, ``out`` (N,) or (N, 1) (a logit): :func:`binary_predictions`
      at threshold 0, with labels {0, 1}, or {−1, 1} when ``y_true`` has a negative label;
      ``y_true`` is (N,) or (N, 1) and must hold one of these two label sets.

    Args:
        y_true: labels (or one-hot targets), as above.
        out: the model's output, as above.
        ignore_index: a true label marking positions to leave out (padding), or None.

    Returns:
        A float in [0, 1].

    Example:
        >>> output_accuracy([1, -1, -1], np.array([[0.3], [-2.0], [0.1]]))
        0.6666666666666666
    """
    o = as_float_array("out", out)  # finite scores, named "out" before accuracy() sees them
    yt = as_array("y_true", y_true)
    if o.ndim >= 2 and o.shape[-1] >= 2:
        if yt.shape not in (o.shape, o.shape[:-1]):
            raise ValueError(f"out: expected scores {_shape_str(yt.shape, 'C')} for y_true of "
                             f"shape {yt.shape}, got shape {o.shape}")
        if yt.shape == o.shape:
            yt = labels_from_one_hot(yt)
        return accuracy(yt, o, ignore_index=ignore_index)
    if o.ndim == 0:
        raise ValueError("out: expected scores (N, C) or one score per sample (N,), got shape ()")
    shape = o.shape[:-1] if o.ndim >= 2 else o.shape
    if yt.shape == o.shape or (yt.ndim == len(shape) + 1 and yt.shape == (*shape, 1)):
        yt = yt.reshape(shape)
    yt = _as_labels("y_true", yt)
    kept = yt if ignore_index is None else yt[yt != ignore_index]
    values = set(np.unique(kept).tolist())
    if not (values <= {0, 1} or values <= {-1, 1}):
        raise ValueError(
            "y_true: expected binary labels in {0, 1} or {-1, 1} for one score per sample, "
            f"got {sorted(values)[:5]}"
        )
    negative = -1 if -1 in values else 0
    return accuracy(yt, binary_predictions(o, labels=(negative, 1)), ignore_index=ignore_index)
