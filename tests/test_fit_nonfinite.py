"""A diverging run stops with a clear error instead of training on garbage (issue 15, part 3).

``fit(..., on_nonfinite="raise"|"warn"|"ignore")`` and ``dlcourse.steps.NonFiniteGuard``: the
loss is checked every step (before the supervised update), the parameters and gradients at the
end of each epoch and when a step fails; the error names the epoch and step (1-based) and the
batch's loss. The expected positions come from an independent replay of the same run: a plain
loop over the same batches (the same shuffling generator), or the closed-form recurrence of
a one-weight regression.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss, MSELoss
from dlcourse.models import MLP
from dlcourse.nn import Linear, Module, Parameter
from dlcourse.optim import SGD
from dlcourse.steps import NonFiniteError, NonFiniteGuard, supervised_step
from dlcourse.train import fit


@contextmanager
def overflow_allowed() -> Iterator[None]:
    """numpy's overflow warnings on the way to inf (pytest turns warnings into errors)."""
    with np.errstate(over="ignore", invalid="ignore"):
        yield


def _regression(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 5)) * 3.0
    return X, (X @ rng.standard_normal(5))[:, None]


def _diverging_run(lr: float) -> tuple[MLP, MSELoss, SGD, DataLoader]:
    """A tanh MLP regressing unscaled data: with lr = 2 the output weights grow geometrically
    until the squared loss overflows to inf (the tanh layer keeps the parameters finite)."""
    X, y = _regression()
    model = MLP([5, 16, 1], "tanh", rng=0)
    return (model, MSELoss(), SGD(model.parameters(), lr=lr),
            DataLoader(X, y, batch_size=16, shuffle=True, rng=1))


def _replay(lr: float) -> tuple[int, int, float, list[np.ndarray]]:
    """A plain loop over the same run: the first (epoch, step) with a non-finite loss, that
    loss, and the parameters before that step."""
    model, loss, opt, loader = _diverging_run(lr)
    with overflow_allowed():
        for epoch in range(1, 1000):
            for i, (xb, yb) in enumerate(loader, start=1):
                opt.zero_grad()
                value = loss(model(xb), yb)
                if not math.isfinite(value):
                    return epoch, i, value, [p.data.copy() for p in model.parameters()]
                model.backward(loss.backward())
                opt.step()
    raise AssertionError("the replay did not diverge")


def test_a_diverging_run_stops_before_the_bad_update() -> None:
    epoch, step, value, params = _replay(2.0)
    model, loss, opt, loader = _diverging_run(2.0)
    with overflow_allowed(), pytest.raises(NonFiniteError) as info:
        fit(model, loss, opt, loader, epochs=epoch + 5, quiet=True, metrics=())
    err = info.value
    assert (err.epoch, err.step, err.quantity) == (epoch, step, "the loss")
    assert err.loss == value and math.isinf(err.value)
    assert f"the loss is inf at epoch {epoch}, step {step} (batch loss inf)" in str(err)
    assert "stopped before its update" in str(err) and "learning rate" in str(err)
    for ours, before in zip(model.parameters(), params, strict=True):
        np.testing.assert_array_equal(ours.data, before)  # the bad update was not applied
    assert epoch > 1  # the run trained for a while: the check is not a first-step artefact
    assert len(err.history.train_loss) == epoch - 1  # the completed epochs come with the error
    assert all(math.isfinite(v) for v in err.history.train_loss)


