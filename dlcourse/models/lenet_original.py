"""The original LeNet-5 of LeCun et al. (1998), layer by layer (chapter 4, "典型的卷积神经网络").

Reference: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11), 1998, section II.B and Table I.

Seven layers on a 32×32 input (the notes' figure 5.16)::

    C1  Conv2d(1, 6, 5)                      (N, 6, 28, 28)   4704 neurons
    S2  Subsampling(6): 2×2 sum · coef + bias (N, 6, 14, 14)   1176
    C3  TableConv2d(6, 16, 5, C3_TABLE)       (N, 16, 10, 10)  1600
    S4  Subsampling(16)                       (N, 16, 5, 5)     400
    C5  Conv2d(16, 120, 5)                    (N, 120, 1, 1)    120
    F6  Linear(120, 84)                       (N, 84)            84
    out RBFOutput(84, 10)                     (N, 10)            10

Every unit up to F6 passes its weighted sum through the paper's squashing function
f(a) = A·tanh(S·a), A = 1.7159, S = 2/3 (``ScaledTanh``). S2 and S4 add the four inputs of a
2×2 window, multiply by one trainable coefficient per map, add one trainable bias per map, and
squash (the notes' "使用一个如公式(5.27)的非线性函数" points at the wrong equation: (5.27) is an
L2 gradient). C3 connects each output map to a subset of the S2 maps (Table I of the paper;
the notes refer to "公式(5.40)" and "图 5.11", which are a momentum update and the Dropout
figure): 6 maps see 3 contiguous inputs, 9 see 4, 1 sees all 6, so 60 = 6×3 + 9×4 + 1×6 kernels
of 5×5 instead of 96. The output layer has one Euclidean RBF unit per class,
y_i = Σ_j (x_j − w_ij)², with fixed ±1 centres (the paper drew them as 7×12 bitmaps; here they
are a seeded ±1 draw, frozen).

:meth:`LeNet5Original.layer_table` computes each layer's neurons, trainable parameters and
connections (weights and biases a unit reads, summed over units) from the modules themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlcourse._validate import (
    as_float_array,
    as_rng,
    check_bool,
    check_float_dtype,
    check_int,
    check_ndim,
)
from dlcourse.nn.activation import _Elementwise
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d, conv2d_backward, conv2d_forward
from dlcourse.nn.grad_mode import no_grad
from dlcourse.nn.linear import Linear
from dlcourse.nn.module import Module, Parameter
from dlcourse.nn.shape import Flatten

__all__ = [
    "C3_TABLE", "ScaledTanh", "Subsampling", "TableConv2d", "RBFOutput", "LayerCount",
    "LeNet5Original",
]

#: LeCun et al. (1998), Table I: ``C3_TABLE[j]`` lists the S2 maps that C3 map j reads.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(_Elementwise):
    """LeCun's squashing function f(a) = A·tanh(S·a) (A = 1.7159, S = 2/3, so f(±1) ≈ ±1);
    f'(a) = A·S·(1 − tanh²(S·a)). Any shape, the input's dtype."""

    A = 1.7159
    S = 2.0 / 3.0

    def _f(self, x: np.ndarray) -> np.ndarray:
        return self.A * np.tanh(self.S * x)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        t = np.tanh(self.S * x)
        return (self.A * self.S) * (1.0 - t * t)


@dataclass
class SubsamplingCache:
    """``s``: the 2×2 window sums (N, C, H/2, W/2) of the forward input."""

    s: np.ndarray


class Subsampling(Module):
    """LeNet-5's S2/S4: ``out[n, c] = coef[c] · Σ_{2×2 window} x[n, c] + bias[c]``.

    Parameters: ``coef`` (C,) starting at 1/4 (an average) and ``bias`` (C,) at 0: 2 per map.
    Shapes: x (N, C, H, W) with even H, W -> (N, C, H/2, W/2). Each output unit reads 4 inputs
    and a bias: 5 connections.
    """

    window = 4

    def __init__(self, channels: int, dtype: type | np.dtype = np.float64) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, minimum=1)
        dtype = check_float_dtype("dtype", dtype)
        self.coef = Parameter(np.full(self.channels, 0.25, dtype=dtype))
        self.bias = Parameter(np.zeros(self.channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array("x", x)
        check_ndim("x", x, 4, "(N, C, H, W)")
        N, C, H, W = x.shape
        if C != self.channels or H % 2 or W % 2:
            raise ValueError(f"x: expected shape (N, {self.channels}, H, W) with even H and W, "
                             f"got {x.shape}")
        x = x.astype(self.coef.data.dtype, copy=False)
        s = x.reshape(N, C, H // 2, 2, W // 2, 2).sum(axis=(3, 5))
        self._save_cache(SubsamplingCache(s))
        return s * self.coef.data[:, None, None] + self.bias.data[:, None, None]

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        s = self._peek_cache().s
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != s.shape:
            raise ValueError(f"dout: expected shape {s.shape} (the forward output), "
                             f"got {dout.shape}")
        self._caches.pop()
        dout = dout.astype(s.dtype, copy=False)
        self._accumulate((self.coef, (dout * s).sum(axis=(0, 2, 3))),
                         (self.bias, dout.sum(axis=(0, 2, 3))))
        if not need_dx:
            return None
        d = dout * self.coef.data[:, None, None]
        return np.repeat(np.repeat(d, 2, axis=2), 2, axis=3)

    def extra_repr(self) -> str:
        return f"{self.channels}"


class TableConv2d(Module):
    """A convolution whose output map j reads only the input maps ``table[j]`` (C3).

    ``W`` is stored dense, (F, C, kh, kw), with the unconnected kernels held at zero: the
    forward pass uses ``W ⊙ mask`` and the backward pass masks dW, so they never change.
    ``b``: (F,). Trainable parameters: ``mask.sum() + F`` (1516 for C3).
    Shapes: x (N, C, H, W) -> (N, F, H − kh + 1, W − kw + 1) (stride 1, no padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 table: tuple[tuple[int, ...], ...],
                 rng: np.random.Generator | int | None = None,
                 dtype: type | np.dtype = np.float64) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, minimum=1)
        self.out_channels = check_int("out_channels", out_channels, minimum=1)
        k = check_int("kernel_size", kernel_size, minimum=1)
        if len(table) != self.out_channels:
            raise ValueError(f"table: expected {self.out_channels} rows (one per output map), "
                             f"got {len(table)}")
        mask = np.zeros((self.out_channels, self.in_channels, 1, 1), dtype=bool)
        for j, row in enumerate(table):
            if not row or any(not 0 <= i < self.in_channels for i in row):
                raise ValueError(f"table[{j}]: expected input maps in [0, {self.in_channels}), "
                                 f"got {row!r}")
            mask[j, list(row)] = True
        dtype = check_float_dtype("dtype", dtype)
        self.kernel_size = k
        self.table = tuple(tuple(int(i) for i in row) for row in table)
        self.mask = np.broadcast_to(mask, (self.out_channels, self.in_channels, k, k)).astype(dtype)
        fan_in = [len(row) * k * k for row in self.table]   # per output map
        W = np.empty((self.out_channels, self.in_channels, k, k), dtype=dtype)
        rng = as_rng(rng)
        for j, n in enumerate(fan_in):  # uniform ±2.4/fan_in, the paper's initialisation
            W[j] = rng.uniform(-2.4 / n, 2.4 / n, size=W[j].shape)
        self.W = Parameter(W * self.mask)
        self.b = Parameter(np.zeros(self.out_channels, dtype=dtype))

    @property
    def n_kernels(self) -> int:
        """Number of connected (input map, output map) pairs: 60 for C3."""
        return sum(len(row) for row in self.table)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array("x", x)
        check_ndim("x", x, 4, "(N, C, H, W)")
        k = self.kernel_size
        if x.shape[1] != self.in_channels or x.shape[2] < k or x.shape[3] < k:
            raise ValueError(f"x: expected shape (N, {self.in_channels}, H >= {k}, W >= {k}), "
                             f"got {x.shape}")
        x = x.astype(self.W.data.dtype, copy=False)
        out, cache = conv2d_forward(x, self.W.data * self.mask, self.b.data)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        cache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        N, _, H, W = cache.x_shape
        k = self.kernel_size
        want = (N, self.out_channels, H - k + 1, W - k + 1)
        if dout.shape != want:
            raise ValueError(f"dout: expected shape {want} (the forward output), got {dout.shape}")
        self._caches.pop()
        dout = dout.astype(cache.W.dtype, copy=False)
        need_dW = self._wants_grad(self.W, self.b)
        dx, dW, db = conv2d_backward(dout, cache, need_dx, need_dW)
        self._accumulate((self.W, None if dW is None else dW * self.mask), (self.b, db))
        return dx

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"kernels={self.n_kernels}")


