"""Tests of ``dlcourse/grading/checks.py``: each helper passes what is right and fails what is
wrong with a message that says what was expected and what was got, in plain numbers."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.checks import (
    RowIndex,
    assert_close,
    assert_equal,
    assert_grad,
    check_epochs,
    check_step_gradients,
    expect_array,
    plain,
    show,
)


def test_plain_and_show_use_python_values() -> None:
    value = (np.int64(1), np.float64(0.1) + np.float64(0.2), [np.bool_(False)], np.arange(2))
    assert plain(value) == (1, 0.30000000000000004, [False], [0, 1])
    assert type(plain(np.int64(3))) is int
    assert show(value) == "(1, 0.3, [False], [0, 1])"
    assert show((np.int64(7),)) == "(7,)"


def test_assert_equal_messages() -> None:
    assert_equal((np.int64(3), 1), [3, 1], "counts")  # numpy scalars and list vs tuple
    with pytest.raises(AssertionError) as err:
        assert_equal((np.int64(3), np.int64(2)), (3, 1), "f(x): (TP, FP)", hint="FP: ...")
    assert str(err.value) == "f(x): (TP, FP): expected (3, 1), got (3, 2) (FP: ...)"
    with pytest.raises(AssertionError, match=r"^flag: expected True, got False$"):
        assert_equal(np.bool_(False), True, "flag")


def test_assert_close_messages() -> None:
    assert_close(0.1 + 0.2, 0.3, "sum")
    with pytest.raises(AssertionError) as err:
        assert_close(np.float64(0.75), 0.6, "accuracy_error: accuracy", hint="3 of 5 right")
    assert str(err.value) == "accuracy_error: accuracy: expected 0.6, got 0.75 (3 of 5 right)"
    got = np.array([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(AssertionError) as err:
        assert_close(got, [[1.0, 2.0], [3.0, 4.0]], "f(x)")
    assert str(err.value) == "f(x): expected 4 at index [1, 1], got 5 (1 of 4 values differ)"
    with pytest.raises(AssertionError, match=r"^f\(x\): expected shape \(2, 2\), got \(4,\)$"):
        assert_close(got.ravel(), got, "f(x)")
    with pytest.raises(AssertionError, match=r"^loss: expected a single number, got an array "
                                             r"of shape \(2,\)$"):
        assert_close([0.5, 0.5], 0.5, "loss")
    with pytest.raises(AssertionError, match=r"^f: returned None \(missing return\?\)$"):
        expect_array(None, "f")


def test_assert_grad_names_its_reference() -> None:
    assert_grad(np.ones(3), np.ones(3), "dW")
    with pytest.raises(AssertionError) as err:
        assert_grad(2 * np.ones(3), np.ones(3), "dW", reference="the batch's gradient",
                    hint="zero first")
    assert str(err.value) == (
        "dW: relative error 0.33 vs the batch's gradient (max 1e-06) (zero first)"
    )


def test_row_index() -> None:
    X = np.arange(12.0).reshape(4, 3)
    rows = RowIndex(X)
    assert rows(X[[3, 1]].astype(np.float32), "b") == [3, 1]
    with pytest.raises(AssertionError, match="b: a mini-batch holds a row that is not"):
        rows(X[:2] + 0.5, "b")
    with pytest.raises(ValueError, match="distinct rows"):
        RowIndex(np.zeros((2, 3)))


def _schedule(orders: list[list[int]], batch_size: int) -> list[list[int]]:
    return [o[i : i + batch_size] for o in orders for i in range(0, len(o), batch_size)]


def test_check_epochs_accepts_a_correct_schedule_and_names_each_mistake() -> None:
    rng = np.random.default_rng(0)
    orders = [list(rng.permutation(7)) for _ in range(3)]
    assert check_epochs(_schedule(orders, 3), 7, 3, 3, "train") == orders
    cases = [
        (_schedule(orders, 3)[:-1], r"expected 3 epochs × 3 mini-batches = 9 optimiser steps, "
         r"got 8 \(N = 7, batch_size = 3: the last mini-batch of each epoch holds the 1 samples"),
        ([b for o in orders for b in (o[:2], o[2:4], o[4:])],  # np.array_split's sizes
         r"epoch 0, mini-batch 0: expected 3 samples, got 2"),
        (_schedule([[0, 0, *o[2:]] for o in orders], 3),
         r"epoch 0 must use each of the 7 samples exactly once; it used \d distinct"),
        (_schedule([list(range(7))] * 3, 3), r"epoch 0 visited the samples in their stored order"),
        (_schedule([orders[0]] * 3, 3), r"epochs 0 and 1 visited the samples in the same order"),
    ]
    for batches, message in cases:
        with pytest.raises(AssertionError, match="^train: " + message):
            check_epochs(batches, 7, 3, 3, "train")


def test_check_step_gradients() -> None:
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    check_step_gradients([g2], [g2], [g1], ["W.grad"], "fit: at step 1")
    with pytest.raises(AssertionError, match=r"^fit: at step 1, W.grad holds this mini-batch's "
                                             r"gradient plus the previous one"):
        check_step_gradients([g1 + g2], [g2], [g1], ["W.grad"], "fit: at step 1")
    with pytest.raises(AssertionError, match=r"^fit: at step 0, W.grad: relative error 1 vs the "
                                             r"gradient of that mini-batch's mean loss"):
        check_step_gradients([-g2], [g2], None, ["W.grad"], "fit: at step 0")
