"""Tests for dlcourse/_validate.py: each check names the argument, the expectation, the value."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import _validate as v


def test_as_array_rejects_strings_and_objects() -> None:
    with pytest.raises(TypeError, match=r"x: expected a numeric array, got dtype <U"):
        v.as_array("x", ["a", "b"])
    with pytest.raises(TypeError, match="x: expected a numeric array"):
        v.as_array("x", np.array([1, None], dtype=object))


def test_as_array_does_not_copy_arrays() -> None:
    a = np.zeros(3)
    assert v.as_array("a", a) is a


def test_as_float_array_keeps_float32_and_converts_ints() -> None:
    assert v.as_float_array("x", np.zeros(2, np.float32)).dtype == np.float32
    assert v.as_float_array("x", [1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match="x: expected finite values"):
        v.as_float_array("x", [1.0, np.nan])
    assert np.isnan(v.as_float_array("x", [np.nan], allow_nan=True)).all()


def test_check_ndim_and_shape_messages() -> None:
    x = np.zeros((3, 4, 5))
    msg = r"x: expected a 2-D array \(N, D\), got shape \(3, 4, 5\)"
    with pytest.raises(ValueError, match=msg):
        v.check_ndim("x", x, 2, "(N, D)")
    v.check_ndim("x", x, (2, 3))
    v.check_shape("x", x, (3, None, 5))
    with pytest.raises(ValueError, match=r"x: expected shape \(3, \*, 6\), got \(3, 4, 5\)"):
        v.check_shape("x", x, (3, None, 6))
    with pytest.raises(ValueError, match=r"b: expected shape \(4,\), got \(3, 4, 5\)"):
        v.check_shape("b", x, (4,))


def test_check_same_shape() -> None:
    with pytest.raises(ValueError, match=r"y: expected the same shape as pred \(2,\), got \(3,\)"):
        v.check_same_shape("pred", np.zeros(2), "y", np.zeros(3))


def test_check_labels() -> None:
    y = v.check_labels("y", [0, 2, 1], 3, num_classes=3)
    assert y.dtype.kind == "i"
    assert v.check_labels("y", np.array([1.0, 0.0]), 2).dtype == np.int64
    with pytest.raises(TypeError, match="y: expected integer class labels"):
        v.check_labels("y", [0.5, 1.0], 2)
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 3\), got maximum 3"):
        v.check_labels("y", [0, 3], 2, num_classes=3)
    with pytest.raises(ValueError, match="y: expected labels >= 0"):
        v.check_labels("y", [-1, 0], 2)
    with pytest.raises(ValueError, match=r"y: expected shape \(4,\)"):
        v.check_labels("y", [0, 1], 4)


@pytest.mark.parametrize(
    ("check", "value", "err", "msg"),
    [
        (v.check_positive, 0.0, ValueError, "lr: expected a value > 0, got 0.0"),
        (v.check_positive, "1", TypeError, "lr: expected a real number"),
        (v.check_positive, True, TypeError, "lr: expected a real number"),
        (v.check_positive, float("inf"), ValueError, "lr: expected a finite number"),
        (v.check_nonnegative, -1, ValueError, "lr: expected a value >= 0, got -1"),
        (v.check_probability, 1.5, ValueError, r"lr: expected a value in \[0, 1\], got 1.5"),
    ],
)
def test_scalar_checks(check, value, err, msg) -> None:
    with pytest.raises(err, match=msg):
        check("lr", value)


def test_scalar_checks_return_floats() -> None:
    assert v.check_positive("lr", 1) == 1.0
    assert v.check_probability("p", 1) == 1.0
    with pytest.raises(ValueError, match=r"p: expected a value in \[0, 1\), got 1"):
        v.check_probability("p", 1, closed_right=False)


def test_check_int_and_choice() -> None:
    assert v.check_int("n", np.int64(3), minimum=1) == 3
    with pytest.raises(TypeError, match="n: expected an integer, got float 2.0"):
        v.check_int("n", 2.0)
    with pytest.raises(ValueError, match="n: expected an integer >= 1, got 0"):
        v.check_int("n", 0, minimum=1)
    with pytest.raises(ValueError, match=r"mode: expected one of \['a', 'b'\], got 'c'"):
        v.check_choice("mode", "c", ["a", "b"])


def test_as_rng() -> None:
    g = np.random.default_rng(1)
    assert v.as_rng(g) is g
    a = v.as_rng(5).standard_normal(3)
    b = v.as_rng(5).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    assert isinstance(v.as_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng: expected a numpy Generator"):
        v.as_rng("seed")


def test_check_bool_and_float_dtype() -> None:
    from dlcourse._validate import check_bool, check_float_dtype

    assert check_bool("bias", True) is True
    with pytest.raises(TypeError, match="bias: expected a bool, got int"):
        check_bool("bias", 1)
    assert check_float_dtype("dtype", "float32") == np.float32
    assert check_float_dtype("dtype", np.float64) == np.float64
    with pytest.raises(TypeError, match="dtype: expected float32 or float64, got int64"):
        check_float_dtype("dtype", np.int64)
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        check_float_dtype("dtype", "no such dtype")