@dataclass
class RBFCache:
    """``diff``: x[:, None, :] − centres, (N, num_classes, D)."""

    diff: np.ndarray


class RBFOutput(Module):
    """Euclidean RBF output units, returned as scores: ``score_i = −Σ_j (x_j − w_ij)²``.

    LeNet-5's outputs are the penalties y_i = ‖x − w_i‖² (the notes' "径向基函数"); the class is
    the smallest penalty. The negated penalty is returned so that ``argmax`` and
    ``CrossEntropyLoss`` apply: cross-entropy on −y is the paper's MAP criterion (its eq. (9))
    without the constant "rubbish class" term e^{−j}.

    Parameters: ``centres`` (num_classes, D), ±1 drawn with ``rng``, frozen unless
    ``trainable`` (the paper fixed them). Shapes: x (N, D) -> (N, num_classes).
    """

    def __init__(self, in_features: int, num_classes: int, trainable: bool = False,
                 rng: np.random.Generator | int | None = None,
                 dtype: type | np.dtype = np.float64) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        dtype = check_float_dtype("dtype", dtype)
        signs = as_rng(rng).integers(0, 2, size=(self.num_classes, self.in_features))
        self.centres = Parameter((2.0 * signs - 1.0).astype(dtype),
                                 requires_grad=bool(trainable))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array("x", x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x: expected shape (N, {self.in_features}), got {x.shape}")
        diff = x.astype(self.centres.data.dtype, copy=False)[:, None, :] - self.centres.data
        self._save_cache(RBFCache(diff))
        return -np.einsum("nkd,nkd->nk", diff, diff)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        diff = self._peek_cache().diff
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != diff.shape[:2]:
            raise ValueError(f"dout: expected shape {diff.shape[:2]} (the forward output), "
                             f"got {dout.shape}")
        self._caches.pop()
        g = (-2.0 * dout.astype(diff.dtype, copy=False))[:, :, None] * diff  # d/d diff
        self._accumulate((self.centres, -g.sum(axis=0)))
        return g.sum(axis=1) if need_dx else None

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.num_classes}, trainable={self.centres.requires_grad}"


