"""Layers with explicit forward and backward passes (see ``dlcourse.nn.module``).

``MLP`` lives in ``dlcourse.models`` (a higher layer of the package) and is re-exported here
lazily, on first access, so that ``dlcourse.nn`` never imports ``dlcourse.models`` at load time.
"""

from typing import Any

from dlcourse.nn.activation import (
    ELU,
    GELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Swish,
    Tanh,
)
from dlcourse.nn.linear import Linear
from dlcourse.nn.module import Module, Parameter, Sequential
from dlcourse.nn.shape import Flatten

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "Linear",
    "Flatten",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softplus",
    "Swish",
    "GELU",
    "MLP",
]


def __getattr__(name: str) -> Any:
    if name == "MLP":
        from dlcourse.models.mlp import MLP

        return MLP
    raise AttributeError(f"module 'dlcourse.nn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"MLP"})
