"""float32 in -> float32 out: every layer, loss and optimiser step keeps float32 (issue 15).

The lists are generated from the package (``dlcourse.nn.__all__``, ``dlcourse.losses.__all__``,
``dlcourse.optim.__all__``, ``dlcourse.optim.schedules.__all__``, ``ACTIVATIONS``), and each
public callable needs an entry in the small tables below: a new layer, loss, optimiser or
schedule without one fails ``test_every_*_has_an_entry`` instead of being skipped silently.

A layer is built with ``dtype=np.float32`` where it has parameters, fed a float32 input, and
its output, its input gradient and every parameter's gradient must be float32; an optimiser's
step (with a schedule, weight decay, momentum and ``clip_grad_norm``) must leave the
parameters, their gradients and every array of its state float32.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import dlcourse.functional as F
import dlcourse.losses as L
import dlcourse.nn as nn
import dlcourse.optim as optim
from dlcourse.nn.module import Module
from dlcourse.optim import schedules as S

F32 = np.float32
RNG_SEED = 15

# ---- layers -------------------------------------------------------------------------------------

# class name -> (constructor(dtype) -> module, input shape). ``dtype`` is passed only where
# the constructor has parameters of its own.
LAYERS: dict[str, tuple[Callable[[Any], Module], tuple[int, ...]]] = {
    "Sequential": (lambda dt: nn.Sequential(nn.Linear(4, 3, rng=0, dtype=dt), nn.ReLU()), (5, 4)),
    "Linear": (lambda dt: nn.Linear(4, 3, rng=0, dtype=dt), (5, 4)),
    "Flatten": (lambda dt: nn.Flatten(), (2, 3, 2, 2)),
    "Sigmoid": (lambda dt: nn.Sigmoid(), (5, 4)),
    "Tanh": (lambda dt: nn.Tanh(), (5, 4)),
    "ReLU": (lambda dt: nn.ReLU(), (5, 4)),
    "LeakyReLU": (lambda dt: nn.LeakyReLU(0.1), (5, 4)),
    "PReLU": (lambda dt: nn.PReLU(3, dtype=dt), (5, 3, 2)),
    "ELU": (lambda dt: nn.ELU(), (5, 4)),
    "Softplus": (lambda dt: nn.Softplus(), (5, 4)),
    "Swish": (lambda dt: nn.Swish(), (5, 4)),
    "GELU": (lambda dt: nn.GELU(), (5, 4)),
    "Maxout": (lambda dt: nn.Maxout(4, 3, 2, rng=0, dtype=dt), (5, 4)),
    "Dropout": (lambda dt: nn.Dropout(0.5, rng=0), (5, 4)),
    "BatchNorm1d": (lambda dt: nn.BatchNorm1d(3, dtype=dt), (5, 3)),
    "BatchNorm2d": (lambda dt: nn.BatchNorm2d(3, dtype=dt), (2, 3, 4, 4)),
    "LayerNorm": (lambda dt: nn.LayerNorm(4, dtype=dt), (5, 4)),
    "WeightNormLinear": (lambda dt: nn.WeightNormLinear(4, 3, rng=0, dtype=dt), (5, 4)),
    "Conv2d": (lambda dt: nn.Conv2d(2, 3, 3, padding=1, rng=0, dtype=dt), (2, 2, 5, 5)),
    "MaxPool2d": (lambda dt: nn.MaxPool2d(2), (2, 3, 4, 4)),
    "AvgPool2d": (lambda dt: nn.AvgPool2d(2), (2, 3, 4, 4)),
    "AdaptiveAvgPool2d": (lambda dt: nn.AdaptiveAvgPool2d(3), (2, 3, 5, 5)),
    "MaxUnpool2d": (lambda dt: nn.MaxUnpool2d(2), (2, 3, 4, 4)),
    "Upsample": (lambda dt: nn.Upsample(2), (2, 3, 2, 2)),
    "LocalResponseNorm": (lambda dt: nn.LocalResponseNorm(3), (2, 4, 3, 3)),
    "Conv1d": (lambda dt: nn.Conv1d(2, 3, 3, padding=1, rng=0, dtype=dt), (2, 2, 6)),
}
NOT_LAYERS = {"Parameter", "Module"}  # the base classes themselves


def _public_layers() -> list[str]:
    return sorted(
        name for name in nn.__all__
        if inspect.isclass(getattr(nn, name)) and issubclass(getattr(nn, name), Module)
        and name not in NOT_LAYERS
    )


def test_every_layer_has_an_entry() -> None:
    layers = _public_layers()
    assert len(layers) >= 25  # the generated list is not empty by accident
    missing = sorted(set(layers) - set(LAYERS))
    assert not missing, f"add these dlcourse.nn layers to LAYERS: {missing}"
    assert not set(LAYERS) - set(layers), "LAYERS names a class that is no longer public"


def _run(module: Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward of ``module`` on ``x``; MaxUnpool2d gets its MaxPool2d's indices."""
    if isinstance(module, nn.MaxUnpool2d):
        pool = nn.MaxPool2d(2)
        pooled = pool(x)
        out = module(pooled, pool)
        dout = np.random.default_rng(RNG_SEED).standard_normal(out.shape).astype(F32)
        return out, module.backward(dout)
    out = module(x)
    dout = np.random.default_rng(RNG_SEED).standard_normal(out.shape).astype(F32)
    return out, module.backward(dout)


