"""Training curves (from a ``History``) and per-layer gradient norms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dlcourse._validate import (
    as_float_array,
    check_choice,
    check_ndim,
)
from dlcourse.plot._common import (
    _HISTORY_METRICS,
    _SPLIT_LABELS,
    _SPLITS,
    Axes,
    MaxNLocator,
    _axes_list,
    _single_axes,
)
from dlcourse.train import History

# ---- training curves --------------------------------------------------------------------------


def plot_history(
    history: History | Mapping[str, Sequence[float]],
    ax: Axes | Sequence[Axes] | None = None,
    metrics: str | Sequence[str] = ("loss", "accuracy"),
    *,
    splits: Sequence[str] | None = None,
    label: str | None = None,
) -> list[Axes]:
    """Per-epoch curves of a :func:`dlcourse.train.fit` run, one panel per metric.

    Each panel shows the training curve (``"o-"``) and the validation curve (``"s-"``) of
    one metric against the epoch (1, 2, ...), with x label ``epoch``, a y label and title
    named after the metric, and a legend. Call it once per run on the same axes to compare
    runs (pass ``label`` to name each run in the legend). Epochs with NaN (a value the step
    did not report) leave a gap.

    Args:
        history: the :class:`~dlcourse.history.History` returned by ``fit``, or a dict of
            per-epoch lists with the same keys (e.g. loaded from JSON).
        ax: None (a new figure with one panel per metric), one Axes (one metric), or a
            sequence of Axes, one per metric.
        metrics: ``"loss"``, ``"accuracy"``, ``"error"`` (1 - accuracy), or the name of any
            value a ``step=`` run recorded (``"d_loss"`` plots ``train_d_loss``/``val_d_loss``).
        splits: ``("train", "val")``, ``("train",)`` or ``("val",)``; default: every split
            with a recorded value of one of the metrics.
        label: legend name of this run; the legend reads ``label`` when one split is drawn,
            ``"label, train (...)"`` etc. when both are. Default: the split names.

    Returns:
        The Axes drawn on, one per metric.
    """
    if not isinstance(history, History):
        if not isinstance(history, Mapping):
            raise TypeError(
                "history: expected a dlcourse.train.History or a dict of per-epoch lists, "
                f"got {type(history).__name__}"
            )
        history = History(history)
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not metrics:
        raise ValueError("metrics: expected at least one of ['loss', 'accuracy', 'error'], got ()")
    recorded = {k.split("_", 1)[1] for k, v in history.items() if v and "_" in k
                and k.split("_", 1)[0] in _SPLITS}
    for m in metrics:
        check_choice("metrics", m, tuple(dict.fromkeys([*_HISTORY_METRICS, *sorted(recorded)])))
    suffixes = {m: _HISTORY_METRICS.get(m, (m, m))[0] for m in metrics}

    def has(split: str, suffix: str) -> bool:
        base = f"{split}_acc" if suffix == "error" else f"{split}_{suffix}"
        return bool(history.get(base))

    if splits is None:
        splits = tuple(s for s in _SPLITS if any(has(s, suffixes[m]) for m in metrics))
    else:
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        if not splits:
            raise ValueError("splits: expected ('train', 'val'), ('train',) or ('val',), got ()")
        for s in splits:
            check_choice("splits", s, _SPLITS)
    if not splits:
        raise ValueError(
            f"history: expected at least one recorded epoch of {list(metrics)}, got keys "
            f"{[k for k, v in history.items() if v]}"
        )
    axes = _axes_list(ax, len(metrics), (5.5, 3.6))
    for a, m in zip(axes, metrics, strict=True):
        suffix, ylabel = _HISTORY_METRICS.get(m, (m, m))
        for s in splits:
            values = history.metric(f"{s}_{suffix}")
            fmt = "s-" if s == "val" and len(splits) == 2 else "o-"
            name = _SPLIT_LABELS[s]
            if label is not None:
                name = label if len(splits) == 1 else f"{label}, {name}"
            a.plot(np.arange(1, len(values) + 1), values, fmt, label=name)
        a.set_xlabel("epoch")
        a.set_ylabel(ylabel)
        a.set_title(m)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.legend()
    return axes


# ---- gradient norms per layer -----------------------------------------------------------------


def plot_layer_norms(
    norms: Mapping[str, object] | object,
    ax: Axes | None = None,
    *,
    xlabel: str = "layer l (1 = closest to the input)",
    ylabel: str = "||dL/dW^(l)||_F",
) -> Axes:
    """Per-layer norms (e.g. of the weight gradients) on a log scale, layer 1 first.

    Args:
        norms: one curve ``(L,)`` of non-negative values, or a mapping ``name -> (L,)``
            for several curves (the names go into the legend). Zeros are not drawn (log
            scale).
        ax: the Axes to draw on; default a new figure.
        xlabel, ylabel: axis labels.

    Returns:
        The Axes, with a tick at every layer.
    """
    curves = dict(norms) if isinstance(norms, Mapping) else {None: norms}
    if not curves:
        raise ValueError("norms: expected at least one curve, got an empty mapping")
    checked: dict[str | None, np.ndarray] = {}
    for name, values in curves.items():
        arg = "norms" if name is None else f"norms[{name!r}]"
        v = as_float_array(arg, values)
        check_ndim(arg, v, 1, "(L,)")
        if v.size == 0 or v.min() < 0:
            raise ValueError(f"{arg}: expected at least one value, all >= 0, got {v.tolist()}")
        checked[name] = v
    ax = _single_axes(ax, (7.0, 3.8))
    for name, v in checked.items():
        ax.semilogy(np.arange(1, len(v) + 1), v, "o-", label=name)
    ax.set_xticks(np.arange(1, max(len(v) for v in checked.values()) + 1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if None not in checked:
        ax.legend()
    return ax
