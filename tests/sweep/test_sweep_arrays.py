"""Bad arrays for every public callable that takes one: wrong rank, wrong size, wrong dtype,
Python lists, an empty batch, NaN and infinity, labels out of range (issue 15, part 4).

Each input must raise ValueError/TypeError naming the argument and the actual shape, dtype or
value, or be accepted with the result of the same call on a proper float array.
"""

from __future__ import annotations

import numpy as np
import pytest
from _sweep_cases import ARRAY_CASES, ArrayCase
from _sweep_checks import (
    SWEEP,
    Accepted,
    assert_clear,
    expect_clear,
    expect_clear_or_same,
    has_nonfinite,
    outcome,
    same,
)
from hypothesis import given
from hypothesis import strategies as st

#: (test, case) -> why it fails today; the owner of the file fixes it (see the report).
XFAIL: dict[tuple[str, str], str] = {}  # (test, case) -> why it still fails


def _params(test: str, keep: object = None) -> list[object]:
    out = []
    for name, case in ARRAY_CASES.items():
        if keep is not None and not keep(case):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[test, name])] if (
            test, name) in XFAIL else []
        out.append(pytest.param(case, id=name, marks=marks))
    return out


def _wrong_ranks(case: ArrayCase) -> list[int]:
    ok = case.ranks or (len(case.shape),)
    return [r for r in range(6) if r not in ok]