@pytest.mark.parametrize("name", _public_layers())
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_layer_keeps_float32(name: str, mode: str) -> None:
    make, shape = LAYERS[name]
    module = make(F32)
    getattr(module, mode)()
    x = np.random.default_rng(RNG_SEED).standard_normal(shape).astype(F32)
    out, dx = _run(module, x)
    assert out.dtype == F32, f"{name}.forward: float32 in, {out.dtype} out"
    assert dx.dtype == F32, f"{name}.backward: float32 in, {dx.dtype} dx"
    for pname, p in module.named_parameters():
        assert p.data.dtype == F32, f"{name}.{pname}: built with float32, got {p.data.dtype}"
        assert p.grad.dtype == F32, f"{name}.{pname}.grad: {p.grad.dtype}"
        assert np.any(p.grad != 0), f"{name}.{pname}.grad: the backward pass added nothing"
    for bname, b in getattr(module, "named_buffers", lambda: [])():
        if np.issubdtype(b.dtype, np.floating):
            assert b.dtype == F32, f"{name}.{bname}: float32 buffer became {b.dtype}"


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_functional_activation_keeps_float32(name: str) -> None:
    spec = nn.ACTIVATIONS[name]
    x = np.linspace(-3, 3, 13, dtype=F32)
    args = (np.float32(0.25),) if spec.learnable else ()
    assert spec.f(x, *args).dtype == F32
    assert spec.grad(x, *args).dtype == F32


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.prelu_grad_gamma])
def test_functional_keeps_float32(fn: Callable[..., np.ndarray]) -> None:
    x = np.linspace(-3, 3, 12, dtype=F32).reshape(3, 4)
    args = (np.float32(0.25),) if fn is F.prelu_grad_gamma else ()
    assert fn(x, *args).dtype == F32


# ---- losses ------------------------------------------------------------------------------------

_Y01 = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
_YPM = np.array([1.0, -1.0, 1.0, -1.0])
_PRED = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]])
# loss name -> (pred, y, extra keyword arguments); pred is cast to float32
LOSSES: dict[str, tuple[np.ndarray, Any, dict[str, Any]]] = {
    "squared_loss": (_PRED, _PRED[::-1] * 0.5, {}),
    "hinge_loss": (np.array([0.3, -0.2, 2.0, 0.5]), _YPM, {}),
    "logistic_loss": (np.array([0.3, -0.2, 2.0, 0.5]), _YPM, {}),
    "binary_cross_entropy": (np.array([[0.3, 0.2, 0.9], [0.6, 0.1, 0.7]]), _Y01, {}),
    "binary_cross_entropy_with_logits": (_PRED, _Y01, {}),
    "softmax_cross_entropy": (_PRED, np.array([2, 0]), {}),
}
LOSS_CLASSES = {
    "MSELoss": "squared_loss", "HingeLoss": "hinge_loss", "LogisticLoss": "logistic_loss",
    "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "CrossEntropyLoss": "softmax_cross_entropy",
}


def test_every_loss_has_an_entry() -> None:
    public = set(L.__all__)
    assert public == set(LOSSES) | set(LOSS_CLASSES), (
        f"add to LOSSES / LOSS_CLASSES: {sorted(public - set(LOSSES) - set(LOSS_CLASSES))}"
    )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_functional_loss_keeps_float32(name: str) -> None:
    pred, y, kw = LOSSES[name]
    out = getattr(L, name)(pred.astype(F32), y, **kw)
    assert isinstance(out[0], float)
    assert out[1].dtype == F32, f"{name}: float32 pred, {out[1].dtype} gradient"


