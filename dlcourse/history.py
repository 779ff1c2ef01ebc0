"""The record of a training run: :class:`History`, a dict of per-epoch lists.

:func:`dlcourse.train.fit` appends one value per epoch under ``"train_<name>"`` for every
value ``name`` its step returns (the supervised step returns ``loss`` and ``acc``; a GAN step
``d_loss`` and ``g_loss``; a DQN step ``return``), under ``"val_<name>"`` for validation, and
the epoch's wall-clock seconds under ``"time"``. The names a supervised run records,
``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` and ``time``, can also be read as
attributes (``history.val_acc``); other keys are read as attributes when recorded.

Which direction is better? :func:`monitor_mode` decides for ``best_epoch`` and
``EarlyStopping``: a key whose last word is ``acc``, ``accuracy``, ``f1``, ``precision``,
``recall``, ``return`` or ``reward`` is maximised, everything else (losses, ``*_error``)
minimised, unless ``mode="min"`` or ``"max"`` says otherwise.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from dlcourse._validate import check_choice

__all__ = ["History", "EpochMeans", "monitor_mode"]

# names a supervised run records, readable as attributes even before they are recorded
_STANDARD = ("train_loss", "train_acc", "val_loss", "val_acc", "time")
# last word of a key that is better when larger
_MAXIMISED = ("acc", "accuracy", "f1", "precision", "recall", "return", "reward")


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``"min"`` or ``"max"``: the direction in which ``monitor`` improves.

    Args:
        monitor: a History key such as ``"val_loss"`` or ``"train_return"``.
        mode: ``"auto"`` (by the key's last word, see the module docstring), ``"min"`` or
            ``"max"``.

    Example:
        >>> monitor_mode("val_acc"), monitor_mode("val_error"), monitor_mode("train_return")
        ('max', 'min', 'max')
    """
    check_choice("mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    return "max" if monitor.rsplit("_", 1)[-1] in _MAXIMISED else "min"


class History(dict[str, list[float]]):
    """Per-epoch values of a :func:`~dlcourse.train.fit` run (index ``e`` = epoch ``e + 1``).

    A ``dict`` from key to list of floats (so ``json.dump(history)`` and
    ``pandas.DataFrame(history)`` work). Keys written by ``fit``:

    - ``train_<name>``: the epoch's mean of the value ``name`` returned by the step, weighted by
      batch size when the batch has one (running, in train mode); the supervised step gives
      ``train_loss`` and, with the ``"accuracy"`` metric, ``train_acc``;
    - ``val_<name>``: the same on the validation data, in eval mode, after the epoch;
    - ``time``: wall-clock seconds of each epoch (training + validation).

    An epoch in which the step did not report a key gets NaN for it, so every list has one
    entry per epoch. ``history.train_loss`` etc. read the standard keys as attributes (an
    empty list until recorded); any recorded key can be read the same way.

    Args:
        data: a mapping ``key -> sequence of floats`` to start from (e.g. a loaded JSON).
        **lists: more keys, e.g. ``History(train_loss=[1.0, 0.5])``.
    """

    __slots__ = ()

    def __init__(self, data: Mapping[str, Iterable[float]] | None = None, /,
                 **lists: Iterable[float]) -> None:
        super().__init__()
        if data is not None and not isinstance(data, Mapping):
            raise TypeError(
                f"data: expected a mapping key -> list of floats, got {type(data).__name__}"
            )
        for source in (data or {}), lists:
            for key, values in source.items():
                self[_key(key)] = list(values)

    # ---- attribute access to keys
    def __getattr__(self, name: str) -> list[float]:
        if name in self:
            return self[name]
        if name in _STANDARD:
            return self.setdefault(name, [])  # stored, so .append() records
        raise AttributeError(
            f"'History' object has no attribute {name!r} (recorded keys: {list(self)})"
        )

    def __setattr__(self, name: str, value: Iterable[float]) -> None:
        if hasattr(type(self), name):
            raise AttributeError(f"History.{name} is read-only")
        self[_key(name)] = list(value)

    def __repr__(self) -> str:
        return f"History({dict.__repr__(self)})"

    def append_epoch(self, values: Mapping[str, float]) -> None:
        """Record one epoch: append each value, and NaN for every recorded key missing from
        ``values``; a new key gets NaN for the earlier epochs, so all lists stay aligned."""
        epochs = self.epochs
        for key in values:
            if key not in self:
                self[_key(key)] = [float("nan")] * epochs
        for key, column in self.items():
            column.append(float(values.get(key, float("nan"))))

    # ---- queries
    @property
    def epochs(self) -> int:
        """Number of recorded epochs (the length of the longest list)."""
        return max((len(v) for v in self.values()), default=0)

    def as_dict(self) -> dict[str, list[float]]:
        """The lists as a plain dict (copies), e.g. for ``json.dump`` or a DataFrame."""
        return {k: list(v) for k, v in self.items()}

    def metric(self, monitor: str) -> list[float]:
        """Values of ``monitor`` per epoch (a copy); ``X_error`` is ``1 - X_acc`` if only the
        accuracy was recorded."""
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected a History key (str), got {monitor!r}")
        if self.get(monitor):
            return list(self[monitor])
        base = monitor[: -len("_error")] + "_acc" if monitor.endswith("_error") else monitor
        if self.get(base):
            return [1.0 - v for v in self[base]]
        if base in self or base in _STANDARD:
            hint = ("pass val= to fit" if base.startswith("val_")
                    else "keep 'accuracy' in metrics" if base == "train_acc" else "")
            raise ValueError(
                f"monitor: the history has no {base} values" + (f" ({hint})" if hint else "")
                + f", got {monitor!r}"
            )
        keys = [k for k, v in self.items() if v and k != "time"]
        raise ValueError(
            f"monitor: expected one of the recorded keys {keys} (or X_error for a recorded "
            f"X_acc), got {monitor!r}"
        )

    def best_epoch(self, monitor: str | None = None, mode: str = "auto") -> int:
        """Index of the best epoch (the earliest one on ties; NaN epochs never win).

        Args:
            monitor: a recorded key or ``X_error``; default ``val_error`` if validation
                accuracy was recorded, else ``val_loss``, else ``train_loss``.
            mode: ``"auto"``, ``"min"`` or ``"max"`` (see :func:`monitor_mode`).
        """
        if monitor is None:
            monitor = ("val_error" if self.get("val_acc") else
                       "val_loss" if self.get("val_loss") else "train_loss")
        values = np.asarray(self.metric(monitor), dtype=np.float64)
        direction = monitor_mode(monitor, mode)
        if np.all(np.isnan(values)):
            raise ValueError(f"monitor: every recorded value of {monitor!r} is NaN")
        return int(np.nanargmax(values) if direction == "max" else np.nanargmin(values))


class EpochMeans:
    """The epoch's mean of each value a step returns, weighted by batch size.

    Call ``add(values, batch)`` after each step with the dict the step returned and the batch
    it ran on; the batch's size is the weight (the length of an array batch or of the first
    array of a tuple batch, e.g. ``(xb, yb)``; 1 for anything else, such as the step number of
    a ``range(k)`` loader). A value missing from some steps is averaged over the others.
    """

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.weights: dict[str, int] = {}
        self.batches = 0

    def add(self, values: object, batch: Any = None) -> dict[str, float]:
        """Add one step's ``values`` (checked: a dict str -> real number); return them as floats."""
        if not isinstance(values, Mapping):
            raise TypeError(
                "step: expected step(batch) to return a dict of floats such as {'loss': 0.5}, "
                f"got {type(values).__name__}"
            )
        first = batch[0] if isinstance(batch, (tuple, list)) and batch else batch
        weight = int(first.shape[0]) if isinstance(first, np.ndarray) and first.ndim else 1
        out = {}
        for k, v in values.items():
            ok = isinstance(v, numbers.Real) or (isinstance(v, np.ndarray) and v.ndim == 0
                                                 and np.issubdtype(v.dtype, np.number))
            if not isinstance(k, str) or not ok:
                raise TypeError(
                    f"step: expected str -> float in the returned dict, got {k!r}: {v!r}"
                )
            out[k] = float(v)
            self.sums[k] = self.sums.get(k, 0.0) + out[k] * weight
            self.weights[k] = self.weights.get(k, 0) + weight
        self.batches += 1
        return out

    def means(self, name: str = "data") -> dict[str, float]:
        """The weighted means; ``ValueError`` naming the data ``name`` if no step was added."""
        if self.batches == 0:
            raise ValueError(
                f"{name}: expected at least one batch, got none (a generator can be iterated "
                "only once: use a DataLoader)"
            )
        return {k: s / self.weights[k] for k, s in self.sums.items()}


def _key(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"History keys must be str, got {type(name).__name__} {name!r}")
    return name