@dataclass(frozen=True)
class LayerCount:
    """One row of LeNet-5's layer table: output shape per sample (C, H, W) or (D,), neurons,
    trainable parameters and connections."""

    name: str
    kind: str
    shape: tuple[int, ...]
    neurons: int
    params: int
    connections: int


class LeNet5Original(Sequential):
    """LeNet-5 as in LeCun et al. (1998) for (N, 1, 32, 32) inputs (see the module docstring).

    Children: C1, f, S2, f, C3, f, S4, f, C5, f, Flatten, F6, f, output (f = ``ScaledTanh``);
    ``self.layers`` maps the names C1 … output to those modules.

    Args:
        num_classes: RBF output units (10 digits).
        trainable_centres: learn the RBF centres (the paper kept them fixed).
        rng: Generator, seed or None; the same seed gives the same weights.
        dtype: float64 or float32.

    Shapes: x (N, 1, 32, 32) -> scores (N, num_classes) = −(RBF penalties).
    """

    def __init__(self, num_classes: int = 10, trainable_centres: bool = False,
                 rng: np.random.Generator | int | None = None,
                 dtype: type | np.dtype = np.float64) -> None:
        rng = as_rng(rng)
        check_bool("trainable_centres", trainable_centres)

        def lecun(shape: tuple[int, ...], rng: np.random.Generator,
                  dtype: np.dtype) -> np.ndarray:
            """Uniform in ±2.4/F_i, F_i the fan-in (the paper's appendix)."""
            fan_in = math.prod(shape[1:]) if len(shape) == 4 else shape[0]
            return rng.uniform(-2.4 / fan_in, 2.4 / fan_in, size=shape).astype(dtype)

        layers = {
            "C1": Conv2d(1, 6, 5, rng=rng, dtype=dtype, init=lecun),
            "S2": Subsampling(6, dtype=dtype),
            "C3": TableConv2d(6, 16, 5, C3_TABLE, rng=rng, dtype=dtype),
            "S4": Subsampling(16, dtype=dtype),
            "C5": Conv2d(16, 120, 5, rng=rng, dtype=dtype, init=lecun),
            "F6": Linear(120, 84, rng=rng, dtype=dtype, init=lecun),
            "output": RBFOutput(84, num_classes, trainable=trainable_centres, rng=rng,
                                dtype=dtype),
        }
        mods: list[Module] = []
        for name, layer in layers.items():
            if name == "F6":
                mods.append(Flatten())
            mods.append(layer)
            if name != "output":
                mods.append(ScaledTanh())
        super().__init__(*mods)
        self.layers = layers
        self.num_classes = layers["output"].num_classes

    def layer_table(self) -> list[LayerCount]:
        """Neurons, trainable parameters and connections of every layer, computed from the
        modules: a unit's connections are the inputs it reads plus its bias, summed over units
        (as LeCun et al. count them; the notes' C1 156 / 122304 … F6 10164 / 10164)."""
        dtype = self.layers["C1"].W.data.dtype
        x = np.zeros((1, 1, 32, 32), dtype=dtype)
        rows = []
        with no_grad():
            for module in self:
                x = module(x)
                name = next((n for n, m in self.layers.items() if m is module), None)
                if name is None:
                    continue
                shape = x.shape[1:]
                neurons = math.prod(shape)
                positions = math.prod(shape[1:]) if len(shape) == 3 else 1
                if isinstance(module, TableConv2d):
                    kind = f"conv {module.kernel_size}×{module.kernel_size}, table"
                    weights = module.n_kernels * module.kernel_size ** 2
                    params = weights + module.b.data.size
                    connections = positions * params
                elif isinstance(module, Conv2d):
                    kh, kw = module.kernel_size
                    kind = f"conv {kh}×{kw}"
                    params = module.W.data.size + module.b.data.size
                    connections = positions * params
                elif isinstance(module, Subsampling):
                    kind = "subsampling 2×2"
                    params = module.coef.data.size + module.bias.data.size
                    connections = neurons * (module.window + 1)
                elif isinstance(module, Linear):
                    kind = "full"
                    params = module.W.data.size + module.b.data.size
                    connections = params
                else:
                    kind = "RBF"
                    size = module.centres.data.size
                    params = size if module.centres.requires_grad else 0
                    connections = size
                rows.append(LayerCount(name, kind, tuple(int(s) for s in shape), int(neurons),
                                       int(params), int(connections)))
        return rows