def test_hinge_loss_weight_gradient_keeps_float32() -> None:
    W = np.ones((3, 2), dtype=F32)
    _, dscores, dW = L.hinge_loss(np.array([0.3, -0.2, 2.0, 0.5], dtype=F32), _YPM, W, 0.1)
    assert dscores.dtype == F32 and dW.dtype == F32


@pytest.mark.parametrize("name", sorted(LOSS_CLASSES))
def test_loss_class_keeps_float32(name: str) -> None:
    pred, y, _ = LOSSES[LOSS_CLASSES[name]]
    loss = getattr(L, name)()
    value = loss(pred.astype(F32), y)
    assert isinstance(value, float)
    assert loss.backward().dtype == F32, f"{name}.backward: {loss.backward().dtype}"
    if hasattr(loss, "probs"):
        assert loss.probs.dtype == F32, f"{name}.probs: {loss.probs.dtype}"


# ---- optimisers --------------------------------------------------------------------------------

# optimiser name -> keyword arguments that switch on every branch of its update
OPTIMIZERS: dict[str, list[dict[str, Any]]] = {
    "SGD": [{"lr": 0.1}, {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-2},
            {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2},
            {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}],
    "AdaGrad": [{"lr": 0.1, "weight_decay": 1e-2}],
    "RMSProp": [{"lr": 0.01, "weight_decay": 1e-2}, {"lr": 0.01, "momentum": 0.9},
                {"lr": 0.01, "momentum": 0.9, "nesterov": True}],
    "AdaDelta": [{"lr": 1.0, "weight_decay": 1e-2}],
    "Adam": [{"lr": 1e-3, "weight_decay": 1e-2}, {"lr": 1e-3, "betas": (0.5, 0.9)}],
}
# schedule name -> constructor
SCHEDULES: dict[str, Callable[[], Callable[[int], float]]] = {
    "PiecewiseConstant": lambda: S.PiecewiseConstant(0.1, [2, 4], [0.5, 0.1]),
    "StepDecay": lambda: S.StepDecay(0.1, step_size=2, gamma=0.5),
    "InverseTimeDecay": lambda: S.InverseTimeDecay(0.1, beta=0.5),
    "ExponentialDecay": lambda: S.ExponentialDecay(0.1, beta=0.9),
    "NaturalExpDecay": lambda: S.NaturalExpDecay(0.1, beta=0.1),
    "CosineDecay": lambda: S.CosineDecay(0.1, total_steps=5, min_lr=0.001),
    "GradualWarmup": lambda: S.GradualWarmup(0.1, warmup_steps=3),
    "TriangularCyclic": lambda: S.TriangularCyclic(0.01, 0.1, half_cycle=2),
}


def test_every_optimizer_and_schedule_has_an_entry() -> None:
    rules = {n for n in optim.__all__ if inspect.isclass(getattr(optim, n))
             and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"}
    assert rules == set(OPTIMIZERS), f"OPTIMIZERS differs from dlcourse.optim: {sorted(rules)}"
    scheds = {n for n in S.__all__ if n != "Schedule"}
    assert scheds == set(SCHEDULES), f"SCHEDULES differs from the schedules: {sorted(scheds)}"


def _float32_params() -> list[nn.Parameter]:
    rng = np.random.default_rng(RNG_SEED)
    return [nn.Parameter(rng.standard_normal(s).astype(F32)) for s in ((3, 4), (4,))]


def _arrays(obj: Any) -> list[np.ndarray]:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in _arrays(v)]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _arrays(v)]
    return []


def _cases() -> list[tuple[str, dict[str, Any], str]]:
    return [(rule, kw, sched) for rule, kws in sorted(OPTIMIZERS.items()) for kw in kws
            for sched in ["none", *sorted(SCHEDULES)]]


