"""Residual networks (chapter 4, He et al. 2016): the residual block and a small CIFAR ResNet.

A residual unit lets a nonlinear branch f(x; θ) fit the residual h(x) − x of the target h and
outputs ReLU(x + f(x; θ)) (the notes' Eq. (5.60) and figure 5.18). The input x feeds both the
branch and the shortcut, so its gradient is the sum of the two branches' input gradients.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._validate import as_float_array, as_rng, check_int
from dlcourse.nn.activation import ReLU
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d
from dlcourse.nn.grad_mode import backward_of
from dlcourse.nn.linear import Linear
from dlcourse.nn.module import Module
from dlcourse.nn.norm import BatchNorm2d
from dlcourse.nn.shape import Flatten
from dlcourse.nn.upsample import AdaptiveAvgPool2d

__all__ = ["ResidualBlock", "ResNet"]


class ResidualBlock(Module):
    """``out = ReLU(f(x) + shortcut(x))`` with f = conv3×3 → BN → ReLU → conv3×3 → BN.

    ``f`` is ``self.body`` (a ``Sequential``; its first convolution has the block's stride).
    The shortcut is the identity when the shapes agree (``stride == 1`` and
    ``in_channels == out_channels``, ``self.shortcut is None``), otherwise a 1×1 projection
    ``self.shortcut = Sequential(Conv2d(in, out, 1, stride, bias=False), BatchNorm2d(out))``.
    ``projection=True`` forces the projection even when the shapes agree.

    Args:
        in_channels, out_channels: channels of x and of the output.
        stride: stride of the first 3×3 convolution (and of the projection); 2 halves H and W.
        projection: None (project only when the shapes differ), True or False (False with
            different shapes is an error).
        rng: Generator, seed or None for the weights.
        dtype: float64 or float32.

    Shapes: x (N, in_channels, H, W) -> (N, out_channels, ⌊(H − 1)/stride⌋ + 1,
    ⌊(W − 1)/stride⌋ + 1).

    Backward: d = ReLU'·dout; dx = body.backward(d) + shortcut.backward(d) (or + d for the
    identity). Each submodule pops its own cache, so a block called several times in one
    forward pass is differentiated in the reverse order of its calls, as every module is.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        projection: bool | None = None,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        self.stride = check_int("stride", stride, minimum=1)
        if projection is not None and not isinstance(projection, bool):
            raise TypeError(f"projection: expected None or a bool, got {projection!r}")
        shapes_differ = self.stride != 1 or self.in_channels != self.out_channels
        if projection is False and shapes_differ:
            raise ValueError(
                f"projection: expected None or True when the shapes differ (in_channels "
                f"{in_channels}, out_channels {out_channels}, stride {stride}), got False"
            )
        rng = as_rng(rng)
        c_in, c_out = self.in_channels, self.out_channels
        self.body = Sequential(
            Conv2d(c_in, c_out, 3, stride=self.stride, padding=1, bias=False, rng=rng, dtype=dtype),
            BatchNorm2d(c_out, dtype=dtype),
            ReLU(),
            Conv2d(c_out, c_out, 3, padding=1, bias=False, rng=rng, dtype=dtype),
            BatchNorm2d(c_out, dtype=dtype),
        )
        if projection or (projection is None and shapes_differ):
            self.shortcut: Sequential | None = Sequential(
                Conv2d(c_in, c_out, 1, stride=self.stride, bias=False, rng=rng, dtype=dtype),
                BatchNorm2d(c_out, dtype=dtype),
            )
        else:
            self.shortcut = None
        self.relu = ReLU()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (N, in_channels, H, W) -> (N, out_channels, H', W'), the dtype of x."""
        x = as_float_array("x", x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x: expected shape (N, {self.in_channels}, H, W), got {x.shape}")
        residual = self.body(x)
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.relu(residual + skip)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout (N, out_channels, H', W') -> dx (N, in_channels, H, W), the sum of the branch's
        and the shortcut's input gradients (None if not ``need_dx``; the parameter gradients
        of both branches are accumulated either way)."""
        d = self.relu.backward(dout)
        dx_body = backward_of(self.body, d, need_dx)
        if self.shortcut is None:
            return dx_body + d if need_dx else None
        dx_skip = backward_of(self.shortcut, d, need_dx)
        return dx_body + dx_skip if need_dx else None

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class ResNet(Sequential):
    """A small ResNet for CIFAR-sized images (N, 3, 32, 32), as one ``Sequential``.

    Children: ``0`` stem ``Conv2d(in_channels, channels[0], 3, padding=1, bias=False)``,
    ``1`` ``BatchNorm2d``, ``2`` ``ReLU``; then for every stage s, ``blocks_per_stage``
    ``ResidualBlock``s to ``channels[s]`` (the first of a stage s > 0 has stride 2); then
    ``AdaptiveAvgPool2d(1)``, ``Flatten`` and ``Linear(channels[-1], num_classes)``.
    The default (16, 32, 64) with one block per stage is an 8-layer network (1 + 6 convs + 1 FC)
    of 32×32 → 16×16 → 8×8 feature maps, in the spirit of He et al. (2016)'s CIFAR ResNets.

    Args:
        channels: channels per stage (at least one stage).
        blocks_per_stage: residual blocks per stage (>= 1).
        in_channels: input channels (3 for CIFAR-10).
        num_classes: outputs (logits).
        rng: Generator, seed or None; the same seed gives the same weights.
        dtype: float64 or float32.

    Shapes: x (N, in_channels, H, W) -> logits (N, num_classes) (any H, W >= 1 thanks to the
    global average pooling).
    """

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int = 1,
        in_channels: int = 3,
        num_classes: int = 10,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
            raise TypeError(f"channels: expected a sequence of ints, got {type(channels).__name__}")
        if len(channels) < 1:
            raise ValueError(f"channels: expected at least one stage, got {list(channels)}")
        widths = [check_int(f"channels[{i}]", c, minimum=1) for i, c in enumerate(channels)]
        blocks_per_stage = check_int("blocks_per_stage", blocks_per_stage, minimum=1)
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        rng = as_rng(rng)
        layers: list[Module] = [
            Conv2d(in_channels, widths[0], 3, padding=1, bias=False, rng=rng, dtype=dtype),
            BatchNorm2d(widths[0], dtype=dtype),
            ReLU(),
        ]
        c_prev = widths[0]
        for s, c in enumerate(widths):
            for b in range(blocks_per_stage):
                stride = 2 if s > 0 and b == 0 else 1
                layers.append(ResidualBlock(c_prev, c, stride=stride, rng=rng, dtype=dtype))
                c_prev = c
        layers += [
            AdaptiveAvgPool2d(1),
            Flatten(),
            Linear(c_prev, num_classes, rng=rng, dtype=dtype),
        ]
        super().__init__(*layers)
        self.channels = widths
        self.blocks_per_stage = blocks_per_stage
        self.in_channels = in_channels
        self.num_classes = num_classes

    def extra_repr(self) -> str:
        return f"channels={self.channels}, blocks_per_stage={self.blocks_per_stage}"
