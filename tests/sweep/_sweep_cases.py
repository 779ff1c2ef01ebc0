"""The sweep's table: how to call every public callable of dlcourse with a valid input.

``ARRAY_CASES`` name one array argument of a callable to corrupt (its valid shape, which axes
have a fixed size, which ranks are accepted); ``_sweep_arg_cases.py`` has the scalar arguments
(``ARG_CASES``) and the reasoned exclusions (``EXCLUDED``). ``test_sweep_coverage.py`` fails
when a name in a module's ``__all__`` is in none of them, so a new layer is swept or the test
says it needs an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import dlcourse.functional as F
import dlcourse.gradcheck as G
import dlcourse.losses as L
import dlcourse.metrics as M
import dlcourse.models as models
import dlcourse.nn as nn
import dlcourse.regularization as R
import dlcourse.viz as viz
from dlcourse.data import DataLoader
from dlcourse.data import transforms as T
from dlcourse.nn.upsample import max_pool2d_with_indices
from dlcourse.train import evaluate, predict

#: Modules whose ``__all__`` is swept.
SWEPT_MODULES = (
    "dlcourse.nn", "dlcourse.functional", "dlcourse.losses", "dlcourse.optim",
    "dlcourse.optim.schedules", "dlcourse.metrics", "dlcourse.init", "dlcourse.regularization",
    "dlcourse.data", "dlcourse.data.transforms", "dlcourse.models", "dlcourse.gradcheck",
    "dlcourse.viz", "dlcourse.train",
)


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    """Standard normal float64 values (deterministic)."""
    return np.random.default_rng(seed).standard_normal(shape)


def labels(n: int, classes: int = 3, seed: int = 1) -> np.ndarray:
    """Int64 class labels (n,) that use every class when n >= classes."""
    return (np.arange(n) + seed) % classes


def _shape(x: object) -> tuple[int, ...]:
    """The shape of an array-like, or () for a ragged list (the callable then refuses it)."""
    try:
        return np.shape(x)
    except ValueError:
        return ()


def _n(x: object, default: int) -> int:
    """The batch size of an array-like, or ``default`` for a scalar or a non-array."""
    try:
        shape = np.shape(x)
    except (TypeError, ValueError):
        return default
    return shape[0] if shape else default


@dataclass(frozen=True)
class ArrayCase:
    """One array argument of a public callable, with a valid shape to start from.

    ``call(x, n)`` runs the callable with ``x`` as the swept argument and every other array
    argument built for batch size ``n``. ``fixed`` are the axes whose size is fixed by the
    other arguments (changing one must raise); ``ranks`` the accepted ranks (None: only the
    valid shape's); ``elementwise``: any rank works, the result keeps x's shape; ``batch``:
    axis 0 is the batch (N = 0 gives an N = 0 result or a clear ValueError); ``kind`` "float"
    (numbers) or "labels" (integer classes in ``[0, classes)``); ``ints``: the range of the
    integer values used to try int/bool arrays (the call on the float version is the reference).
    """

    call: Callable[[Any, int], Any]
    shape: tuple[int, ...]
    arg: str = "x"
    fixed: tuple[int, ...] = (-1,)
    ranks: tuple[int, ...] | None = None
    elementwise: bool = False
    batch: bool = True
    kind: str = "float"
    classes: int = 3
    ints: tuple[int, int] = (-3, 3)
    make: Callable[[tuple[int, ...]], np.ndarray] | None = None
    others: tuple[str, ...] = ()  # the other array arguments, which an N = 0 error may name
    grow_ok: bool = False  # a larger size of the fixed axes is valid (more classes)
    # labels outside [0, classes) raise; the metrics count them as misses instead, by design
    # (tests/test_metrics.py::test_sequence_labels_hand_computed: padding -100 is a miss)
    range_checked: bool = True

    def valid(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        shape = self.shape if shape is None else shape
        if self.make is not None:  # structured values (probabilities, signs, one-hot rows)
            if shape == self.shape:
                return self.make(shape)
            return self.make((int(np.prod(shape)),)).reshape(shape)
        if self.kind == "labels":
            return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % self.classes
        return randn(*shape)


@dataclass(frozen=True)
class ArgCase:
    """Scalar arguments of a constructor or function: ``call(**{**valid, name: bad})``.

    ``kinds`` maps each swept argument to what it needs: "size" (int >= 1), "count"
    (int >= 0), "positive" (real > 0), "nonneg" (real >= 0), "prob" (in [0, 1]),
    "prob_open" ([0, 1)), "real" (finite), "bool", "rng", "dtype", "choice", "params"
    (a non-empty iterable of Parameters: an optimiser), "param_items" (Parameters, possibly
    none: clipping or penalising nothing is 0), "shape" (a tuple of sizes).
    """

    call: Callable[..., Any]
    valid: dict[str, Any]
    kinds: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)  # argument -> name in the message


def _mod(factory: Callable[[], Any], method: str = "__call__") -> Callable[[Any, int], Any]:
    """A fresh module per call (same seed, so the float and int calls see the same weights)."""
    return lambda x, n: getattr(factory(), method)(x)


def _params() -> list[nn.Parameter]:
    p = nn.Parameter(randn(3, 2))
    p.grad[...] = randn(3, 2, seed=5)
    return [p]


def _unpool(x: Any, n: int) -> np.ndarray:
    """MaxUnpool2d(2) of ``x`` with the indices of a 2x2 max pooling of an (n, 3, 4, 4) batch."""
    _, idx = max_pool2d_with_indices(randn(max(n, 1), 3, 4, 4, seed=2)[:n], 2)
    return nn.MaxUnpool2d(2)(x, idx)


def _net(factory: Callable[..., Any], *args: Any) -> Callable[[Any, int], Any]:
    return _mod(lambda: factory(*args, rng=0))


def _lenet() -> Any:
    return models.LeNet5(image_size=16, rng=0)


def _seq() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))


def _square(x: np.ndarray) -> float:
    return float(np.sum(np.asarray(x) ** 2))


def _act(name: str, **kw: Any) -> ArrayCase:
    fn = getattr(F, name)
    return ArrayCase(lambda x, n: fn(x, **kw), (2, 3), elementwise=True, fixed=())


def _probs(n: int) -> np.ndarray:
    return np.linspace(0.1, 0.9, n)


def _binary(n: int) -> np.ndarray:
    return (np.arange(n) % 2).astype(np.float64)


def _signs(n: int) -> np.ndarray:
    return np.where(np.arange(n) % 2, 1.0, -1.0)


def _loss_pair(fn: Callable[..., Any], pred_shape: tuple[int, ...], target: Callable[[int], Any],
               pred_name: str, target_kind: str, pred_make: Any = None,
               signs: bool = False) -> list[tuple[str, ArrayCase]]:
    """Two cases for a loss: sweep the prediction (targets valid), then the target."""
    rest = pred_shape[1:]
    predict = pred_make or (lambda n: randn(n, *rest))
    labels_ = target_kind == "labels"
    return [
        (pred_name, ArrayCase(lambda x, n: fn(x, target(n)), pred_shape, arg=pred_name,
                              fixed=tuple(range(1, len(pred_shape))), grow_ok=labels_,
                              ranks=(1, 2) if len(pred_shape) == 1 else None,
                              make=(lambda s: predict(s[0])) if pred_make else None,
                              ints=(0, 1) if pred_make else (-3, 3), others=("y",))),
        ("y", ArrayCase(lambda y, n: fn(predict(_n(y, n)), y), np.shape(target(4)), arg="y",
                        fixed=() if labels_ else tuple(range(1, len(pred_shape))),
                        ranks=(1, 2) if len(pred_shape) == 1 else None,
                        kind=target_kind, ints=(-1, 1) if signs else (0, 1),
                        make=(lambda s: target(s[0])) if target in (_signs, _binary) else None,
                        others=(pred_name,))),
    ]


def _img(n: int = 2, c: int = 3, h: int = 4, w: int = 4) -> tuple[int, int, int, int]:
    return (n, c, h, w)


ANY0, ANY1 = tuple(range(6)), tuple(range(1, 6))  # any rank / any rank >= 1
ACT_MODULES = ("Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softplus", "Swish", "GELU")

#: name (``module.Name`` or ``module.Name[argument]``) -> how to call it with a valid array.
ARRAY_CASES: dict[str, ArrayCase] = {
    # dlcourse.functional: element-wise maps of any rank
    **{f"dlcourse.functional.{name}": _act(name) for name in (
        "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu",
        "leaky_relu_grad", "elu", "elu_grad", "softplus", "softplus_grad", "swish",
        "swish_grad", "gelu", "gelu_grad")},
    **{f"dlcourse.functional.{name}": ArrayCase(
        lambda x, n, name=name: getattr(F, name)(x, np.array([0.1, 0.2, 0.3])), (2, 3), ranks=ANY1)
       for name in ("prelu", "prelu_grad", "prelu_grad_gamma")},
    "dlcourse.functional.softmax": ArrayCase(lambda x, n: F.softmax(x), (2, 3), fixed=(),
                                             ranks=ANY1),
    "dlcourse.functional.log_softmax": ArrayCase(lambda x, n: F.log_softmax(x), (2, 3),
                                                 fixed=(), ranks=ANY1),
    "dlcourse.functional.one_hot": ArrayCase(lambda y, n: F.one_hot(y, 3), (4,), arg="y",
                                             fixed=(), kind="labels", ints=(0, 2), ranks=ANY0),
    # dlcourse.nn: layers (a fresh, seeded module per call) and kernels
    **{f"dlcourse.nn.{name}": ArrayCase(_mod(getattr(nn, name)), (2, 3), elementwise=True,
                                        fixed=()) for name in ACT_MODULES},
    "dlcourse.nn.PReLU": ArrayCase(_mod(lambda: nn.PReLU(3)), (2, 3), fixed=(1,),
                                   ranks=(2, 3, 4)),
    "dlcourse.nn.Dropout": ArrayCase(_mod(lambda: nn.Dropout(0.5, rng=0)), (2, 3),
                                     elementwise=True, fixed=()),
    "dlcourse.nn.Flatten": ArrayCase(_mod(nn.Flatten), (2, 3, 2), fixed=(), ranks=ANY1),
    "dlcourse.nn.Linear": ArrayCase(_net(nn.Linear, 4, 3), (2, 4), ranks=ANY1),
    "dlcourse.nn.WeightNormLinear": ArrayCase(_net(nn.WeightNormLinear, 4, 3), (2, 4),
                                              ranks=ANY1),
    "dlcourse.nn.Maxout": ArrayCase(_net(nn.Maxout, 4, 3, 2), (2, 4), ranks=ANY1),
    "dlcourse.nn.BatchNorm1d": ArrayCase(_mod(lambda: nn.BatchNorm1d(3)), (4, 3), fixed=(1,),
                                         ranks=(2, 3)),
    "dlcourse.nn.BatchNorm2d": ArrayCase(_mod(lambda: nn.BatchNorm2d(3)), _img(), fixed=(1,)),
    "dlcourse.nn.LayerNorm": ArrayCase(_mod(lambda: nn.LayerNorm(4)), (2, 4),
                                       ranks=ANY1),
    "dlcourse.nn.Conv2d": ArrayCase(_net(nn.Conv2d, 3, 2, 3), _img(h=5, w=5), fixed=(1,)),
    "dlcourse.nn.Conv1d": ArrayCase(_net(nn.Conv1d, 3, 2, 3), (2, 3, 6), fixed=(1,)),
    "dlcourse.nn.MaxPool2d": ArrayCase(_mod(lambda: nn.MaxPool2d(2)), _img(), fixed=()),
    "dlcourse.nn.AvgPool2d": ArrayCase(_mod(lambda: nn.AvgPool2d(2)), _img(), fixed=()),
    "dlcourse.nn.AdaptiveAvgPool2d": ArrayCase(_mod(lambda: nn.AdaptiveAvgPool2d(2)), _img(),
                                               fixed=()),
    "dlcourse.nn.Upsample": ArrayCase(_mod(lambda: nn.Upsample(2)), _img(), fixed=()),
    "dlcourse.nn.LocalResponseNorm": ArrayCase(_mod(lambda: nn.LocalResponseNorm(3)), _img(),
                                               fixed=(), ranks=(3, 4, 5)),
    "dlcourse.nn.MaxUnpool2d": ArrayCase(_unpool, _img(h=2, w=2), fixed=(1, 2, 3)),
    "dlcourse.nn.Sequential": ArrayCase(_mod(_seq), (2, 4), ranks=ANY1),
    "dlcourse.nn.Parameter": ArrayCase(lambda x, n: nn.Parameter(x).data, (2, 3), arg="data",
                                       fixed=(), ranks=ANY0, batch=False),
    "dlcourse.nn.corr2d[X]": ArrayCase(lambda x, n: nn.corr2d(x, randn(2, 2)), (4, 5), arg="X",
                                       fixed=(), batch=False),
    "dlcourse.nn.corr2d[K]": ArrayCase(lambda k, n: nn.corr2d(randn(4, 5), k), (2, 2), arg="K",
                                       fixed=(), batch=False),
    "dlcourse.nn.im2col": ArrayCase(lambda x, n: nn.im2col(x, 3), _img(h=5, w=5), fixed=()),
    "dlcourse.nn.col2im": ArrayCase(lambda c, n: nn.col2im(c, (2, 3, 5, 5), 3), (18, 27),
                                    arg="cols", fixed=(0, 1), batch=False),
    "dlcourse.nn.conv1d[x]": ArrayCase(lambda x, n: nn.conv1d(x, np.array([1.0, -2.0, 0.5])),
                                       (2, 6), fixed=(), ranks=ANY1),
    "dlcourse.nn.conv1d[w]": ArrayCase(lambda w, n: nn.conv1d(randn(2, 6), w), (3,), arg="w",
                                       fixed=(), batch=False),
    # dlcourse.losses: functional forms and modules (a module's messages use the functional
    # form's names: scores, logits, probs), prediction then target
    **{f"dlcourse.losses.{name}[{arg}]": case for name, fn, shape, target, pname in (
        ("squared_loss", L.squared_loss, (4, 2), lambda n: randn(n, 2, seed=3), "pred"),
        ("MSELoss", lambda p, y: L.MSELoss()(p, y), (4, 2), lambda n: randn(n, 2, seed=3),
         "pred"),
        ("hinge_loss", L.hinge_loss, (4,), _signs, "scores"),
        ("HingeLoss", lambda p, y: L.HingeLoss()(p, y), (4,), _signs, "scores"),
        ("logistic_loss", L.logistic_loss, (4,), _signs, "scores"),
        ("LogisticLoss", lambda p, y: L.LogisticLoss()(p, y), (4,), _signs, "scores"),
        ("binary_cross_entropy_with_logits", L.binary_cross_entropy_with_logits, (4,), _binary,
         "logits"),
        ("BCEWithLogitsLoss", lambda p, y: L.BCEWithLogitsLoss()(p, y), (4,), _binary,
         "logits"),
    ) for arg, case in _loss_pair(fn, shape, target, pname, "float",
                                  signs=target is _signs,
                                  pred_make=None)},
    **{f"dlcourse.losses.{name}[{arg}]": case for name, fn in (
        ("softmax_cross_entropy", L.softmax_cross_entropy),
        ("CrossEntropyLoss", lambda p, y: L.CrossEntropyLoss()(p, y)),
    ) for arg, case in _loss_pair(fn, (4, 3), labels, "logits", "labels")},
    **{f"dlcourse.losses.{name}[{arg}]": case for name, fn in (
        ("binary_cross_entropy", L.binary_cross_entropy),
        ("BCELoss", lambda p, y: L.BCELoss()(p, y)),
    ) for arg, case in _loss_pair(fn, (4,), _binary, "probs", "float", pred_make=_probs)},
    # dlcourse.metrics: true labels, then scores (N, C)
    **{f"dlcourse.metrics.{name}[{arg}]": case for name, fn in (
        ("accuracy", M.accuracy), ("error_rate", M.error_rate),
        ("precision", lambda t, p: M.precision(t, p, average="macro")),
        ("recall", lambda t, p: M.recall(t, p, average="macro")),
        ("f1_score", lambda t, p: M.f1_score(t, p, average="macro")),
        ("confusion_matrix", lambda t, p: M.confusion_matrix(t, p, 3)),
    ) for arg, case in (
        ("y_true", ArrayCase(lambda t, n, fn=fn: fn(t, randn(_n(t, n), 3)), (4,), arg="y_true",
                             fixed=(), kind="labels", ints=(0, 2), others=("y_pred",),
                             range_checked=False)),
        ("y_pred", ArrayCase(lambda p, n, fn=fn: fn(labels(n), p), (4, 3), arg="y_pred",
                             fixed=(), ranks=(1, 2), others=("y_true",))),
    )},
    "dlcourse.metrics.output_accuracy[y_true]": ArrayCase(
        lambda t, n: M.output_accuracy(t, randn(_n(t, n), 3)), (4,), arg="y_true", fixed=(),
        kind="labels", ints=(0, 2), others=("out",), ranks=(1, 2), range_checked=False),
    "dlcourse.metrics.output_accuracy[out]": ArrayCase(
        lambda p, n: M.output_accuracy(labels(n), p), (4, 3), arg="out", fixed=(),
        ranks=(1, 2), others=("y_true", "y_pred")),  # y_pred: accuracy's name for it
    "dlcourse.metrics.binary_predictions": ArrayCase(lambda s, n: M.binary_predictions(s), (4,),
                                                     arg="scores", fixed=(), ranks=ANY1),
    "dlcourse.metrics.labels_from_one_hot": ArrayCase(
        lambda y, n: M.labels_from_one_hot(y), (4, 3), arg="y", fixed=(), ints=(0, 1),
        make=lambda s: np.eye(s[-1])[np.arange(s[0]) % s[-1]] if len(s) == 2 else np.ones(s)),
    # dlcourse.regularization
    "dlcourse.regularization.unique_fraction": ArrayCase(
        lambda i, n: R.unique_fraction(i, 5), (2, 5), arg="indices", fixed=(), kind="labels",
        classes=5, ints=(0, 4), ranks=(1, 2), batch=False),
    "dlcourse.regularization.average_predictions": ArrayCase(
        lambda p, n: R.average_predictions(p), (3, 4, 2), arg="predictions", fixed=(),
        ranks=(2, 3, 4, 5), batch=False),
    "dlcourse.regularization.bagging_predict": ArrayCase(
        lambda x, n: R.bagging_predict([_seq(), _seq()], x), (2, 4), arg="X",
        ranks=ANY1),
    # dlcourse.data: the loader and the augmentations
    "dlcourse.data.DataLoader[X]": ArrayCase(
        lambda x, n: list(DataLoader(x, labels(_n(x, n)), batch_size=3)), (4, 2), arg="X",
        fixed=(), ranks=ANY1, others=("y",)),
    "dlcourse.data.DataLoader[y]": ArrayCase(
        lambda y, n: list(DataLoader(randn(_n(y, n), 2), y, batch_size=3)), (4,), arg="y",
        fixed=(), ranks=ANY1, others=("X",)),
    **{f"dlcourse.data.transforms.{name}": ArrayCase(_mod(factory), _img(h=6, w=6), fixed=())
       for name, factory in (
           ("RandomHorizontalFlip", lambda: T.RandomHorizontalFlip(0.5, rng=0)),
           ("RandomCrop", lambda: T.RandomCrop(4, padding=1, rng=0)),
           ("RandomRotation", lambda: T.RandomRotation(30.0, rng=0)),
           ("Compose", lambda: T.Compose([T.RandomHorizontalFlip(0.5, rng=0)])),
       )},
    "dlcourse.data.transforms.GaussianNoise": ArrayCase(_mod(lambda: T.GaussianNoise(0.1, rng=0)),
                                                        _img(h=6, w=6), fixed=(), ranks=ANY0),
    "dlcourse.data.transforms.rotate_scale": ArrayCase(
        lambda x, n: T.rotate_scale(x, np.full(_n(x, n), 30.0)), _img(h=6, w=6), fixed=()),
    # dlcourse.models: a forward pass on a small batch
    "dlcourse.models.MLP": ArrayCase(_mod(lambda: models.MLP([4, 5, 3], rng=0)), (2, 4),
                                     ranks=ANY1),
    "dlcourse.models.LeNet5": ArrayCase(_mod(_lenet), (2, 1, 16, 16), fixed=(1,)),
    "dlcourse.models.LeNet5Original": ArrayCase(_mod(lambda: models.LeNet5Original(rng=0)),
                                                (1, 1, 32, 32), fixed=(1, 2, 3)),
    "dlcourse.models.AlexNet": ArrayCase(
        _mod(lambda: models.AlexNet(channels=(2, 2, 2, 2, 2), hidden=4, rng=0)),
        (1, 1, 28, 28), fixed=(1, 2, 3)),
    "dlcourse.models.CifarNet": ArrayCase(
        _mod(lambda: models.CifarNet(widths=(2, 2, 2, 2), rng=0, dtype=np.float64)),
        (1, 3, 32, 32), fixed=(1,)),
    "dlcourse.models.ResidualBlock": ArrayCase(_net(models.ResidualBlock, 3, 2), _img(),
                                               fixed=(1,)),
    "dlcourse.models.ResNet": ArrayCase(_mod(lambda: models.ResNet((2, 2), rng=0)),
                                        (1, 3, 8, 8), fixed=(1,)),
    # dlcourse.gradcheck and dlcourse.viz
    "dlcourse.gradcheck.numerical_gradient": ArrayCase(
        lambda x, n: G.numerical_gradient(_square, x), (2, 3), fixed=(), ranks=ANY0,
        batch=False),
    "dlcourse.gradcheck.numerical_jacobian_vector": ArrayCase(
        lambda x, n: G.numerical_jacobian_vector(np.tanh, x, np.ones(_shape(x))), (2, 3),
        fixed=(), ranks=ANY0, batch=False),
    "dlcourse.gradcheck.numerical_derivative": ArrayCase(
        lambda x, n: G.numerical_derivative(np.tanh, x), (3,), fixed=(), ranks=ANY0,
        batch=False),
    "dlcourse.gradcheck.relative_error": ArrayCase(
        lambda a, n: G.relative_error(a, np.ones(np.shape(a))), (2, 3), arg="a", fixed=(),
        ranks=ANY0, batch=False),
    "dlcourse.gradcheck.check_gradient": ArrayCase(
        lambda x, n: G.check_gradient(_square, x, np.zeros(_shape(x))), (2, 3),
        fixed=(), ranks=ANY0, batch=False),
    "dlcourse.viz.filter_images": ArrayCase(lambda w, n: viz.filter_images(w), (2, 3, 3, 3),
                                            arg="W", fixed=()),
    "dlcourse.viz.feature_maps": ArrayCase(
        lambda x, n: viz.feature_maps(_lenet(), x, 0),
        (2, 1, 16, 16), fixed=(1,)),
    "dlcourse.train.predict": ArrayCase(lambda x, n: predict(_seq(), x), (2, 4), arg="X",
                                        ranks=ANY1),
    "dlcourse.train.evaluate": ArrayCase(
        lambda x, n: evaluate(_seq(), L.CrossEntropyLoss(), (x, labels(_n(x, n), 2))), (2, 4),
        arg="X", ranks=ANY1),
    "dlcourse.viz.saliency_map": ArrayCase(
        lambda x, n: viz.saliency_map(_lenet(), x, labels(_n(x, n))), (2, 1, 16, 16),
        fixed=(1,)),
}
