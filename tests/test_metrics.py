"""Tests of dlcourse/metrics.py against scikit-learn and hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from dlcourse.metrics import (
    accuracy,
    binary_predictions,
    confusion_matrix,
    error_rate,
    f1_score,
    labels_from_one_hot,
    output_accuracy,
    precision,
    recall,
)

PAD = -100


def _random_labels(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, size=n)
    noisy = rng.integers(0, k, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, noisy)
    return y_true, y_pred


# ---- hand-computed examples ----------------------------------------------------------------


def test_hand_computed_binary_example() -> None:
    # TP: idx 0, 1, 2 (3); FP: idx 3, 4 (2); FN: idx 5 (1); TN: idx 6, 7, 8, 9 (4)
    y_true = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert accuracy(y_true, y_pred) == 7 / 10
    assert error_rate(y_true, y_pred) == 3 / 10
    assert precision(y_true, y_pred) == 3 / 5
    assert recall(y_true, y_pred) == 3 / 4
    assert f1_score(y_true, y_pred) == pytest.approx(2 / 3, abs=1e-15)  # 2PR/(P+R) = 0.9/1.35
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), [[4, 2], [1, 3]])


def test_precision_and_recall_are_not_swapped() -> None:
    # A classifier that says "positive" for everything finds every positive (recall 1) but
    # most of what it flags is negative (precision = base rate 2/10). The notes' prose
    # describes these with the names exchanged; the definitions here are the standard ones.
    y_true = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    y_pred = np.ones(10, dtype=int)
    assert recall(y_true, y_pred) == 1.0
    assert precision(y_true, y_pred) == pytest.approx(0.2, abs=1e-15)
    # a cautious classifier: one positive flagged, correctly -> precision 1, recall 1/2
    y_pred2 = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    assert precision(y_true, y_pred2) == 1.0
    assert recall(y_true, y_pred2) == 0.5


def test_pos_label_selects_the_positive_class() -> None:
    y_true = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    # with 0 as positive: TP = 4, FP = 1 (idx 5), FN = 2 (idx 3, 4)
    assert precision(y_true, y_pred, pos_label=0) == 4 / 5
    assert recall(y_true, y_pred, pos_label=0) == 4 / 6


def test_plus_minus_one_labels() -> None:
    y_true = np.array([1, -1, 1, -1])
    y_pred = np.array([1, 1, -1, -1])
    assert precision(y_true, y_pred) == 0.5
    assert recall(y_true, y_pred, pos_label=-1) == 0.5


def test_zero_division_is_zero() -> None:
    y_true = np.array([0, 0, 1, 1])
    nothing_positive = np.zeros(4, dtype=int)
    assert precision(y_true, nothing_positive) == 0.0
    assert f1_score(y_true, nothing_positive) == 0.0
    assert recall(np.zeros(4, dtype=int), np.array([1, 0, 0, 0])) == 0.0
    assert f1_score(np.zeros(3, dtype=int), np.zeros(3, dtype=int)) == 0.0


def test_scores_are_argmaxed() -> None:
    scores = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 0.5], [0.0, 0.2, 0.3], [5.0, 6.0, 7.0]])
    y_true = np.array([1, 0, 1, 2])
    assert accuracy(y_true, scores) == 0.75
    np.testing.assert_array_equal(
        confusion_matrix(y_true, scores), [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    )


def test_confusion_matrix_num_classes_pads() -> None:
    cm = confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=4)
    assert cm.shape == (4, 4)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm[:2, :2], [[1, 0], [1, 1]])
    assert cm[2:].sum() == 0 and cm[:, 2:].sum() == 0


# ---- against scikit-learn --------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed: int) -> None:
    y_true, y_pred = _random_labels(seed, 200, 2)
    assert accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-15)
    for pos in (0, 1):
        kw = {"pos_label": pos, "zero_division": 0.0}
        assert precision(y_true, y_pred, pos_label=pos) == pytest.approx(
            skm.precision_score(y_true, y_pred, **kw), abs=1e-15
        )
        assert recall(y_true, y_pred, pos_label=pos) == pytest.approx(
            skm.recall_score(y_true, y_pred, **kw), abs=1e-15
        )
        assert f1_score(y_true, y_pred, pos_label=pos) == pytest.approx(
            skm.f1_score(y_true, y_pred, **kw), abs=1e-15
        )


@pytest.mark.parametrize("seed", range(5))
def test_macro_metrics_match_sklearn(seed: int) -> None:
    y_true, y_pred = _random_labels(seed, 300, 5)
    y_pred[y_pred == 4] = 3  # class 4 never predicted: its precision is a zero division
    kw = {"average": "macro", "zero_division": 0.0}
    assert precision(y_true, y_pred, average="macro") == pytest.approx(
        skm.precision_score(y_true, y_pred, **kw), abs=1e-15
    )
    assert recall(y_true, y_pred, average="macro") == pytest.approx(
        skm.recall_score(y_true, y_pred, **kw), abs=1e-15
    )
    assert f1_score(y_true, y_pred, average="macro") == pytest.approx(
        skm.f1_score(y_true, y_pred, **kw), abs=1e-15
    )


@pytest.mark.parametrize("seed", range(3))
def test_confusion_matrix_matches_sklearn(seed: int) -> None:
    y_true, y_pred = _random_labels(seed, 500, 7)
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, num_classes=7),
        skm.confusion_matrix(y_true, y_pred, labels=range(7)),
    )
    cm = confusion_matrix(y_true, y_pred)
    assert np.trace(cm) / cm.sum() == pytest.approx(accuracy(y_true, y_pred), abs=1e-15)


def test_does_not_modify_inputs() -> None:
    scores = np.array([[0.2, 0.8], [0.6, 0.4]])
    y = np.array([1, 1])
    before = scores.copy(), y.copy()
    f1_score(y, scores)
    confusion_matrix(y, scores)
    np.testing.assert_array_equal(scores, before[0])
    np.testing.assert_array_equal(y, before[1])


# ---- validation ------------------------------------------------------------------------------


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match=r"y_pred: expected 3 predictions.*got 2"):
        accuracy([0, 1, 1], [0, 1])


def test_bad_shapes_and_values_raise() -> None:
    with pytest.raises(ValueError, match=r"y_pred: expected labels of y_true's shape \(2, 2\) "
                       r"or scores \(2, 2, C\), got shape \(2,\)"):
        accuracy(np.zeros((2, 2), dtype=int), [0, 1])
    with pytest.raises(ValueError, match=r"y_pred: expected labels of y_true's shape \(2,\) "
                       r"or scores \(2, C\), got shape \(2, 2, 2\)"):
        accuracy([0, 1], np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"C >= 2.*binary_predictions"):
        accuracy([0, 1], np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"y_true: expected labels of shape \(N,\)"):
        accuracy(3, 3)
    with pytest.raises(TypeError, match=r"y_pred: expected integer class labels"):
        accuracy([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match=r"at least one sample"):
        accuracy([], [])


def test_binary_average_rejects_multiclass_and_bad_pos_label() -> None:
    with pytest.raises(ValueError, match=r"average: 'binary' needs at most 2 distinct labels"):
        precision([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match=r"pos_label: expected one of the labels \[0, 2\]"):
        recall([0, 2, 2], [0, 2, 0])
    with pytest.raises(ValueError, match=r"average: expected one of"):
        f1_score([0, 1], [0, 1], average="micro")


def test_confusion_matrix_label_range() -> None:
    with pytest.raises(ValueError, match=r"y_true: expected labels in \[0, 2\)"):
        confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match=r"expected labels >= 0"):
        confusion_matrix([0, -1], [0, 1])
    with pytest.raises(ValueError, match=r"num_classes: expected an integer >= 1"):
        confusion_matrix([0], [0], num_classes=0)


# ---- leading dimensions and padding ----------------------------------------------------------


def _sequences(seed: int, n: int = 6, t: int = 5, k: int = 4):
    """Labels (n, t) with padding, scores (n, t, k) right ~60 % of the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=(n, t))
    right = rng.random((n, t)) < 0.6
    scores = rng.normal(size=(n, t, k))
    scores[right, y[right]] += 10.0
    y[rng.random((n, t)) < 0.3] = PAD
    y[0, 0] = 1
    return y, scores


