"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict`, :class:`EarlyStopping`.

One step of mini-batch gradient descent on a batch ``(xb, yb)``::

    optimizer.zero_grad()               # grads start at 0 (they accumulate with +=)
    out = model(xb)                     # forward, caches what backward needs
    l = loss(out, yb)                   # float, averaged over the batch
    model.backward(loss.backward())     # dL/dout, then every parameter's grad
    optimizer.step()                    # parameters -= update(grads)

Protocols (duck-typed, so any object with these methods works):
    model: ``__call__(x)`` / ``forward``, ``backward(dout)``, ``train()``, ``eval()``, and for
    :class:`EarlyStopping` ``state_dict()`` / ``load_state_dict(d)`` (``dlcourse.nn.Module``).
    loss: ``loss(out, y) -> float``, ``loss.backward() -> dout`` (``dlcourse.losses``).
    optimizer: ``zero_grad()``, ``step()`` (``dlcourse.optim``).

The progress bar (tqdm) writes to ``sys.stdout``: the book build fails on any stderr output
of a notebook cell. ``quiet=True`` silences the bar and the per-epoch summary line.
No global random state is used; shuffling belongs to the ``DataLoader``'s own generator.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from dlcourse._validate import check_choice, check_int, check_nonnegative
from dlcourse.data.loader import DataLoader

__all__ = ["History", "fit", "evaluate", "predict", "EarlyStopping"]

_METRICS = ("accuracy",)
_MONITORS = ("train_loss", "train_acc", "train_error", "val_loss", "val_acc", "val_error")

Callback = Callable[[int, "History"], Any]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run (index ``e`` = epoch ``e + 1``).

    Attributes:
        train_loss: mean training loss over the epoch's samples (running, in train mode).
        train_acc: running training accuracy (empty if ``"accuracy"`` was not requested).
        val_loss, val_acc: loss and accuracy on the validation data, in eval mode (empty
            without validation data).
        time: wall-clock seconds of each epoch (training + validation).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        """The lists as a plain dict (copies), e.g. for ``json.dump`` or a DataFrame."""
        return {k: list(v) for k, v in asdict(self).items()}

    def metric(self, monitor: str) -> list[float]:
        """Values of ``monitor`` per epoch; ``*_error`` is ``1 - *_acc``."""
        check_choice("monitor", monitor, _MONITORS)
        base = monitor.replace("_error", "_acc")
        values: list[float] = getattr(self, base)
        if not values:
            hint = "pass val= to fit" if base.startswith("val") else "keep 'accuracy' in metrics"
            raise ValueError(f"monitor: the history has no {base} values ({hint}), got {monitor!r}")
        if monitor.endswith("_error"):
            return [1.0 - v for v in values]
        return list(values)

    def best_epoch(self, monitor: str | None = None) -> int:
        """Index of the best epoch (the earliest one on ties).

        Args:
            monitor: one of ``train_loss``, ``train_acc``, ``train_error``, ``val_loss``,
                ``val_acc``, ``val_error``; ``*_acc`` is maximised, the others minimised.
                Default: ``val_error`` if recorded, else ``val_loss``, else ``train_loss``.
        """
        if monitor is None:
            monitor = "val_error" if self.val_acc else "val_loss" if self.val_loss else "train_loss"
        values = np.asarray(self.metric(monitor))
        return int(np.argmax(values) if monitor.endswith("_acc") else np.argmin(values))


def _correct(out: np.ndarray, y: np.ndarray) -> int:
    """Number of correct class predictions in a batch.

    ``out`` (N, C) with C >= 2: the prediction is the arg-max (``y`` labels (N,), or one-hot
    (N, C) whose arg-max is taken). ``out`` (N,) or (N, 1): a score (logit), class 1 if > 0
    else 0, or else -1 when the labels are ±1.
    """
    out, y = np.asarray(out), np.asarray(y)
    N = out.shape[0]
    if out.ndim == 2 and out.shape[1] >= 2:
        pred = np.argmax(out, axis=1)
        true = np.argmax(y, axis=1) if y.shape == out.shape else y.reshape(N)
    elif out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        true = y.reshape(N)
        negative = -1 if true.size and true.min() < 0 else 0
        pred = np.where(out.reshape(N) > 0, 1, negative)
    else:
        raise ValueError(
            f"metrics: 'accuracy' needs outputs (N, C) or (N,), got shape {out.shape}; "
            "pass metrics=() for other outputs"
        )
    return int(np.sum(pred == true))


