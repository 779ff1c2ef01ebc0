"""Bad scalar arguments for every public constructor and function: sizes that are negative,
zero or not integers, negative learning rates, momentum and probabilities outside their
interval, NaN, strings, wrong dtypes and generators (issue 15, part 4).

Each must raise ValueError/TypeError naming the argument and showing the value given.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _sweep_arg_cases import ARG_CASES, BAD_CHOICES
from _sweep_cases import ArgCase
from _sweep_checks import SWEEP, expect_clear
from hypothesis import given
from hypothesis import strategies as st

_NONFINITE = st.sampled_from([math.nan, math.inf, -math.inf])
_NOT_INT = st.floats(-10, 10).filter(lambda v: v != int(v)) | st.sampled_from([2.0, "3", True])

#: kind -> a strategy of bad values for it.
BAD: dict[str, st.SearchStrategy[object]] = {
    "size": st.integers(-10, 0) | _NOT_INT,
    "count": st.integers(-10, -1) | _NOT_INT,
    "int": st.floats(-3, 3).filter(lambda v: v != int(v)) | st.sampled_from(["1", None]),
    "positive": st.floats(max_value=0.0, allow_nan=False, allow_infinity=False) | _NONFINITE
    | st.sampled_from(["0.1", True]),
    "nonneg": st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False) | _NONFINITE
    | st.sampled_from(["0.1", True]),
    "prob": st.floats(max_value=-1e-9, allow_infinity=False)
    | st.floats(min_value=1 + 1e-9, allow_infinity=False) | _NONFINITE | st.just("0.5"),
    "prob_open": st.floats(max_value=-1e-9, allow_infinity=False)
    | st.floats(min_value=1.0, allow_infinity=False) | _NONFINITE | st.just("0.5"),
    "norm": st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)  # inf: max norm
    | st.sampled_from([math.nan, -math.inf, "2"]),
    "real": _NONFINITE | st.sampled_from(["1.0", None, [1.0]]),
    "bool": st.sampled_from([0, 1, "yes", 1.0]),
    "rng": st.sampled_from(["seed", 1.5, True, np.random.RandomState(0)]),
    "dtype": st.sampled_from([np.int64, "int32", np.float16, object, "abc", np.complex128]),
    "choice": st.sampled_from([*BAD_CHOICES, 3]),
    "axis": st.sampled_from([2, -3, 1.0, "1"]),
    "shape": st.sampled_from([(3, -2), (2.5, 3), "ab", (True, 2), -3, (3, None)]),
    "params": st.sampled_from([np.ones(3), [np.ones(3)], [], None, 5, "p"]),
    "param_items": st.sampled_from([np.ones(3), [np.ones(3)], None, 5, "p"]),
    "module": st.sampled_from([3, "relu", None]),
    "betas": st.sampled_from([(1.0, 0.999), (0.9, -0.1), (0.9,), 0.9, (math.nan, 0.9)]),
}

#: (name, argument) -> why it fails today; the owner of the file fixes it (see the report).
XFAIL: dict[tuple[str, str], str] = {}  # (callable, argument) -> why it still fails


def _params() -> list[object]:
    out = []
    for name, case in ARG_CASES.items():
        for arg, kind in case.kinds.items():
            marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name, arg])] if (
                name, arg) in XFAIL else []
            out.append(pytest.param(case, arg, kind, id=f"{name}:{arg}", marks=marks))
    return out


def test_every_kind_has_bad_values() -> None:
    kinds = {kind for case in ARG_CASES.values() for kind in case.kinds.values()}
    assert kinds <= BAD.keys(), kinds - BAD.keys()


def test_valid_arguments_are_accepted() -> None:
    """The valid values themselves work, so a failure below is about the bad value."""
    for name, case in ARG_CASES.items():
        try:
            case.call(**case.valid)
        except Exception as err:  # pragma: no cover - names the broken entry
            pytest.fail(f"{name}({case.valid}) raised {err!r}")


@pytest.mark.parametrize(("case", "arg", "kind"), _params())
@given(data=st.data())
@SWEEP
def test_bad_argument(case: ArgCase, arg: str, kind: str, data: st.DataObject) -> None:
    bad = data.draw(BAD[kind], label=arg)
    expect_clear(lambda: case.call(**{**case.valid, arg: bad}), case.names.get(arg, arg), bad)