def test_sequence_labels_hand_computed() -> None:
    # positions (0,0), (0,1), (1,0) count; (0,2), (1,1), (1,2) are padding
    y = np.array([[1, 2, PAD], [0, PAD, PAD]])
    scores = np.zeros((2, 3, 3))
    scores[0, 0, 1] = scores[0, 1, 0] = scores[1, 0, 0] = 1.0  # right, wrong, right
    scores[0, 2, 2] = scores[1, 1, 1] = 1.0  # predictions at padding do not count
    assert accuracy(y, scores, ignore_index=PAD) == 2 / 3
    assert error_rate(y, scores, ignore_index=PAD) == 1 / 3
    np.testing.assert_array_equal(
        confusion_matrix(y, scores, ignore_index=PAD), [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    )
    # without ignore_index every position counts, and -100 is not a valid confusion label
    assert accuracy(y, scores) == 2 / 6
    with pytest.raises(ValueError, match=r"y_true: expected labels >= 0"):
        confusion_matrix(y, scores)


@pytest.mark.parametrize("seed", range(3))
def test_sequence_metrics_match_sklearn_on_kept_positions(seed: int) -> None:
    y, scores = _sequences(seed)
    keep = y != PAD
    yt, yp = y[keep], scores.argmax(axis=-1)[keep]
    assert accuracy(y, scores, ignore_index=PAD) == pytest.approx(
        skm.accuracy_score(yt, yp), abs=1e-15)
    assert accuracy(y, scores.argmax(axis=-1), ignore_index=PAD) == pytest.approx(
        skm.accuracy_score(yt, yp), abs=1e-15)
    kw = {"average": "macro", "zero_division": 0.0}
    for ours, ref in ((precision, skm.precision_score), (recall, skm.recall_score),
                      (f1_score, skm.f1_score)):
        assert ours(y, scores, average="macro", ignore_index=PAD) == pytest.approx(
            ref(yt, yp, **kw), abs=1e-15)
    np.testing.assert_array_equal(
        confusion_matrix(y, scores, num_classes=4, ignore_index=PAD),
        skm.confusion_matrix(yt, yp, labels=range(4)),
    )


def test_ignore_index_errors() -> None:
    with pytest.raises(ValueError, match=r"y_true: every label equals ignore_index=-100"):
        accuracy([PAD, PAD], [0, 1], ignore_index=PAD)
    with pytest.raises(TypeError, match=r"ignore_index: expected an integer"):
        accuracy([0, 1], [0, 1], ignore_index=0.5)


# ---- binary scores, one-hot targets, model outputs -------------------------------------------


def test_binary_predictions() -> None:
    s = np.array([2.0, -0.5, 0.0, 1e-9])
    np.testing.assert_array_equal(binary_predictions(s), [1, 0, 0, 1])  # 0 is not > 0
    np.testing.assert_array_equal(binary_predictions(s[:, None], labels=(-1, 1)), [1, -1, -1, 1])
    probs = np.array([[0.7], [0.2], [0.5]])
    out = binary_predictions(probs, threshold=0.5)
    assert out.shape == (3,) and out.dtype == np.int64
    np.testing.assert_array_equal(out, [1, 0, 0])
    assert binary_predictions(np.zeros((2, 3, 1))).shape == (2, 3)
    with pytest.raises(TypeError, match=r"labels: expected a pair of integer labels"):
        binary_predictions(s, labels=(0.5, 1))
    with pytest.raises(TypeError, match=r"threshold: expected a finite real number"):
        binary_predictions(s, threshold="0")
    with pytest.raises(ValueError, match=r"scores: expected finite values"):
        binary_predictions(np.array([np.nan]))


def test_labels_from_one_hot() -> None:
    np.testing.assert_array_equal(labels_from_one_hot(np.eye(4)[[2, 0, 3]]), [2, 0, 3])
    seq = np.eye(3)[np.array([[0, 2], [1, 1]])]  # (2, 2, 3)
    np.testing.assert_array_equal(labels_from_one_hot(seq), [[0, 2], [1, 1]])
    with pytest.raises(ValueError, match=r"y: expected one-hot rows"):
        labels_from_one_hot([[0.2, 0.8], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"y: expected one-hot rows"):
        labels_from_one_hot([[1, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"y: expected one-hot targets \(N, C\)"):
        labels_from_one_hot([0, 1])


def test_output_accuracy_single_logit_outputs() -> None:
    out = np.array([[2.0], [-1.0], [0.5], [-3.0]])  # decisions 1, neg, 1, neg
    assert output_accuracy(np.array([1, 0, 0, 0]), out) == 0.75
    assert output_accuracy(np.array([1, 1, -1, -1]), out) == 0.5
    assert output_accuracy(np.array([[1.0], [0.0], [1.0], [0.0]]), out) == 1.0
    assert output_accuracy(np.array([1, 0, 1, 0]), out[:, 0]) == 1.0
    assert output_accuracy(np.array([1, 0, PAD, 1]), out, ignore_index=PAD) == 2 / 3
    with pytest.raises(ValueError, match=r"y_true: expected binary labels in \{0, 1\} or "
                       r"\{-1, 1\}.*got \[0, 2\]"):
        output_accuracy(np.array([0, 2, 0, 2]), out)


def test_output_accuracy_class_scores_and_one_hot() -> None:
    scores = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 0.5], [0.0, 0.2, 0.3], [5.0, 6.0, 7.0]])
    y = np.array([1, 0, 1, 2])
    assert output_accuracy(y, scores) == 0.75
    assert output_accuracy(np.eye(3)[y], scores) == 0.75
    ys, seq = _sequences(7)
    assert output_accuracy(ys, seq, ignore_index=PAD) == accuracy(ys, seq, ignore_index=PAD)
    with pytest.raises(ValueError, match=r"y: expected one-hot rows"):
        output_accuracy(np.full((4, 3), 1 / 3), scores)  # soft targets are not labels
    with pytest.raises(ValueError, match=r"out: expected scores"):
        output_accuracy(1, np.float64(0.3))
