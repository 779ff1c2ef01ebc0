"""The steps :func:`dlcourse.train.fit` runs on each batch: one supervised update
(:func:`supervised_step`) or one evaluation (:func:`evaluation_step`).

A step is any callable ``step(batch) -> dict of floats``: it does the whole work on one batch
and returns what to record. These two are the supervised ones; a GAN, an RBM or DQN write their
own (see the ``dlcourse.train`` module docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from dlcourse._validate import check_choice
from dlcourse.metrics import output_accuracy
from dlcourse.nn.grad_mode import backward_of

__all__ = ["Step", "Metrics", "supervised_step", "evaluation_step"]

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
                    metrics: Metrics = ("accuracy",)) -> Step:
    """The step of ``fit(model, loss, optimizer, loader)``: one gradient update on a batch.

    Args:
        model, loss, optimizer: see the protocols in the module docstring.
        metrics: names (``"accuracy"``: :func:`dlcourse.metrics.output_accuracy`), callables
            ``fn(y_true, out) -> float`` (recorded under their ``__name__``), or a dict
            ``name -> fn``; computed on the batch's output before the update.

    Returns:
        ``step((xb, yb)) -> {"loss": float, <metric name>: float, ...}``.
    """
    fns = _resolve_metrics(metrics)

    def step(batch: Any) -> dict[str, float]:
        xb, yb = _xy(batch)
        optimizer.zero_grad()
        out = model(xb)
        values = {"loss": float(loss(out, yb))}
        backward_of(model, loss.backward(), need_dx=False)
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
