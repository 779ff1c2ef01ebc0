"""The sweep's own assertions can fail: a callable that accepts a bad input, one whose error
names neither the argument nor the value, and a wrong result for an int array are caught."""

from __future__ import annotations

import numpy as np
import pytest
from _sweep_checks import assert_clear, expect_clear, expect_clear_or_same, names


def _silent(x: object) -> float:
    return float(np.sum(np.asarray(x, dtype=float)))


def _vague(x: object) -> None:
    raise ValueError("bad input")


def _clear(x: object) -> None:
    raise ValueError(f"x: expected a 2-D array (N, D), got shape {np.shape(x)}")


def test_accepting_a_bad_input_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="accepted a bad 'x'"):
        expect_clear(lambda: _silent(np.ones(3)), "x", (3,))


def test_a_vague_message_fails() -> None:
    with pytest.raises(AssertionError, match="does not name 'x'"):
        expect_clear(lambda: _vague(np.ones(3)), "x", (3,))
    with pytest.raises(AssertionError, match="does not show the actual value"):
        assert_clear(ValueError("x: expected a 2-D array"), "x", (3,))


def test_a_clear_message_passes() -> None:
    expect_clear(lambda: _clear(np.ones(3)), "x", (3,))


def test_names_matches_whole_words() -> None:
    assert names("params[0]: expected a Parameter", "params")
    assert not names("y_true: expected labels", "y")
    assert names("x: expected ...", "X")  # a model's message uses its first layer's x
    assert not names("index out of range", "x")


def test_a_wrong_result_for_an_int_array_fails() -> None:
    x = np.array([1, 2, 3])
    with pytest.raises(AssertionError, match="differs from the float call"):
        expect_clear_or_same(lambda: np.sum(x // 2), lambda: np.sum(x / 2), "x", x.dtype)
    expect_clear_or_same(lambda: np.sum(x), lambda: np.sum(x.astype(float)), "x", x.dtype)