def _as_batches(name: str, data: object, batch_size: int) -> Iterable[Any]:
    """A DataLoader (or any re-iterable of (xb, yb)), or an ``(X, y)`` pair batched here."""
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(
                f"{name}: expected a DataLoader or an (X, y) pair, got a {len(data)}-tuple"
            )
        return DataLoader(data[0], data[1], batch_size=batch_size)
    if not isinstance(data, Iterable) or isinstance(data, (np.ndarray, str)):
        raise TypeError(
            f"{name}: expected a DataLoader (or iterable of (xb, yb)) or an (X, y) pair, "
            f"got {type(data).__name__}"
        )
    return data


def _check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    if isinstance(metrics, str):
        raise TypeError(
            f"metrics: expected a tuple of names such as ('accuracy',), got {metrics!r}"
        )
    for m in metrics:
        check_choice("metrics", m, _METRICS)
    return tuple(metrics)


def evaluate(
    model: Any,
    loss: Any | None,
    data: object,
    batch_size: int = 256,
    metrics: Sequence[str] = ("accuracy",),
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``data``, in eval mode, batch by batch.

    Args:
        model: the model (its train/eval mode is restored afterwards).
        loss: a loss object, or None to skip the loss.
        data: a DataLoader (or iterable of (xb, yb)), or an (X, y) pair.
        batch_size: batch size used for an (X, y) pair.
        metrics: ``("accuracy",)`` or ``()``.

    Returns:
        ``{"loss": ..., "accuracy": ...}`` (keys present as requested), each averaged over
        samples (a batch's loss is weighted by its size).
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    metrics = _check_metrics(metrics)
    batches = _as_batches("data", data, batch_size)
    was_training = getattr(model, "training", False)
    model.eval()
    n, loss_sum, correct = 0, 0.0, 0
    try:
        for xb, yb in batches:
            out = model(xb)
            b = len(xb)
            if loss is not None:
                loss_sum += float(loss(out, yb)) * b
            if "accuracy" in metrics:
                correct += _correct(out, yb)
            n += b
    finally:
        if was_training:
            model.train()
    if n == 0:
        raise ValueError("data: expected at least one batch, got none")
    result: dict[str, float] = {}
    if loss is not None:
        result["loss"] = loss_sum / n
    if "accuracy" in metrics:
        result["accuracy"] = correct / n
    return result


def predict(model: Any, X: object, batch_size: int = 256) -> np.ndarray:
    """Outputs of ``model`` on ``X`` (N, ...) in eval mode, computed in batches.

    Returns:
        The batch outputs concatenated along axis 0, e.g. logits (N, C).
    """
    loader = DataLoader(X, batch_size=check_int("batch_size", batch_size, minimum=1))
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        outs = [np.asarray(model(xb)) for xb, _ in loader]
    finally:
        if was_training:
            model.train()
    return np.concatenate(outs, axis=0)


def fit(
    model: Any,
    loss: Any,
    optimizer: Any,
    train_loader: Iterable[Any],
    val: object | None = None,
    epochs: int = 1,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[str] = ("accuracy",),
    quiet: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader`` (see the module docstring).

    Args:
        model, loss, optimizer: see the protocols in the module docstring.
        train_loader: a DataLoader, or any re-iterable of ``(xb, yb)`` batches.
        val: validation data (a DataLoader or an (X, y) pair), evaluated after every epoch.
        epochs: number of passes, >= 1.
        callbacks: callables ``cb(epoch, history) -> bool`` run after each epoch (``epoch``
            counts from 0); training stops after an epoch where any returns True. A callback
            with ``on_train_begin(model)`` / ``on_train_end(model)`` methods gets those
            called too (see :class:`EarlyStopping`).
        metrics: ``("accuracy",)`` (record train/val accuracy) or ``()``.
        quiet: no progress bar and no per-epoch summary line.
        progress: show the tqdm progress bar (on stdout) unless ``quiet``.

    Returns:
        The :class:`History` of the run.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    metrics = _check_metrics(metrics)
    if isinstance(train_loader, tuple):
        raise TypeError("train_loader: expected a DataLoader, got a tuple; wrap it in DataLoader")
    loader = _as_batches("train_loader", train_loader, 1)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks: expected callables, got {type(cb).__name__}")
    history = History()
    for cb in callbacks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(model)
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            model.train()
            n, loss_sum, correct = 0, 0.0, 0
            bar = tqdm(
                loader,
                total=len(loader) if hasattr(loader, "__len__") else None,
                desc=f"epoch {epoch + 1}/{epochs}",
                file=sys.stdout,
                leave=False,
                disable=quiet or not progress,
            )
            for xb, yb in bar:
                optimizer.zero_grad()
                out = model(xb)
                batch_loss = float(loss(out, yb))
                model.backward(loss.backward())
                optimizer.step()
                b = len(xb)
                n += b
                loss_sum += batch_loss * b
                if "accuracy" in metrics:
                    correct += _correct(out, yb)
                bar.set_postfix(loss=f"{batch_loss:.4f}", refresh=False)
            bar.close()
            if n == 0:
                raise ValueError(
                    "train_loader: expected at least one batch, got none (a generator can be "
                    "iterated only once: use a DataLoader)"
                )
            history.train_loss.append(loss_sum / n)
            if "accuracy" in metrics:
                history.train_acc.append(correct / n)
            if val is not None:
                result = evaluate(model, loss, val, metrics=metrics)
                history.val_loss.append(result["loss"])
                if "accuracy" in metrics:
                    history.val_acc.append(result["accuracy"])
            history.time.append(time.perf_counter() - start)
            if not quiet:
                print(_summary(epoch, epochs, history), file=sys.stdout, flush=True)
            stops = [bool(cb(epoch, history)) for cb in callbacks]
            if any(stops):
                break
    finally:
        for cb in callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(model)
    return history


def _summary(epoch: int, epochs: int, h: History) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}", f"loss {h.train_loss[-1]:.4f}"]
    if h.train_acc:
        parts.append(f"acc {h.train_acc[-1]:.4f}")
    if h.val_loss:
        parts.append(f"val_loss {h.val_loss[-1]:.4f}")
    if h.val_acc:
        parts.append(f"val_acc {h.val_acc[-1]:.4f}")
    parts.append(f"{h.time[-1]:.1f}s")
    return "  ".join(parts)


class EarlyStopping:
    """Stop when the monitored quantity has not improved for ``patience`` epochs.

    The notes' rule "train until the validation error stops decreasing": with the default
    ``monitor="val_error"`` (1 − validation accuracy), an epoch improves if its error is below
    the best so far by more than ``min_delta``; after ``patience`` epochs in a row without
    improvement, :func:`fit` stops. With ``restore_best`` the weights of the best epoch
    (saved with ``model.state_dict()``) are put back when training ends, whether it stopped
    early or ran out of epochs.

    Attributes (after training): ``best_epoch``, ``best`` (value), ``stopped_epoch`` (None
    if training was not stopped early).
    """

    def __init__(
        self,
        patience: int = 5,
        monitor: str = "val_error",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        self.patience = check_int("patience", patience, minimum=1)
        check_choice("monitor", monitor, _MONITORS)
        self.monitor = monitor
        self.min_delta = check_nonnegative("min_delta", min_delta)
        self.restore_best = bool(restore_best)
        self.on_train_begin(None)

    def on_train_begin(self, model: Any) -> None:
        """Reset the state; remember ``model`` to snapshot its weights."""
        self.model = model
        self.best: float | None = None
        self._best_score = np.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_state: dict[str, np.ndarray] | None = None

    def __call__(self, epoch: int, history: History) -> bool:
        """Update with the latest epoch of ``history``; True means stop."""
        value = history.metric(self.monitor)[-1]
        score = -value if self.monitor.endswith("_acc") else value
        if score < self._best_score - self.min_delta:
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