def _reshape_to_rank(shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """Keep the batch axis and the trailing axis; add axes of size 2 or drop middle ones."""
    shape = list(shape)
    while len(shape) > rank:
        shape.pop(1 if len(shape) > 2 else (-1 if len(shape) == 1 else 0))
    while len(shape) < rank:
        shape.insert(1 if shape else 0, 2)
    return tuple(shape)


@pytest.mark.parametrize("case", _params("rank", lambda c: c.elementwise or _wrong_ranks(c)))
@given(data=st.data())
@SWEEP
def test_wrong_rank(case: ArrayCase, data: st.DataObject) -> None:
    if case.elementwise:  # any rank: the result is the element-wise one, in x's shape
        shape = data.draw(st.lists(st.integers(1, 3), max_size=4).map(tuple), label="shape")
        x = case.valid((int(np.prod(shape)),))
        got = case.call(x.reshape(shape), 2)
        assert same(got, case.call(x, 2).reshape(shape))
        return
    rank = data.draw(st.sampled_from(_wrong_ranks(case)), label="rank")
    shape = _reshape_to_rank(case.shape, rank)
    expect_clear(lambda: case.call(case.valid(shape), case.shape[0] if case.shape else 1),
                 case.arg, shape, f"{rank}-D")


@pytest.mark.parametrize("case", _params("size", lambda c: c.fixed and min(
    c.shape[a] for a in c.fixed) > (2 if c.grow_ok else 0)))
@given(data=st.data())
@SWEEP
def test_wrong_size(case: ArrayCase, data: st.DataObject) -> None:
    axis = data.draw(st.sampled_from(case.fixed), label="axis")
    good = case.shape[axis]
    top = good - 1 if case.grow_ok else 7  # more classes than the labels use are valid
    size = data.draw(st.integers(1, top).filter(lambda s: s != good), label="size")
    shape = list(case.shape)
    shape[axis] = size
    shape = tuple(shape)
    expect_clear(lambda: case.call(case.valid(shape), case.shape[0]), case.arg, shape,
                 others=case.others if case.grow_ok else ())  # labels >= C: names y


def _int_values(case: ArrayCase, dtype: np.dtype, seed: int) -> np.ndarray:
    lo, hi = case.ints
    if dtype == np.bool_:
        lo, hi = max(lo, 0), min(hi, 1)
    if case.kind == "labels":
        lo, hi = 0, case.classes - 1
    values = np.random.default_rng(seed).integers(lo, hi + 1, size=case.shape)
    if case.make is not None and case.kind != "labels":
        base = case.valid()  # keep a structured valid input (probabilities, one-hot rows)
        values = np.clip(np.round(base), lo, hi).astype(np.int64)
    return values.astype(dtype)


@pytest.mark.parametrize("case", _params("dtype"))
@given(dtype=st.sampled_from([np.int64, np.int32, np.int16, np.bool_]), seed=st.integers(0, 9))
@SWEEP
def test_int_and_bool_arrays(case: ArrayCase, dtype: type, seed: int) -> None:
    x = _int_values(case, np.dtype(dtype), seed)
    n = case.shape[0] if case.shape else 1
    if case.kind == "labels":  # integer labels of any width; bool labels: same as 0/1 or refused
        ref = x.astype(np.int64)
    else:
        ref = x.astype(np.float64)
    expect_clear_or_same(lambda: case.call(x, n), lambda: case.call(ref, n), case.arg,
                         x.dtype)


@pytest.mark.parametrize("case", _params("object"))
@given(kind=st.sampled_from(["object", "str", "nested"]))
@SWEEP
def test_object_and_string_arrays(case: ArrayCase, kind: str) -> None:
    x = case.valid()
    n = case.shape[0] if case.shape else 1
    if kind == "object":  # numbers in an object array: refused, or the same as the float call
        expect_clear_or_same(lambda: case.call(x.astype(object), n), lambda: case.call(x, n),
                             case.arg, np.dtype(object))
    elif kind == "str":
        bad = np.full(case.shape, "a")
        expect_clear(lambda: case.call(bad, n), case.arg, bad.dtype, "str")
    else:  # a ragged list is no array at all
        ragged = [[1.0, 2.0], [3.0]]
        expect_clear(lambda: case.call(ragged, n), case.arg, "list", "object", "inhomogeneous",
                     "(1,)")  # or the shape of the short row


@pytest.mark.parametrize("case", _params("list"))
@given(seed=st.integers(0, 9))
@SWEEP
def test_python_lists(case: ArrayCase, seed: int) -> None:
    x = case.valid()
    if case.kind == "float" and case.make is None:
        x = np.random.default_rng(seed).standard_normal(case.shape)
    n = case.shape[0] if case.shape else 1
    expect_clear_or_same(lambda: case.call(x.tolist(), n), lambda: case.call(x, n), case.arg,
                         "list")


@pytest.mark.parametrize("case", _params("empty", lambda c: c.batch and c.shape))
@given(data=st.data())
@SWEEP
def test_empty_batch(case: ArrayCase, data: st.DataObject) -> None:
    empty = (0, *case.shape[1:])
    got = outcome(lambda: case.call(case.valid(empty), 0))
    if isinstance(got, Accepted):
        ref = case.call(case.valid(), case.shape[0])
        value = got.value
        if isinstance(value, list):  # DataLoader batches: none
            assert value == []
            return
        assert isinstance(value, np.ndarray), (
            f"an empty batch gave {type(value).__name__} {value!r}, not a clear ValueError")
        assert value.shape == (0, *np.shape(ref)[1:])
    else:
        assert isinstance(got, ValueError), got
        assert_clear(got, case.arg, empty, "N", "0", others=case.others)


@pytest.mark.parametrize("case", _params("nonfinite"))
@given(data=st.data())
@SWEEP
def test_nan_and_inf(case: ArrayCase, data: st.DataObject) -> None:
    value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]), label="value")
    x = case.valid().astype(np.float64)
    flat = data.draw(st.integers(0, x.size - 1), label="position")
    bad = x.copy()
    bad.flat[flat] = value
    n = case.shape[0] if case.shape else 1
    got = outcome(lambda: case.call(bad, n))
    if not isinstance(got, Accepted):
        assert_clear(got, case.arg, "nan", "NaN", "inf", "finite", *(
            ["float64", "integer"] if case.kind == "labels" else []))
        return
    assert case.kind != "labels", f"{case.arg}: a label {value} was accepted"
    if case.elementwise:  # the other entries are unchanged, the bad one stays non-finite
        ref = np.asarray(case.call(x, n), dtype=float)
        out = np.asarray(got.value, dtype=float)
        keep = np.ones(x.shape, bool)
        keep.flat[flat] = False
        assert same(out[keep], ref[keep])
        if np.isnan(value):
            assert np.isnan(out.flat[flat])
    elif np.isnan(value):
        assert has_nonfinite(got.value), f"{case.arg}: a NaN input vanished from the result"


@pytest.mark.parametrize("case", _params("labels",
                                         lambda c: c.kind == "labels" and c.range_checked))
@given(data=st.data())
@SWEEP
def test_labels_out_of_range(case: ArrayCase, data: st.DataObject) -> None:
    label = data.draw(st.one_of(st.integers(-5, -1), st.integers(case.classes, case.classes + 5)),
                      label="label")
    y = case.valid().copy()
    y.flat[data.draw(st.integers(0, y.size - 1), label="position")] = label
    n = case.shape[0] if case.shape else 1
    expect_clear(lambda: case.call(y, n), case.arg, label)
