"""The steps :func:`dlcourse.train.fit` runs on each batch: one supervised update
(:func:`supervised_step`) or one evaluation (:func:`evaluation_step`).

A step is any callable ``step(batch) -> dict of floats``: it does the whole work on one batch
and returns what to record. These two are the supervised ones; a GAN, an RBM or DQN write their
own (see the ``dlcourse.train`` module docstring).

A diverging run stops with :class:`NonFiniteError` (see :class:`NonFiniteGuard` for what
``fit`` checks and when): the supervised step checks its loss before the update, so the
parameters are still those the bad step started from.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._validate import check_choice
from dlcourse.metrics import output_accuracy
from dlcourse.nn.grad_mode import backward_of

__all__ = ["Step", "Metrics", "supervised_step", "evaluation_step", "NonFiniteError",
           "NonFiniteGuard", "ON_NONFINITE"]

#: The choices of ``fit(..., on_nonfinite=...)``.
ON_NONFINITE = ("raise", "warn", "ignore")

_ADVICE = ("The run diverged: lower the learning rate, clip the gradients "
           "(dlcourse.optim.clip_grad_norm) or check the data and the model; "
           "fit(..., on_nonfinite='warn') warns instead")


class NonFiniteError(FloatingPointError):
    """A training run's loss, a value its step returned, a gradient or a parameter became NaN
    or infinite.

    Attributes:
        quantity: what became non-finite, e.g. ``"the loss"``, ``"the step's value 'd_loss'"``,
            ``"the gradient of parameter '0.W'"``, ``"parameter '0.W'"``.
        value: the non-finite value found (NaN, inf or -inf).
        loss: the loss of the batch involved, or None (a step that returns no loss).
        epoch, step: 1-based position in the run (``step`` counts batches within the epoch);
            None when raised outside :func:`~dlcourse.train.fit`.
        detail: what happened to the parameters (e.g. "the step stopped before its update").
        history: set by :func:`~dlcourse.train.fit`: the History of the epochs completed
            before the stop (None outside ``fit``).
    """

    history: Any = None

    def __init__(self, quantity: str, value: float, loss: float | None = None,
                 epoch: int | None = None, step: int | None = None, detail: str = "") -> None:
        self.quantity, self.value, self.loss = quantity, float(value), loss
        self.epoch, self.step, self.detail = epoch, step, detail
        where = "" if epoch is None else f" at epoch {epoch}, step {step}"
        batch = "" if loss is None else f" (batch loss {loss:.6g})"
        detail = f"; {detail}" if detail else ""
        super().__init__(f"{quantity} is {self.value}{where}{batch}{detail}. {_ADVICE}")

    def at(self, epoch: int, step: int) -> NonFiniteError:
        """The same error, positioned at ``epoch``, ``step`` (1-based)."""
        return NonFiniteError(self.quantity, self.value, self.loss, epoch, step, self.detail)


def _named_parameters(model: Any) -> list[tuple[str, Any]]:
    """``(name, Parameter)`` of a duck-typed model: ``named_parameters()``, else
    ``parameters()`` numbered, else none (a model without parameters is not checked)."""
    if model is None:
        return []
    if callable(getattr(model, "named_parameters", None)):
        return list(model.named_parameters())
    if callable(getattr(model, "parameters", None)):
        return [(f"parameters()[{i}]", p) for i, p in enumerate(model.parameters())]
    return []


def _first_nonfinite(a: Any) -> float | None:
    """The first NaN/inf entry of ``a`` (None if every entry is finite)."""
    arr = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.inexact):
        return None
    bad = ~np.isfinite(arr)
    return float(arr[bad].flat[0]) if bad.any() else None


class NonFiniteGuard:
    """What :func:`~dlcourse.train.fit` checks for NaN and infinity, and when.

    - Every step, the loss: the supervised step checks it *before* its backward pass and
      update, so on a stop the parameters are still those the bad step started from (a float
      comparison: free). With ``fit(step=...)`` every value the step returns is checked, after
      the step's own update (``fit`` cannot see inside it).
    - The end of every epoch: every parameter and its gradient (``model.named_parameters()``),
      so a last update that made them non-finite stops the run before validation.
    - When a step raises ``ValueError`` or ``FloatingPointError`` (a layer rejects a NaN input,
      the loss rejects infinite logits): the parameters, so an update that made one of them
      non-finite is reported as such, naming that update's epoch, step and loss, instead of
      as a layer's input error.

    In ``"raise"`` mode the gradients are not scanned every step: that cost 2–6 % of a small
    MLP step (784-128-10 and 64-32-10, batch 32–64, float32 and float64, measured), above a
    2 % budget, while a non-finite gradient cannot go unnoticed: the parameter it updates
    becomes non-finite, and the next step's forward pass or loss fails (third point) or the
    epoch's end comes first (second point). In ``"warn"`` mode the supervised step scans them
    every step, because it skips a step whose loss or gradient is non-finite and goes on.

    Args:
        model: the model (None or one without parameters: only the values are checked).
        mode: ``"raise"`` (:class:`NonFiniteError`), ``"warn"`` (a ``RuntimeWarning`` naming the
            epoch and step; a supervised step is skipped, without an update) or ``"ignore"``
            (no checks at all).
    """

    def __init__(self, model: Any, mode: str = "raise") -> None:
        check_choice("on_nonfinite", mode, ON_NONFINITE)
        self.mode = mode
        self.params = _named_parameters(model) if mode != "ignore" else []
        self.last: tuple[int, int, float | None] | None = None  # epoch, step, loss of the last step

    @property
    def step_check(self) -> str:
        """The ``check_finite`` of the supervised step for this mode."""
        return {"raise": "loss", "warn": "gradients", "ignore": "none"}[self.mode]

    def report(self, err: NonFiniteError, cause: BaseException | None = None) -> None:
        """Raise ``err`` (mode "raise", or with a ``cause``: the run cannot go on) or warn."""
        if self.mode == "raise" or cause is not None:
            raise err from cause
        warnings.warn(str(err), RuntimeWarning, stacklevel=4)

    def values(self, values: Mapping[str, float], epoch: int, step: int) -> None:
        """Check the floats a step returned (``"loss"`` first)."""
        if self.mode == "ignore":
            return
        loss = values.get("loss")
        self.last = (epoch, step, loss)
        for name in sorted(values, key=lambda k: k != "loss"):
            v = values[name]
            if not math.isfinite(v):
                what = "the loss" if name == "loss" else f"the step's value {name!r}"
                self.report(NonFiniteError(what, v, loss, epoch, step,
                                           "the step had made its update"))
                return

    def parameters(self, epoch: int, step: int, cause: BaseException | None = None) -> None:
        """Check every parameter and its gradient: at the end of an epoch (``step`` its last
        one), or when step ``step`` failed with ``cause``."""
        if self.mode == "ignore":
            return
        for name, p in self.params:
            for what, arr in ((f"parameter {name!r}", p.data),
                              (f"the gradient of parameter {name!r}", p.grad)):
                value = _first_nonfinite(arr)
                if value is None:
                    continue
                loss = self.last[2] if self.last else None
                if cause is None:
                    err = NonFiniteError(what, value, loss, epoch, step,
                                         "found at the end of the epoch")
                else:
                    made = ("it was so before the first step" if self.last is None else
                            "the update of epoch {}, step {} made it so (its batch loss {!r})"
                            .format(*self.last))
                    err = NonFiniteError(what, value, None, epoch, step,
                                         f"{made}, and this step failed with: {cause}")
                self.report(err, cause)
                return


def _check_gradients(model: Any, loss: float) -> None:
    """Raise :class:`NonFiniteError` for the first non-finite parameter gradient."""
    for name, p in _named_parameters(model):
        value = _first_nonfinite(p.grad)
        if value is not None:
            raise NonFiniteError(f"the gradient of parameter {name!r}", value, loss,
                                 detail="the step was skipped, without an update")


_CHECKS = ("loss", "gradients", "none")


Step = Callable[[Any], Mapping[str, float]]
MetricFn = Callable[[Any, Any], float]
Metrics = Sequence[str | MetricFn] | Mapping[str, MetricFn]

_METRICS: dict[str, MetricFn] = {"accuracy": output_accuracy}


def _resolve_metrics(metrics: Metrics | None) -> dict[str, MetricFn]:
    """Name -> ``fn(y_true, out) -> float`` from names, callables or a mapping."""
    if metrics is None:
        return {}
    if isinstance(metrics, str):
        raise TypeError(
            f"metrics: expected a tuple of names such as ('accuracy',), got {metrics!r}"
        )
    if isinstance(metrics, Mapping):
        pairs = list(metrics.items())
    elif isinstance(metrics, Iterable):
        pairs = []
        for m in metrics:
            if isinstance(m, str):
                check_choice("metrics", m, tuple(_METRICS))
                pairs.append((m, _METRICS[m]))
            elif callable(m):
                name = getattr(m, "__name__", "")
                if not name.isidentifier():
                    raise TypeError(
                        f"metrics: a callable without a usable name ({m!r}); pass a dict "
                        "{'name': fn} instead"
                    )
                pairs.append((name, m))
            else:
                raise TypeError(
                    "metrics: expected names such as 'accuracy' or callables "
                    f"fn(y_true, out) -> float, got {type(m).__name__} {m!r}"
                )
    else:
        raise TypeError(f"metrics: expected a tuple or a dict, got {type(metrics).__name__}")
    resolved: dict[str, MetricFn] = {}
    for name, fn in pairs:
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"metrics: expected str -> callable, got {name!r}: {fn!r}")
        if name == "loss" or name in resolved:
            raise ValueError(f"metrics: expected distinct names other than 'loss', got {name!r}")
        resolved[name] = fn
    return resolved


def _xy(batch: Any) -> tuple[Any, Any]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and batch[1] is not None):
        got = ("(xb, None) (a DataLoader without targets)"
               if isinstance(batch, (tuple, list)) and len(batch) == 2 else type(batch).__name__)
        raise TypeError(
            f"train_loader: a supervised step expects (xb, yb) batches, got {got}; for other "
            "data pass fit(step=...)"
        )
    return batch[0], batch[1]


def supervised_step(model: Any, loss: Any, optimizer: Any,
                    metrics: Metrics = ("accuracy",), check_finite: str = "loss") -> Step:
    """The step of ``fit(model, loss, optimizer, loader)``: one gradient update on a batch.

    Args:
        model, loss, optimizer: see the protocols in the module docstring.
        metrics: names (``"accuracy"``: :func:`dlcourse.metrics.output_accuracy`), callables
            ``fn(y_true, out) -> float`` (recorded under their ``__name__``), or a dict
            ``name -> fn``; computed on the batch's output before the update.
        check_finite: ``"loss"``: raise :class:`NonFiniteError` when the loss is NaN or
            infinite, before the backward pass and the update; ``"gradients"``: also when a
            parameter's gradient is (scanned every step, before the update); ``"none"``.
            ``fit`` positions the error at its epoch and step (see :class:`NonFiniteGuard`).

    Returns:
        ``step((xb, yb)) -> {"loss": float, <metric name>: float, ...}``.
    """
    fns = _resolve_metrics(metrics)
    check_choice("check_finite", check_finite, _CHECKS)

    def step(batch: Any) -> dict[str, float]:
        xb, yb = _xy(batch)
        optimizer.zero_grad()
        out = model(xb)
        values = {"loss": float(loss(out, yb))}
        if check_finite != "none" and not math.isfinite(values["loss"]):
            raise NonFiniteError("the loss", values["loss"], values["loss"],
                                 detail="the step stopped before its update")
        backward_of(model, loss.backward(), need_dx=False)
        if check_finite == "gradients":
            _check_gradients(model, values["loss"])
        optimizer.step()
        for name, fn in fns.items():
            values[name] = float(fn(yb, out))
        return values

    return step


def evaluation_step(model: Any, loss: Any | None, metrics: Metrics = ("accuracy",)) -> Step:
    """The validation step of :func:`fit` and :func:`evaluate`: loss and metrics, no update.

    Returns:
        ``step((xb, yb)) -> {"loss": float, <metric name>: float, ...}`` (no ``"loss"`` when
        ``loss`` is None). Run it in eval mode under ``no_grad`` (``fit`` and ``evaluate`` do).
    """
    fns = _resolve_metrics(metrics)
    if loss is None and not fns:
        raise ValueError("metrics: with loss=None at least one metric is needed, got none")

    def step(batch: Any) -> dict[str, float]:
        xb, yb = _xy(batch)
        out = model(xb)
        values = {} if loss is None else {"loss": float(loss(out, yb))}
        for name, fn in fns.items():
            values[name] = float(fn(yb, out))
        return values

    return step
