"""AlexNet (Krizhevsky, Sutskever and Hinton 2012) three ways (chapter 4, "典型的卷积神经网络").

1. :class:`AlexNet`: a small AlexNet for 28×28 or 32×32 images that trains on two CPU cores —
   5 convolutions, 3 max-poolings, 3 fully connected layers, ReLU, dropout, and local response
   normalisation after conv1 and conv2, *before* their pooling, as in the paper (the notes say
   "在前两个汇聚层之后").
2. :data:`NOTES_CONFIG`: the notes' PyTorch configuration for Fashion-MNIST resized to 224×224
   (Conv(1, 96, 11, 4) … 6400 → 4096 → 4096 → 10, dropout 0.5). The notes' code omits the third
   max-pooling, without which conv5's 256×12×12 output would not flatten to 6400 (勘误); it is
   included here, as in their printed model. :func:`shape_table` computes every shape.
3. :data:`ORIGINAL_LAYERS`: the paper's network, split over two GPUs (48 + 48 kernels in conv1 …
   128 + 128 in conv5; conv3 and the FC layers read both halves). With the notes' input 224 and
   padding 3, conv1's size is (224 + 2·3 − 11)/4 + 1 = 55.75, not an integer (勘误): the
   floor gives 55 and leaves 3 padded columns unused; a 227×227 input without padding gives
   exactly 55.

Shapes use out = ⌊(H − k + 2p)/s⌋ + 1; parameters of a convolution are F·(C/g·kh·kw + 1) with g
groups (g = 2: each GPU's kernels see only that GPU's maps).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from dlcourse._validate import as_rng, check_int, check_probability
from dlcourse.nn.activation import ReLU
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d
from dlcourse.nn.dropout import Dropout
from dlcourse.nn.linear import Linear
from dlcourse.nn.lrn import LocalResponseNorm
from dlcourse.nn.module import Module
from dlcourse.nn.pool import MaxPool2d
from dlcourse.nn.shape import Flatten

__all__ = ["AlexNet", "LayerSpec", "NOTES_CONFIG", "ORIGINAL_LAYERS", "ShapeRow",
           "shape_table", "n_parameters"]


class AlexNet(Sequential):
    """A small AlexNet for (N, C, 28, 28) or (N, C, 32, 32) images, as one ``Sequential``.

    Children (c = ``channels``, h = ``hidden``)::

        Conv2d(C, c1, 5, padding=2)  ReLU  LRN  MaxPool2d(3, 2)     28 -> 28 -> 13
        Conv2d(c1, c2, 3, padding=1) ReLU  LRN  MaxPool2d(3, 2)     13 -> 13 -> 6
        Conv2d(c2, c3, 3, padding=1) ReLU
        Conv2d(c3, c4, 3, padding=1) ReLU
        Conv2d(c4, c5, 3, padding=1) ReLU  MaxPool2d(3, 2)          6 -> 6 -> 2
        Flatten  Linear(c5·s·s, h) ReLU Dropout(p)  Linear(h, h) ReLU Dropout(p)  Linear(h, K)

    (32×32 inputs: 32 -> 15 -> 7 -> 3.) LRN is ``LocalResponseNorm(5, alpha=5e-4, beta=0.75,
    k=2)``: the paper's n = 5, α = 10⁻⁴ (on the sum of squares), β = 0.75, k = 2, written in
    PyTorch's convention, which divides α by n. ``lrn=False`` drops both LRN layers.

    Args:
        in_channels: input channels (1 for Fashion-MNIST, 3 for CIFAR-10).
        num_classes: outputs (logits).
        image_size: input height = width (at least 15, so that three poolings leave 1×1).
        channels: the five convolutions' output channels (the paper: 96, 256, 384, 384, 256).
        hidden: width of the two hidden FC layers (the paper: 4096).
        dropout: drop probability of the two hidden FC layers (the paper: 0.5).
        lrn: include the two LRN layers.
        rng: Generator, seed or None; the weights and the dropout masks draw from it.
        dtype: float64 or float32.

    Shapes: x (N, in_channels, image_size, image_size) -> logits (N, num_classes).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: tuple[int, int, int, int, int] = (32, 64, 96, 96, 64),
        hidden: int = 256,
        dropout: float = 0.5,
        lrn: bool = True,
        rng: np.random.Generator | int | None = None,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        in_channels = check_int("in_channels", in_channels, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=1)
        image_size = check_int("image_size", image_size, minimum=1)
        if isinstance(channels, (str, bytes)) or len(channels) != 5:
            raise ValueError(f"channels: expected 5 ints (one per convolution), got {channels!r}")
        c = [check_int(f"channels[{i}]", v, minimum=1) for i, v in enumerate(channels)]
        hidden = check_int("hidden", hidden, minimum=1)
        p = check_probability("dropout", dropout, closed_right=False)
        if not isinstance(lrn, bool):
            raise TypeError(f"lrn: expected a bool, got {type(lrn).__name__}")
        side = image_size
        for _ in range(3):
            side = (side - 3) // 2 + 1
        if image_size < 15 or side < 1:
            raise ValueError(f"image_size: expected at least 15 (three 3×3 stride-2 poolings), "
                             f"got {image_size}")
        rng = as_rng(rng)

        def conv(c_in: int, c_out: int, k: int) -> Conv2d:
            return Conv2d(c_in, c_out, k, padding=k // 2, rng=rng, dtype=dtype)

        def norm() -> list[Module]:
            return [LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)] if lrn else []

        layers: list[Module] = [
            conv(in_channels, c[0], 5), ReLU(), *norm(), MaxPool2d(3, 2),
            conv(c[0], c[1], 3), ReLU(), *norm(), MaxPool2d(3, 2),
            conv(c[1], c[2], 3), ReLU(),
            conv(c[2], c[3], 3), ReLU(),
            conv(c[3], c[4], 3), ReLU(), MaxPool2d(3, 2),
            Flatten(),
            Linear(c[4] * side * side, hidden, rng=rng, dtype=dtype), ReLU(), Dropout(p, rng=rng),
            Linear(hidden, hidden, rng=rng, dtype=dtype), ReLU(), Dropout(p, rng=rng),
            Linear(hidden, num_classes, rng=rng, dtype=dtype),
        ]
        super().__init__(*layers)
        self.in_channels, self.num_classes, self.image_size = in_channels, num_classes, image_size
        self.channels, self.hidden, self.dropout, self.lrn = tuple(c), hidden, p, lrn
        self.flat_features = c[4] * side * side

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, hidden={self.hidden}, dropout={self.dropout}, "
                f"lrn={self.lrn}, image_size={self.image_size}")


