"""The training loop: :func:`fit`, :func:`evaluate`, :func:`predict`, and the steps they run.

One step of mini-batch gradient descent on a batch ``(xb, yb)`` (:func:`supervised_step`)::

    optimizer.zero_grad()               # grads start at 0 (they accumulate with +=)
    out = model(xb)                     # forward, caches what backward needs
    l = loss(out, yb)                   # float, averaged over the batch
    model.backward(loss.backward(), need_dx=False)  # dL/dout, then every parameter's grad
    optimizer.step()                    # parameters -= update(grads)

``need_dx=False``: nobody needs the gradient of the data, so the first layer skips it; a model
whose ``backward`` has no ``need_dx`` gets ``model.backward(dout)``.

The supervised case is one line, ``fit(model, loss, optimizer, loader, val=..., epochs=...)``.
Everything else — a GAN (two networks, two optimisers, alternating), an RBM (CD-k, no
backward), a VAE (two loss terms), DQN (environment steps, a replay buffer) — passes its own
step: ``fit(train_loader=..., step=fn, ...)`` where ``fn(batch) -> dict of floats`` does the
whole update and returns what to record, e.g. ``{"d_loss": ..., "g_loss": ...}``. The loop is
the same for both: per epoch, run the step on every batch, record the epoch's mean of each
returned value (weighted by batch size when the batch has one) as ``train_<name>`` in the
:class:`~dlcourse.history.History`, validate, record the time, run the callbacks. The
supervised call is exactly::

    fit(model=model, train_loader=loader, step=supervised_step(model, loss, optimizer),
        val=val, val_step=evaluation_step(model, loss), epochs=epochs)

``train_loader`` is any re-iterable: a DataLoader, or ``range(k)`` for k steps per epoch that
draw their own data (an agent acting in an environment). A value named ``accuracy`` is
recorded as ``acc`` (``train_acc``, ``val_acc``: the History's standard names).

Protocols (duck-typed, so any object with these methods works):
    model: ``__call__(x)`` / ``forward``, ``backward(dout[, need_dx])``, ``train()``,
    ``eval()``, and for :class:`EarlyStopping` ``state_dict()`` / ``load_state_dict(d)``
    (``dlcourse.nn.Module``). With ``step=`` the model is optional: when given, ``fit`` puts
    it in train mode for the epoch and eval mode for validation, and callbacks get it.
    loss: ``loss(out, y) -> float``, ``loss.backward() -> dout`` (``dlcourse.losses``).
    optimizer: ``zero_grad()``, ``step()`` (``dlcourse.optim``).

Modules returning a tuple (a recurrent layer returns ``(outputs, state)``): the supervised path
passes the model's output straight to the loss and the metrics, so the model must return the
logits the loss takes — e.g. a character LM whose ``forward`` runs the RNN, keeps the state
and returns the ``(N, T, V)`` logits of its output layer (with ``(N, T)`` targets and
``CrossEntropyLoss(ignore_index=...)`` for padding). To carry a state between batches
(truncated BPTT) or use several outputs, write a ``step=``.

Validation and :func:`evaluate` / :func:`predict` run in eval mode under
``dlcourse.nn.no_grad()``: no layer keeps a cache, so a large test set costs no memory beyond
one batch. The progress bar (tqdm) writes to ``sys.stdout`` (the book build fails on any
stderr output of a notebook cell) and shows the step's latest values; ``quiet=True`` silences
the bar and the per-epoch summary line. No global random state is used; shuffling belongs to
the ``DataLoader``'s own generator.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from dlcourse._validate import check_int
from dlcourse.callbacks import Callback, EarlyStopping
from dlcourse.data.loader import DataLoader
from dlcourse.history import EpochMeans, History
from dlcourse.nn.grad_mode import no_grad
from dlcourse.steps import (
    Metrics,
    NonFiniteError,
    NonFiniteGuard,
    Step,
    evaluation_step,
    supervised_step,
)

__all__ = [
    "fit", "evaluate", "predict", "supervised_step", "evaluation_step",
    "History", "EarlyStopping", "Callback",
]

# ---- running steps over batches ---------------------------------------------------------------


def _as_batches(name: str, data: object, batch_size: int) -> Iterable[Any]:
    """A DataLoader (or any re-iterable of batches), or an ``(X, y)`` pair batched here."""
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


def _run_eval(model: Any, step: Step, batches: Iterable[Any], name: str) -> dict[str, float]:
    """Mean of ``step`` over ``batches`` in eval mode under no_grad; the mode is restored."""
    was_training = getattr(model, "training", False)
    if model is not None:
        model.eval()
    means = EpochMeans()
    try:
        with no_grad():
            for batch in batches:
                means.add(step(batch), batch)
    finally:
        if was_training:
            model.train()
    return means.means(name)


def evaluate(
    model: Any,
    loss: Any | None,
    data: object,
    batch_size: int = 256,
    metrics: Metrics = ("accuracy",),
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` on ``data``, in eval mode under ``no_grad``.

    Args:
        model: the model (its train/eval mode is restored afterwards).
        loss: a loss object, or None to skip the loss.
        data: a DataLoader (or iterable of (xb, yb)), or an (X, y) pair.
        batch_size: batch size used for an (X, y) pair.
        metrics: as for :func:`supervised_step`; ``()`` for the loss only.

    Returns:
        ``{"loss": ..., "accuracy": ..., ...}`` (keys present as requested), each the mean of
        the batch values weighted by batch size: exact for per-sample means such as accuracy
        (and the loss), an approximation for F1-type metrics of several batches.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    step = evaluation_step(model, loss, metrics)
    return _run_eval(model, step, _as_batches("data", data, batch_size), "data")


def predict(model: Any, X: object, batch_size: int = 256) -> np.ndarray:
    """Outputs of ``model`` on ``X`` (N, ...) in eval mode under ``no_grad``, in batches.

    Returns:
        The batch outputs concatenated along axis 0, e.g. logits (N, C).
    """
    loader = DataLoader(X, batch_size=check_int("batch_size", batch_size, minimum=1))
    was_training = getattr(model, "training", False)
    model.eval()
    outs = []
    try:
        with no_grad():
            for xb, _ in loader:
                out = model(xb)
                if not isinstance(out, np.ndarray):
                    raise TypeError(
                        f"model: predict expects an array output, got {type(out).__name__} "
                        "(a recurrent layer returns (outputs, state): predict with a model "
                        "that returns the outputs)"
                    )
                outs.append(out)
    finally:
        if was_training:
            model.train()
    return np.concatenate(outs, axis=0)


# ---- the loop ---------------------------------------------------------------------------------


def _history_name(split: str, name: str) -> str:
    return f"{split}_{'acc' if name == 'accuracy' else name}"


def _check_mode(model: Any, loss: Any, optimizer: Any, train_loader: Any, val: Any,
                metrics: Metrics | None, step: Step | None, val_step: Step | None,
                check_finite: str = "loss") -> tuple[Step, Step | None]:
    """The (step, val_step) pair of a supervised or a ``step=`` run; clear errors when mixed."""
    if step is None:
        missing = [n for n, v in (("model", model), ("loss", loss), ("optimizer", optimizer),
                                  ("train_loader", train_loader)) if v is None]
        if missing:
            raise TypeError(
                f"fit: missing {', '.join(missing)}: supervised training is "
                "fit(model, loss, optimizer, train_loader); other training passes step="
            )
        if val_step is not None:
            raise TypeError(
                "val_step: only with step=; a supervised run validates with its loss and metrics"
            )
        metrics = ("accuracy",) if metrics is None else metrics
        step = supervised_step(model, loss, optimizer, metrics, check_finite=check_finite)
        return step, None if val is None else evaluation_step(model, loss, metrics)
    if not callable(step):
        raise TypeError(f"step: expected a callable step(batch) -> dict, got {step!r}")
    for name, value in (("loss", loss), ("optimizer", optimizer)):
        if value is not None:
            raise TypeError(
                f"{name}: with step= the step does the whole update (forward, loss, backward, "
                f"optimizer) and fit takes no {name}, got {type(value).__name__}"
            )
    if metrics is not None:
        raise TypeError(
            "metrics: with step= the step returns its own values (e.g. {'loss': l, "
            f"'accuracy': a}}), got metrics={metrics!r}"
        )
    if train_loader is None:
        raise TypeError(
            "train_loader: expected the batches the step runs on (a DataLoader, or range(k) "
            "for k steps per epoch), got None"
        )
    if (val is None) != (val_step is None):
        raise TypeError(
            "val, val_step: with step= validation needs both, the data and "
            "val_step(batch) -> dict of floats"
        )
    if val_step is not None and not callable(val_step):
        raise TypeError(f"val_step: expected a callable, got {val_step!r}")
    return step, val_step


def fit(
    model: Any = None,
    loss: Any = None,
    optimizer: Any = None,
    train_loader: Iterable[Any] | None = None,
    val: object | None = None,
    epochs: int = 1,
    callbacks: Sequence[Callback] = (),
    metrics: Metrics | None = None,
    quiet: bool = False,
    progress: bool = True,
    *,
    step: Step | None = None,
    val_step: Step | None = None,
    on_nonfinite: str = "raise",
) -> History:
    """Train for ``epochs`` passes over ``train_loader`` (see the module docstring).

    Args:
        model, loss, optimizer: see the protocols in the module docstring; with ``step=`` pass
            no loss or optimizer, and ``model`` only for mode switching and callbacks.
        train_loader: a DataLoader, or any re-iterable of batches (``range(k)`` for k steps).
        val: validation data (a DataLoader or an (X, y) pair), evaluated after every epoch.
        epochs: number of passes, >= 1.
        callbacks: callables ``cb(epoch, history) -> bool`` run after each epoch (``epoch``
            counts from 0); training stops after an epoch where any returns True. A callback
            with ``on_train_begin(model)`` / ``on_train_end(model)`` methods gets those
            called too (see :class:`EarlyStopping`).
        metrics: supervised runs only: names, callables or a dict (see
            :func:`supervised_step`); default ``("accuracy",)``, ``()`` for the loss only.
        quiet: no progress bar and no per-epoch summary line.
        progress: show the tqdm progress bar (on stdout) unless ``quiet``.
        step: ``step(batch) -> dict of floats`` doing one whole update (instead of model,
            loss and optimizer).
        val_step: with ``step=`` and ``val``: ``val_step(batch) -> dict of floats``, run in
            eval mode under ``no_grad``.
        on_nonfinite: what a NaN or infinite loss, returned value, gradient or parameter
            does: ``"raise"`` (default) stops with :class:`~dlcourse.steps.NonFiniteError`
            naming the epoch and step (1-based) and the batch's loss (a supervised step stops
            before its update); ``"warn"`` issues a ``RuntimeWarning`` naming them and goes
            on (a supervised step with a non-finite loss or gradient is skipped, without an
            update, and not recorded); ``"ignore"`` checks nothing. What is checked when:
            :class:`~dlcourse.steps.NonFiniteGuard`. The error's ``history`` holds the epochs
            completed before the stop.

    Returns:
        The :class:`History` of the run.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    if isinstance(train_loader, tuple):
        raise TypeError("train_loader: expected a DataLoader, got a tuple; wrap it in DataLoader")
    guard = NonFiniteGuard(model, on_nonfinite)
    step, val_step = _check_mode(model, loss, optimizer, train_loader, val, metrics, step,
                                 val_step, check_finite=guard.step_check)
    loader = _as_batches("train_loader", train_loader, 1)
    val_batches = None if val is None else _as_batches("val", val, 256)
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
            if model is not None:
                model.train()
            bar = tqdm(
                loader,
                total=len(loader) if hasattr(loader, "__len__") else None,
                desc=f"epoch {epoch + 1}/{epochs}",
                file=sys.stdout,
                leave=False,
                disable=quiet or not progress,
            )
            means = EpochMeans()
            i = 0
            for i, batch in enumerate(bar, start=1):
                values = means.add(_run_step(step, batch, guard, epoch + 1, i), batch)
                guard.values(values, epoch + 1, i)
                bar.set_postfix({k: f"{v:.4f}" for k, v in values.items()}, refresh=False)
            bar.close()
            guard.parameters(epoch + 1, i)
            record = {_history_name("train", k): v for k, v in
                      means.means("train_loader").items()}
            if val_step is not None:
                result = _run_eval(model, val_step, val_batches, "val")
                record.update({_history_name("val", k): v for k, v in result.items()})
            record["time"] = time.perf_counter() - start
            history.append_epoch(record)
            if not quiet:
                print(_summary(epoch, epochs, history), file=sys.stdout, flush=True)
            stops = [bool(cb(epoch, history)) for cb in callbacks]
            if any(stops):
                break
    except NonFiniteError as err:
        err.history = history  # the epochs completed before the stop
        raise
    finally:
        for cb in callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(model)
    return history


def _run_step(step: Step, batch: Any, guard: NonFiniteGuard, epoch: int, i: int) -> Any:
    """``step(batch)``; a NonFiniteError is positioned at (epoch, i), and a step failing on a
    non-finite input is reported as the parameter a previous update made non-finite."""
    try:
        return step(batch)
    except NonFiniteError as err:
        positioned = err if err.epoch is not None else err.at(epoch, i)
        if guard.mode != "warn":
            raise positioned from None
        guard.report(positioned)  # warns; the skipped step records nothing
        return {}
    except (ValueError, FloatingPointError) as err:
        guard.parameters(epoch, i, cause=err)
        raise


def _summary(epoch: int, epochs: int, h: History) -> str:
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key, values in h.items():
        if key != "time" and not np.isnan(values[-1]):
            parts.append(f"{key.removeprefix('train_')} {values[-1]:.4f}")
    parts.append(f"{h['time'][-1]:.1f}s")
    return "  ".join(parts)
