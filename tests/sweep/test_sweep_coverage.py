"""Every public callable of the swept modules has a sweep entry or a reasoned exclusion.

The list is generated from each module's ``__all__``, so a new layer, loss or optimiser is
swept as soon as it has an entry in ``tests/sweep/_sweep_cases.py`` — and this test fails
until it has one.
"""

from __future__ import annotations

import importlib
import inspect

from _sweep_arg_cases import ARG_CASES, EXCLUDED
from _sweep_cases import ARRAY_CASES, SWEPT_MODULES


def public_callables() -> set[str]:
    names = set()
    for module_name in SWEPT_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) or inspect.ismodule(obj):
                names.add(f"{module_name}.{name}")
    return names


def _base(key: str) -> str:
    return key.split("[", 1)[0]


def test_every_public_callable_is_swept_or_excluded() -> None:
    swept = {_base(k) for k in ARRAY_CASES} | {_base(k) for k in ARG_CASES}
    missing = sorted(public_callables() - swept - EXCLUDED.keys())
    assert not missing, f"public callables without a sweep entry or an exclusion: {missing}"


def test_no_stale_entries() -> None:
    public = public_callables()
    stale = sorted(({_base(k) for k in ARRAY_CASES} | set(ARG_CASES) | EXCLUDED.keys())
                   - public)
    assert not stale, f"sweep entries for names that are not public: {stale}"


def test_excluded_names_are_not_also_swept() -> None:
    swept = {_base(k) for k in ARRAY_CASES} | set(ARG_CASES)
    assert not swept & EXCLUDED.keys()
    assert all(len(reason) > 10 for reason in EXCLUDED.values())