# --------------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a configuration table.

    kind: "conv", "maxpool", "fc" (activations, dropout and LRN change no shape and are
    listed in ``note``). For "conv": ``out`` channels, kernel ``k``, ``stride``, ``padding``,
    ``groups`` (2: split over two GPUs). For "maxpool": ``k``, ``stride``. For "fc": ``out``
    features. ``stated``: the output shape the source prints, (C, H, W) or (D,), if any.
    """

    name: str
    kind: str
    out: int = 0
    k: int = 0
    stride: int = 1
    padding: int = 0
    groups: int = 1
    note: str = ""
    stated: tuple[int, ...] | None = None


#: The notes' AlexNet for Fashion-MNIST at 224×224 (batch 128, Adam lr 1e-3, 5 epochs).
NOTES_CONFIG: tuple[LayerSpec, ...] = (
    LayerSpec("conv1", "conv", 96, 11, 4, note="ReLU"),
    LayerSpec("pool1", "maxpool", k=3, stride=2),
    LayerSpec("conv2", "conv", 256, 5, 1, 2, note="ReLU"),
    LayerSpec("pool2", "maxpool", k=3, stride=2),
    LayerSpec("conv3", "conv", 384, 3, 1, 1, note="ReLU"),
    LayerSpec("conv4", "conv", 384, 3, 1, 1, note="ReLU"),
    LayerSpec("conv5", "conv", 256, 3, 1, 1, note="ReLU"),
    LayerSpec("pool3", "maxpool", k=3, stride=2, note="missing in the notes' code (勘误)",
              stated=(256, 5, 5)),
    LayerSpec("fc6", "fc", 4096, note="ReLU, Dropout(0.5)", stated=(6400,)),
    LayerSpec("fc7", "fc", 4096, note="ReLU, Dropout(0.5)"),
    LayerSpec("fc8", "fc", 10),
)

#: Krizhevsky et al. (2012) as the notes describe it: 224×224×3, two GPUs (stated shapes are
#: the whole layer: two groups of 48 maps are 96 channels).
ORIGINAL_LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("conv1", "conv", 96, 11, 4, 3, 1, "ReLU, LRN; 2 × 48 kernels 11×11×3",
              (96, 55, 55)),
    LayerSpec("pool1", "maxpool", k=3, stride=2, stated=(96, 27, 27)),
    LayerSpec("conv2", "conv", 256, 5, 1, 2, 2, "ReLU, LRN; 2 × 128 kernels 5×5×48",
              (256, 27, 27)),
    LayerSpec("pool2", "maxpool", k=3, stride=2, stated=(256, 13, 13)),
    LayerSpec("conv3", "conv", 384, 3, 1, 1, 1, "ReLU; reads both GPUs: 3×3×256×384",
              (384, 13, 13)),
    LayerSpec("conv4", "conv", 384, 3, 1, 1, 2, "ReLU; 2 × 192 kernels 3×3×192", (384, 13, 13)),
    LayerSpec("conv5", "conv", 256, 3, 1, 1, 2, "ReLU; 2 × 128 kernels 3×3×192", (256, 13, 13)),
    LayerSpec("pool3", "maxpool", k=3, stride=2, stated=(256, 6, 6)),
    LayerSpec("fc6", "fc", 4096, note="ReLU, Dropout(0.5)", stated=(4096,)),
    LayerSpec("fc7", "fc", 4096, note="ReLU, Dropout(0.5)", stated=(4096,)),
    LayerSpec("fc8", "fc", 1000, note="softmax", stated=(1000,)),
)


@dataclass(frozen=True)
class ShapeRow:
    """A computed row: output shape (C, H, W) or (D,), the unfloored size (H − k + 2p)/s + 1
    (``exact``, a Fraction; None for fc), and the layer's parameters."""

    name: str
    kind: str
    shape: tuple[int, ...]
    exact: Fraction | None
    params: int
    note: str