@pytest.mark.parametrize(("rule", "kwargs", "schedule"), _cases())
def test_optimizer_step_keeps_float32(rule: str, kwargs: dict[str, Any], schedule: str) -> None:
    params = _float32_params()
    opt = getattr(optim, rule)(params, **kwargs)
    if schedule != "none":
        opt.schedule = SCHEDULES[schedule]()
    rng = np.random.default_rng(RNG_SEED + 1)
    before = [p.data.copy() for p in params]
    data_ids = [id(p.data) for p in params]

    def closure() -> float:
        for p in params:
            p.grad[...] = rng.standard_normal(p.shape).astype(F32)
        return 0.0

    for _ in range(6):
        opt.zero_grad()
        closure()
        total = optim.clip_grad_norm(params, max_norm=1.0)
        assert isinstance(total, float)
        optim.clip_grad_value(params, 0.5)
        opt.step(closure) if kwargs.get("nesterov") and rule == "RMSProp" else opt.step()
    assert [id(p.data) for p in params] == data_ids  # updated in place
    for i, p in enumerate(params):
        assert p.data.dtype == F32, f"{rule} {kwargs} {schedule}: params[{i}] {p.data.dtype}"
        assert p.grad.dtype == F32, f"{rule}: params[{i}].grad {p.grad.dtype}"
        assert not np.array_equal(p.data, before[i])
    for a in _arrays(opt.state):
        assert a.dtype == F32, f"{rule} {kwargs}: state array of dtype {a.dtype}"
    assert isinstance(opt.lr, float) and math.isfinite(opt.lr)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_return_python_floats(name: str) -> None:
    """A numpy float64 learning rate would promote every float32 update it multiplies."""
    sched = SCHEDULES[name]()
    for t in range(8):
        assert type(sched(t)) is float, f"{name}({t}) is {type(sched(t)).__name__}"


# ---- numpy float64 scalars as hyper-parameters ---------------------------------------------------

_A = np.float64(0.3)  # a numpy float64 scalar: multiplying a float32 array by it promotes
_X = np.linspace(-3, 3, 7, dtype=F32)
_SCALAR_CASES: dict[str, Callable[[], np.ndarray]] = {
    "leaky_relu": lambda: F.leaky_relu(_X, _A),
    "leaky_relu_grad": lambda: F.leaky_relu_grad(_X, _A),
    "elu": lambda: F.elu(_X, _A),
    "elu_grad": lambda: F.elu_grad(_X, _A),
    "swish": lambda: F.swish(_X, _A),
    "swish_grad": lambda: F.swish_grad(_X, _A),
    "prelu": lambda: F.prelu(_X, _A),
    "prelu_grad": lambda: F.prelu_grad(_X, np.array([_A])),
    "LeakyReLU": lambda: nn.LeakyReLU(_A)(_X),
    "ELU": lambda: nn.ELU(_A)(_X),
    "Swish": lambda: nn.Swish(_A)(_X),
    "PReLU": lambda: nn.PReLU(init=_A, dtype=F32)(_X),
    "Dropout": lambda: nn.Dropout(_A, rng=0)(_X),
    "LocalResponseNorm": lambda: nn.LocalResponseNorm(3, alpha=_A, beta=_A, k=_A)(
        _X.reshape(1, 7, 1)),
    "BatchNorm1d": lambda: nn.BatchNorm1d(7, eps=np.float64(1e-3), momentum=_A, dtype=F32)(
        np.stack([_X, 2 * _X, -_X])),
    "LayerNorm": lambda: nn.LayerNorm(7, eps=np.float64(1e-3), dtype=F32)(_X),
    "softmax_cross_entropy": lambda: L.softmax_cross_entropy(
        _X.reshape(1, 7), [2], label_smoothing=_A)[1],
    "hinge_loss dW": lambda: L.hinge_loss(_X, np.sign(_X + 0.5), np.ones(3, F32), lam=_A)[2],
}


@pytest.mark.parametrize("name", sorted(_SCALAR_CASES))
def test_numpy_scalar_hyperparameters_do_not_promote(name: str) -> None:
    assert _SCALAR_CASES[name]().dtype == F32


@pytest.mark.parametrize("rule", sorted(OPTIMIZERS))
def test_optimizer_hyperparameters_are_python_floats(rule: str) -> None:
    """numpy scalars given to a constructor or returned by a schedule are stored as floats."""
    params = _float32_params()
    kwargs = {k: (np.float64(v) if isinstance(v, float) else v)
              for kw in OPTIMIZERS[rule] for k, v in kw.items() if k != "nesterov"}
    opt = getattr(optim, rule)(params, **kwargs)
    opt.schedule = lambda t: np.float64(0.01)
    for p in params:
        p.grad[...] = 1.0
    opt.step(lambda: 0.0)
    for key, value in opt.state_dict().items():
        if key not in ("state", "t", "nesterov", "betas"):
            assert type(value) is float, f"{rule}.{key} is {type(value).__name__}"
    assert all(p.data.dtype == F32 for p in params)