def test_a_converging_run_is_untouched() -> None:
    """The checks change nothing when nothing diverges: the same history as "ignore"."""
    histories = []
    for mode in ("raise", "warn", "ignore"):
        model, loss, opt, loader = _diverging_run(0.05)
        h = fit(model, loss, opt, loader, epochs=3, quiet=True, metrics=(), on_nonfinite=mode)
        histories.append((h.train_loss, [p.data.copy() for p in model.parameters()]))
    for h, params in histories[1:]:
        assert h == histories[0][0]
        for a, b in zip(params, histories[0][1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_warn_skips_each_non_finite_step_and_goes_on() -> None:
    epoch, step, _, params = _replay(2.0)
    model, loss, opt, loader = _diverging_run(2.0)
    with overflow_allowed(), pytest.warns(RuntimeWarning) as record:
        h = fit(model, loss, opt, loader, epochs=epoch, quiet=True, metrics=(),
                on_nonfinite="warn")
    messages = [str(w.message) for w in record if "the loss" in str(w.message)]
    assert messages[0].startswith(f"the loss is inf at epoch {epoch}, step {step} ")
    assert len(h.train_loss) == epoch  # the run went on to the last epoch
    assert all(math.isfinite(v) for v in h.train_loss)  # skipped steps are not recorded
    # every later step of the run diverges as well, so each was skipped: the parameters are
    # those before the first bad step
    assert len(messages) == len(loader) - step + 1
    for ours, before in zip(model.parameters(), params, strict=True):
        np.testing.assert_array_equal(ours.data, before)


def test_ignore_trains_on_garbage_as_before() -> None:
    epoch, step, _, _ = _replay(2.0)
    model, loss, opt, loader = _diverging_run(2.0)
    with overflow_allowed(), warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning from the guard
        with pytest.raises(ValueError, match="expected finite values"):
            fit(model, loss, opt, loader, epochs=epoch + 5, quiet=True, metrics=(),
                on_nonfinite="ignore")


def test_on_nonfinite_is_validated() -> None:
    model, loss, opt, loader = _diverging_run(0.05)
    with pytest.raises(ValueError, match=r"on_nonfinite: expected one of \['raise', 'warn', "
                                         r"'ignore'\], got 'stop'"):
        fit(model, loss, opt, loader, quiet=True, on_nonfinite="stop")
    with pytest.raises(ValueError, match="check_finite: expected one of"):
        supervised_step(model, loss, opt, check_finite=True)


# ---- gradients and parameters -------------------------------------------------------------------

class Exploding(Module):
    """y = s · x with one learned scale s whose gradient is +inf at backward call ``bad``."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.s = Parameter(np.ones(1))
        self.bad, self.calls = bad, 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._save_cache(np.asarray(x))
        return self.s.data * x

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        x = self._caches.pop()
        self.calls += 1
        self.s.grad += np.inf if self.calls == self.bad else float(np.sum(dout * x))
        return dout * self.s.data if need_dx else None


def _classification(n: int = 24) -> DataLoader:
    rng = np.random.default_rng(5)
    return DataLoader(rng.standard_normal((n, 3)), rng.integers(0, 3, n), batch_size=4)


@pytest.mark.parametrize("bad", [2, 5])
def test_an_infinite_gradient_is_named_at_the_next_step(bad: int) -> None:
    """Step ``bad`` (epoch 1 has 6 steps) updates s with an infinite gradient; step bad + 1
    fails in the loss (infinite logits), and the error names the parameter and the update."""
    model = Exploding(bad)
    with overflow_allowed(), pytest.raises(NonFiniteError) as info:
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), _classification(),
            epochs=2, quiet=True)
    err = info.value
    assert (err.epoch, err.step) == (1, bad + 1)
    assert err.quantity == "parameter 's'" and math.isinf(err.value)
    assert f"the update of epoch 1, step {bad} made it so" in str(err)
    assert "logits: expected finite values" in str(err)  # the layer's own message, kept
    assert isinstance(err.__cause__, ValueError)


def test_an_infinite_gradient_at_the_last_step_stops_at_the_end_of_the_epoch() -> None:
    model = Exploding(6)  # the last of the 6 steps of epoch 1
    val = (np.ones((4, 3)), np.zeros(4, dtype=int))
    with overflow_allowed(), pytest.raises(NonFiniteError) as info:
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), _classification(),
            val=val, epochs=2, quiet=True)
    err = info.value
    assert (err.epoch, err.step) == (1, 6)
    assert err.quantity == "parameter 's'"  # checked before validation could fail on it
    assert "found at the end of the epoch" in str(err)


def test_warn_checks_the_gradients_every_step_and_skips_the_step() -> None:
    model = Exploding(3)
    with pytest.warns(RuntimeWarning, match=r"the gradient of parameter 's' is inf at epoch 1, "
                                            r"step 3 \(batch loss [0-9.]+\); the step was "
                                            r"skipped"):
        h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), _classification(),
                epochs=2, quiet=True, on_nonfinite="warn")
    assert np.isfinite(model.s.data).all()
    assert len(h.train_loss) == 2 and all(math.isfinite(v) for v in h.train_loss)


def test_the_step_alone_raises_without_a_position() -> None:
    X = np.ones((2, 1))
    model = Linear(1, 1, bias=False, rng=0)
    model.W.data[:] = 1e200
    step = supervised_step(model, MSELoss(), SGD(model.parameters(), lr=0.1), metrics=())
    with overflow_allowed(), pytest.raises(NonFiniteError) as info:
        step((X, np.zeros((2, 1))))
    assert info.value.epoch is None and " at epoch" not in str(info.value)
    assert str(info.value).startswith("the loss is inf (batch loss inf); the step stopped")
    assert model.W.data[0, 0] == 1e200  # no update


# ---- step= runs ----------------------------------------------------------------------------------

def _counting_step(bad_call: int, key: str) -> Any:
    calls = {"n": 0}

    def step(batch: Any) -> dict[str, float]:
        calls["n"] += 1
        value = float("nan") if calls["n"] == bad_call else 0.5
        return {"loss": 1.0, key: value} if key != "loss" else {"loss": value}

    return step


@pytest.mark.parametrize(("key", "quantity"), [("loss", "the loss"),
                                               ("d_loss", "the step's value 'd_loss'")])
def test_step_runs_check_the_returned_values(key: str, quantity: str) -> None:
    with pytest.raises(NonFiniteError) as info:
        fit(train_loader=range(4), step=_counting_step(7, key), epochs=3, quiet=True)
    err = info.value
    assert (err.epoch, err.step, err.quantity) == (2, 3, quantity)  # call 7 = epoch 2, step 3
    assert math.isnan(err.value)
    assert "the step had made its update" in str(err)


def test_step_runs_warn_and_record_the_nan() -> None:
    with pytest.warns(RuntimeWarning, match="the step's value 'd_loss' is nan at epoch 2, step 3"):
        h = fit(train_loader=range(4), step=_counting_step(7, "d_loss"), epochs=3, quiet=True,
                on_nonfinite="warn")
    assert math.isnan(h["train_d_loss"][1])
    assert h["train_d_loss"][0] == h["train_d_loss"][2] == 0.5


def test_a_step_built_with_the_supervised_check_is_positioned() -> None:
    """A user's step= that wraps supervised_step: fit still names the epoch and step."""
    epoch, step, _, _ = _replay(2.0)
    model, loss, opt, loader = _diverging_run(2.0)
    with overflow_allowed(), pytest.raises(NonFiniteError) as info:
        fit(model=model, train_loader=loader, step=supervised_step(model, loss, opt, ()),
            epochs=epoch + 1, quiet=True)
    assert (info.value.epoch, info.value.step) == (epoch, step)


def test_guard_without_parameters_checks_only_the_values() -> None:
    guard = NonFiniteGuard(object(), "raise")
    guard.parameters(1, 1)  # nothing to check
    with pytest.raises(NonFiniteError, match="the loss is inf at epoch 1, step 2"):
        guard.values({"loss": float("inf")}, 1, 2)