def shape_table(spec: tuple[LayerSpec, ...] = NOTES_CONFIG, input_size: int = 224,
                in_channels: int = 1) -> list[ShapeRow]:
    """Every layer's output shape and parameter count for a square input.

    Args:
        spec: a configuration (:data:`NOTES_CONFIG`, :data:`ORIGINAL_LAYERS`, or your own).
        input_size: H = W of the input (224 for both tables; 227 makes conv1 of the original
            exact without padding).
        in_channels: input channels (1 for Fashion-MNIST, 3 for ImageNet).

    Returns:
        One :class:`ShapeRow` per layer. ``exact`` shows where the floor bites (55.75 for the
        original's conv1 at 224 with padding 3).
    """
    input_size = check_int("input_size", input_size, minimum=1)
    in_channels = check_int("in_channels", in_channels, minimum=1)
    shape: tuple[int, ...] = (in_channels, input_size, input_size)
    rows = []
    for layer in spec:
        if layer.kind in ("conv", "maxpool"):
            if len(shape) != 3:
                raise ValueError(f"spec: {layer.name} ({layer.kind}) after a fc layer")
            C, H = shape[0], shape[1]
            exact = Fraction(H - layer.k + 2 * layer.padding, layer.stride) + 1
            size = (H - layer.k + 2 * layer.padding) // layer.stride + 1
            if size < 1:
                raise ValueError(f"spec: {layer.name} gets a {H}×{H} input, smaller than its "
                                 f"{layer.k}×{layer.k} window")
            if layer.kind == "conv":
                if C % layer.groups or layer.out % layer.groups:
                    raise ValueError(f"spec: {layer.name} groups={layer.groups} must divide "
                                     f"{C} and {layer.out}")
                params = layer.out * (C // layer.groups * layer.k ** 2 + 1)
                shape = (layer.out, size, size)
            else:
                params = 0
                shape = (C, size, size)
        elif layer.kind == "fc":
            d_in = int(np.prod(shape))
            params = layer.out * (d_in + 1)
            exact = None
            shape = (layer.out,)
        else:
            raise ValueError(f"spec: {layer.name} has unknown kind {layer.kind!r}")
        rows.append(ShapeRow(layer.name, layer.kind, shape, exact, params, layer.note))
    return rows


def n_parameters(spec: tuple[LayerSpec, ...] = NOTES_CONFIG, input_size: int = 224,
                 in_channels: int = 1) -> int:
    """Total parameters of a configuration (sum of :func:`shape_table`'s ``params``)."""
    return sum(r.params for r in shape_table(spec, input_size, in_channels))
