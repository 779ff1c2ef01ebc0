"""dlcourse: every algorithm of the course, from scratch, in numpy.

Submodules (see ARCHITECTURE.md for the full map) are imported on first use, so
``import dlcourse as dl; dl.nn.Linear(3, 2)`` works without importing everything up front:

- ``functional``, ``init``, ``gradcheck``: pure functions on arrays
- ``autograd``: the scalar reverse-mode autodiff of the computational-graph chapter
- ``nn``, ``models``: layers with explicit forward/backward, and the course's networks
- ``losses``, ``optim``, ``metrics``, ``train``: learning
- ``data``: datasets (download + checksum + cache) and ``DataLoader``
- ``grading``: the exercise grader behind the ``dlcourse grade`` command
- ``plot``: the book's figures (needs matplotlib, ``pip install dlcourse[plot]``)
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

_SUBMODULES = frozenset(
    {
        "autograd",
        "config",
        "data",
        "functional",
        "gradcheck",
        "grading",
        "init",
        "losses",
        "metrics",
        "models",
        "nn",
        "optim",
        "plot",
        "train",
        "widgets",
    }
)


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        return importlib.import_module(f"dlcourse.{name}")
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
