"""LeNet-5 as in the notes' experiment (chapter 4), and its ReLU/BatchNorm variant.

The notes' model (d2l's ``LeNet``) takes Fashion-MNIST images (N, 1, 28, 28)::

    Conv2d(1, 6, 5) -> Sigmoid -> MaxPool2d(2)      (N, 6, 24, 24) -> (N, 6, 12, 12)
    Conv2d(6, 16, 5) -> Sigmoid -> MaxPool2d(2)     (N, 16, 8, 8)  -> (N, 16, 4, 4)
    Flatten                                         (N, 256)
    Linear(256, 120) -> Sigmoid -> Linear(120, 84) -> Sigmoid -> Linear(84, 10)

The original LeNet-5 of LeCun et al. (1998) (32×32 input, trainable subsampling, the C3
connection table, RBF outputs) is a different structure; this module is the experiment version.
"""

from __future__ import annotations

import numpy as np

from dlcourse._validate import as_rng, check_choice, check_int
from dlcourse.init import INITS
from dlcourse.nn.activation import ACTIVATIONS
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d
from dlcourse.nn.linear import Linear
from dlcourse.nn.module import Module
from dlcourse.nn.norm import BatchNorm1d, BatchNorm2d
from dlcourse.nn.pool import AvgPool2d, MaxPool2d
from dlcourse.nn.shape import Flatten

__all__ = ["LeNet5"]


class LeNet5(Sequential):
    """The notes' LeNet-5 for (N, C, 28, 28) images, as one flat ``Sequential``.

    Default children (``activation="sigmoid"``, ``batch_norm=False``, ``pool="max"``)::

        0 Conv2d(in_channels, 6, 5)  1 Sigmoid  2 MaxPool2d(2)
        3 Conv2d(6, 16, 5)           4 Sigmoid  5 MaxPool2d(2)
        6 Flatten
        7 Linear(256, 120)  8 Sigmoid  9 Linear(120, 84)  10 Sigmoid  11 Linear(84, num_classes)

    With ``batch_norm=True`` a ``BatchNorm2d`` follows each convolution and a ``BatchNorm1d``
    each hidden ``Linear``, before the activation (d2l's "LeNet with batch normalisation");
    ``LeNet5(activation="relu", batch_norm=True)`` is the chapter's better variant.

    Args:
        activation: a name of the registry ``dlcourse.nn.ACTIVATIONS`` ("sigmoid" as the notes,
            "relu", ...); one fresh module per place.
        batch_norm: insert BatchNorm2d / BatchNorm1d before every hidden activation.
        pool: "max" (the notes) or "avg" (the 1998 paper's subsampling is an average).
        in_channels: input channels (1 for (Fashion-)MNIST).
        num_classes: outputs (logits).
        image_size: input height = width; 28 gives the notes' 16·4·4 = 256 flattened features
            (32 gives 16·5·5 = 400, the original's C5 input).
        rng: Generator, seed or None; the same seed gives the same weights.
        dtype: float64 or float32.
        init: weight init of every conv/Linear (``dlcourse.init.INITS``); default the
            activation's (Xavier for sigmoid/tanh, He for ReLU-like).

    Shapes: x (N, in_channels, image_size, image_size) -> logits (N, num_classes).
    """

    def __init__(
        self,
        activation: str = "sigmoid",
        batch_norm: bool = False,
        pool: str = "max",
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
        init: str | None = None,
    ) -> None:
        if not isinstance(activation, str):
            raise TypeError(
                f"activation: expected one of {list(ACTIVATIONS)}, got {type(activation).__name__}"
            )
        check_choice("activation", activation, list(ACTIVATIONS))
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm: expected a bool, got {type(batch_norm).__name__}")
        check_choice("pool", pool, ("max", "avg"))
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        image_size = check_int("image_size", image_size, minimum=1)
        side = ((image_size - 4) // 2 - 4) // 2  # two (conv 5, pool 2) stages, floors as PyTorch
        if image_size < 16 or side < 1:
            raise ValueError(
                f"image_size: expected at least 16 (two 5×5 convolutions and 2×2 poolings), "
                f"got {image_size}"
            )
        spec = ACTIVATIONS[activation]
        if init is None:
            init = spec.init
        check_choice("init", init, INITS)
        rng = as_rng(rng)
        pool_cls = MaxPool2d if pool == "max" else AvgPool2d

        def act() -> Module:
            return spec.module(**spec.params)

        layers: list[Module] = []
        for c_in, c_out in ((in_channels, 6), (6, 16)):
            layers.append(Conv2d(c_in, c_out, 5, rng=rng, dtype=dtype, init=init))
            if batch_norm:
                layers.append(BatchNorm2d(c_out, dtype=dtype))
            layers += [act(), pool_cls(2)]
        layers.append(Flatten())
        widths = [16 * side * side, 120, 84]
        for d_in, d_out in zip(widths[:-1], widths[1:], strict=True):
            layers.append(Linear(d_in, d_out, rng=rng, dtype=dtype, init=init))
            if batch_norm:
                layers.append(BatchNorm1d(d_out, dtype=dtype))
            layers.append(act())
        layers.append(Linear(widths[-1], num_classes, rng=rng, dtype=dtype, init=init))
        super().__init__(*layers)
        self.activation = activation
        self.batch_norm = batch_norm
        self.pool = pool
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.image_size = image_size
        self.flat_features = widths[0]

    def extra_repr(self) -> str:
        return (
            f"activation={self.activation!r}, batch_norm={self.batch_norm}, pool={self.pool!r}, "
            f"image_size={self.image_size}"
        )
