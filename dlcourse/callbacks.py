"""Callbacks of :func:`dlcourse.train.fit`: :class:`EarlyStopping`.

A callback is any callable ``cb(epoch, history) -> bool`` run after each epoch (``epoch``
counts from 0); ``fit`` stops after an epoch where one returns True. A callback with
``on_train_begin(model)`` / ``on_train_end(model)`` methods gets those called too, with the
``model`` given to ``fit`` (None when a ``step=`` run has no model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse._validate import check_int, check_nonnegative
from dlcourse.history import History, monitor_mode

__all__ = ["Callback", "EarlyStopping"]

Callback = Callable[[int, History], Any]


class EarlyStopping:
    """Stop when the monitored quantity has not improved for ``patience`` evaluations.

    The notes' rule "train until the validation error stops decreasing", i.e. the early-stopping
    meta-algorithm 5.6: with the default ``monitor="val_error"`` (1 − validation accuracy), an
    evaluation improves if its error is below the best so far by more than ``min_delta``
    (alg. 5.6: v′ < v); after ``patience`` evaluations in a row without improvement (alg. 5.6's
    counter j reaching p), :func:`~dlcourse.train.fit` stops. With ``restore_best`` the weights
    of the best evaluation θ* (saved with ``model.state_dict()``) are put back when training
    ends, whether it stopped early or ran out of epochs.

    Alg. 5.6 evaluates every n training steps. ``fit`` validates after each epoch, so here the
    evaluation interval is ``interval`` epochs: n = ``interval`` · ``steps_per_epoch`` steps
    (epochs in between are ignored and count towards neither the best nor the patience). For
    an interval shorter than one pass over the data, make an "epoch" of n steps (a loader over
    n batches, or ``fit(train_loader=range(n), step=...)``). Given ``steps_per_epoch``, the
    best number of training steps i* is ``best_step`` = (``best_epoch`` + 1) · steps_per_epoch.

    Args:
        patience: evaluations without improvement before stopping (alg. 5.6's p), >= 1.
        monitor: any key the run records (``"val_loss"``, ``"train_g_loss"``, ...) or
            ``X_error`` for a recorded ``X_acc``.
        min_delta: smallest change that counts as an improvement, >= 0.
        restore_best: reload the best epoch's weights at the end (needs ``fit(model=...)``).
        mode: ``"auto"`` (accuracies, F1, returns are maximised, the rest minimised; see
            :func:`dlcourse.history.monitor_mode`), ``"min"`` or ``"max"``.
        interval: evaluate after every ``interval``-th epoch (epochs ``interval − 1``,
            ``2·interval − 1``, ... counting from 0), >= 1.
        steps_per_epoch: optimiser steps per epoch (``len(loader)``), >= 1, to report
            ``best_step``; None leaves ``best_step`` None.

    Attributes (after training): ``best_epoch`` (0-based epoch of θ*), ``best`` (value),
    ``best_step`` (i*, training steps up to and including ``best_epoch``), ``best_state``
    (θ*, a copy of the state dict; None without ``restore_best``), ``stopped_epoch`` (None if
    training was not stopped early), ``evaluations`` (how many epochs were evaluated).
    """

    def __init__(
        self,
        patience: int = 5,
        monitor: str = "val_error",
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: str = "auto",
        interval: int = 1,
        steps_per_epoch: int | None = None,
    ) -> None:
        self.patience = check_int("patience", patience, minimum=1)
        self.interval = check_int("interval", interval, minimum=1)
        self.steps_per_epoch = (None if steps_per_epoch is None
                                else check_int("steps_per_epoch", steps_per_epoch, minimum=1))
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected a History key such as 'val_loss', got {monitor!r}")
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = check_nonnegative("min_delta", min_delta)
        self.restore_best = bool(restore_best)
        self._reset(None)

    def _reset(self, model: Any) -> None:
        self.model = model
        self.best: float | None = None
        self._best_score = np.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self.evaluations = 0
        self._best_state: dict[str, np.ndarray] | None = None

    @property
    def best_step(self) -> int | None:
        """i* of alg. 5.6: training steps up to the end of ``best_epoch`` (None if unknown)."""
        if self.best_epoch is None or self.steps_per_epoch is None:
            return None
        return (self.best_epoch + 1) * self.steps_per_epoch

    @property
    def best_state(self) -> dict[str, np.ndarray] | None:
        """θ* of alg. 5.6: a copy of the best evaluation's ``state_dict`` (restore_best)."""
        if self._best_state is None:
            return None
        return {k: v.copy() for k, v in self._best_state.items()}

    def on_train_begin(self, model: Any) -> None:
        """Reset the state; remember ``model`` to snapshot its weights."""
        if self.restore_best and model is None:
            raise ValueError(
                "model: EarlyStopping(restore_best=True) snapshots the model's weights, got "
                "model=None; pass fit(model=...) or EarlyStopping(restore_best=False)"
            )
        self._reset(model)

    def __call__(self, epoch: int, history: History) -> bool:
        """Update with the latest epoch of ``history``; True means stop."""
        if (epoch + 1) % self.interval:
            return False
        self.evaluations += 1
        value = history.metric(self.monitor)[-1]
        score = -value if self.mode == "max" else value
        if score < self._best_score - self.min_delta:  # False for NaN: no improvement
            self._best_score, self.best, self.best_epoch, self.wait = score, value, epoch, 0
            if self.restore_best and self.model is not None:
                self._best_state = {
                    k: np.array(v, copy=True) for k, v in self.model.state_dict().items()
                }
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Any) -> None:
        """Load the best epoch's weights into ``model`` (if ``restore_best``)."""
        if self.restore_best and self._best_state is not None:
            model.load_state_dict(self._best_state)
