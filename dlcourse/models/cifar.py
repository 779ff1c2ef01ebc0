"""The chapter's CIFAR-10 network (outline lesson 3): a small VGG-style CNN sized for 2 CPU cores.

Five 3×3 convolutions, each followed by batch normalisation and ReLU; a 2×2 max pooling
after the second, third and fourth halves the map (32 → 16 → 8 → 4); a 4×4 max pooling and a
linear layer give the ten logits::

    conv(3→w0) · conv(w0→w1) pool · conv(w1→w2) pool · conv(w2→w3) pool · conv(w3→w3)
    · maxpool 4 · Flatten · Linear(w3 → 10)

The convolutions have no bias: the batch normalisation after each subtracts the batch mean, so
a bias would cancel (the chapter's section on BatchNorm). With the default widths
(32, 64, 128, 256) the network has about 0.98 M parameters and needs about 67 M
multiply-adds per 32×32 image; ``benchmarks/cifar10_cnn.py`` trains it (its record gives the
accuracy and the wall time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._validate import as_rng, check_int
from dlcourse.nn.activation import ReLU
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d
from dlcourse.nn.linear import Linear
from dlcourse.nn.module import Module
from dlcourse.nn.norm import BatchNorm2d
from dlcourse.nn.pool import MaxPool2d
from dlcourse.nn.shape import Flatten

__all__ = ["CifarNet"]


class CifarNet(Sequential):
    """The CIFAR-10 CNN of chapter 4 (see the module docstring for the layers).

    Args:
        widths: four channel counts (w0, w1, w2, w3), each >= 1.
        in_channels: 3 for RGB.
        num_classes: number of logits.
        rng: Generator, seed or None for the weights (He initialisation for the ReLUs).
        dtype: float32 (training) or float64 (gradient checks).

    Shapes: x (N, in_channels, 32, 32) -> logits (N, num_classes). Other sizes divisible by 32
    work too (the last pooling then sees a larger map and takes its 4×4 windows).
    """

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128, 256),
        in_channels: int = 3,
        num_classes: int = 10,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        widths = tuple(widths)
        if len(widths) != 4:
            raise ValueError(f"widths: expected four channel counts, got {widths!r}")
        w = [check_int(f"widths[{i}]", v, minimum=1) for i, v in enumerate(widths)]
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        rng = as_rng(rng)

        def unit(c_in: int, c_out: int, pool: bool) -> list[Module]:
            layers: list[Module] = [
                Conv2d(c_in, c_out, 3, padding=1, bias=False, rng=rng, dtype=dtype),
                BatchNorm2d(c_out, dtype=dtype),
                ReLU(),
            ]
            return layers + [MaxPool2d(2)] if pool else layers

        super().__init__(
            *unit(in_channels, w[0], False),
            *unit(w[0], w[1], True),
            *unit(w[1], w[2], True),
            *unit(w[2], w[3], True),
            *unit(w[3], w[3], False),
            MaxPool2d(4),
            Flatten(),
            Linear(w[3], num_classes, rng=rng, dtype=dtype),
        )
        self.widths = tuple(w)
        self.num_classes = num_classes

    def extra_repr(self) -> str:
        return f"widths={self.widths}, num_classes={self.num_classes}"
