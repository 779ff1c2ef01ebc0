"""The multilayer perceptron: ``Linear -> activation -> ... -> Linear``.

``MLP([D, H_1, ..., H_k, M])`` maps (N, D) inputs to (N, M) outputs (scores or logits; the
loss applies softmax/sigmoid), with an activation after every layer but the last.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._validate import as_rng, check_choice, check_int
from dlcourse.nn.activation import ACTIVATIONS
from dlcourse.nn.container import Sequential
from dlcourse.nn.linear import INITS, Linear
from dlcourse.nn.module import Module

__all__ = ["MLP"]


class MLP(Sequential):
    """Fully connected network ``Sequential(Linear, act, Linear, act, ..., Linear)``.

    Args:
        sizes: layer widths ``[D, H_1, ..., M]`` (at least two), giving ``len(sizes) - 1``
            Linear layers; ``Linear(sizes[i], sizes[i + 1])`` is child ``2 * i``.
        activation: a name of the registry ``dlcourse.nn.ACTIVATIONS`` or a Module class
            (built with no arguments).
        rng: Generator, seed or None; the same seed gives the same weights.
        dtype: float64 or float32.
        init: weight init for every Linear (see ``dlcourse.nn.linear.INITS``); default He
            ("kaiming_uniform") for ReLU-like activations, Xavier for sigmoid/tanh/softplus
            and He for a custom class.

    Shapes: x (N, D) -> out (N, M).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | type[Module] = "relu",
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
        init: str | None = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes: expected a sequence of ints, got {type(sizes).__name__}")
        if len(sizes) < 2:
            raise ValueError(f"sizes: expected at least 2 sizes [D, ..., M], got {list(sizes)}")
        widths = [check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes)]
        if isinstance(activation, str):
            check_choice("activation", activation, list(ACTIVATIONS))
            spec = ACTIVATIONS[activation]
            act_cls, default_init = spec.module, spec.init
        elif isinstance(activation, type) and issubclass(activation, Module):
            act_cls, default_init = activation, "kaiming_uniform"
        else:
            raise TypeError(
                f"activation: expected one of {list(ACTIVATIONS)} or a Module class, "
                f"got {activation!r}"
            )
        if init is None:
            init = default_init
        check_choice("init", init, INITS)
        rng = as_rng(rng)
        layers: list[Module] = []
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(Linear(d_in, d_out, rng=rng, dtype=dtype, init=init))
            if i < len(widths) - 2:
                layers.append(act_cls())
        super().__init__(*layers)
        self.sizes = widths
