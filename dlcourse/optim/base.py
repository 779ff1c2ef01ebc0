"""``Optimizer``: the base class every update rule of :mod:`dlcourse.optim` derives from.

The contract it implements is written once, in the package docstring of
:mod:`dlcourse.optim`. A subclass only implements ``_update(i, p, g)``: update ``p.data`` in
place from the gradient ``g`` (weight decay already added), using ``self.lr``, ``self.t`` and
its per-parameter state ``self.state[i]``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from dlcourse._validate import check_nonnegative, check_positive
from dlcourse.nn.module import Parameter

__all__ = ["Optimizer", "Closure", "as_parameter_list"]

Closure = Callable[[], Any]
"""``closure()``: zero the gradients, recompute the loss and its gradients at the current
``p.data`` (forward + backward), and return the loss (any value; ``step`` returns it)."""


def as_parameter_list(params: object, *, allow_empty: bool = False) -> list[Parameter]:
    """``params`` (an iterable of ``Parameter``) as a list, each parameter once.

    Raises:
        TypeError: ``params`` is a single ``Parameter`` or not iterable, or holds a non-Parameter.
        ValueError: the list is empty (unless ``allow_empty``) or holds a parameter twice.
    """
    if isinstance(params, Parameter) or not isinstance(params, Iterable):
        raise TypeError(
            f"params: expected a list of Parameter (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        )
    out = list(params)
    if not out and not allow_empty:
        raise ValueError("params: expected a non-empty list of Parameter, got an empty list")
    for i, p in enumerate(out):
        if not isinstance(p, Parameter):
            raise TypeError(f"params[{i}]: expected a Parameter, got {type(p).__name__}")
    if len({id(p) for p in out}) != len(out):
        raise ValueError("params: expected each Parameter once, got duplicates")
    return out


class Optimizer:
    """Base class: holds ``params``, ``lr``, the step count ``t``, ``schedule`` and ``state``.

    Args:
        params: the parameters to train (an iterable of ``Parameter``, each once).
        lr: the learning rate α > 0 (``base_lr`` keeps it; a schedule overwrites ``lr``).
        weight_decay: λ >= 0, added to each gradient as ``g + λθ`` before ``_update`` (the
            gradient of the L2 penalty ½λ‖θ‖²), as every ``torch.optim`` rule of this package
            does.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params: list[Parameter] = as_parameter_list(params)
        self.lr: float = check_positive("lr", lr)
        self.base_lr: float = self.lr
        self.weight_decay: float = check_nonnegative("weight_decay", weight_decay)
        self.t: int = 0
        self.schedule: Callable[[int], float] | None = None
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self._work: list[np.ndarray | None] = [None] * len(self.params)

    # ------------------------------------------------------------------ the step
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.zero_grad()

    def step(self, closure: Closure | None = None) -> Any:
        """Apply one update to every trainable parameter, in place.

        Args:
            closure: optional; if given it is called first (it recomputes the gradients, see
                ``Closure``) and its return value is returned, as in ``torch.optim``.

        Returns:
            what ``closure()`` returned, or None.
        """
        loss = None if closure is None else closure()
        self._advance()
        for i, p in self._trainable():
            self._update(i, p, self._gradient(i, p))
        return loss

    def _advance(self) -> None:
        """Set ``lr`` from the schedule (for the step about to be taken), then count the step."""
        if self.schedule is not None:
            self.lr = check_nonnegative(f"schedule({self.t})", self.schedule(self.t))
        self.t += 1

    def _trainable(self) -> Iterator[tuple[int, Parameter]]:
        """``(i, p)`` for every parameter that is not frozen (``p.requires_grad``)."""
        for i, p in enumerate(self.params):
            if p.requires_grad:  # a frozen parameter is left exactly as it is (no decay either)
                yield i, p

    def _gradient(self, i: int, p: Parameter) -> np.ndarray:
        """``p.grad + λ p.data`` (a new array when λ > 0, else ``p.grad`` itself: read only)."""
        if p.grad.shape != p.data.shape:
            raise ValueError(
                f"params[{i}].grad: expected shape {p.data.shape}, got {p.grad.shape}"
            )
        wd = self.weight_decay
        return p.grad + wd * p.data if wd else p.grad

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        raise NotImplementedError

    def _scratch(self, i: int, p: Parameter) -> np.ndarray:
        """A reused work array of the parameter's shape and dtype (no per-step allocations)."""
        buf = self._work[i]
        if buf is None or buf.shape != p.data.shape or buf.dtype != p.data.dtype:
            buf = self._work[i] = np.empty_like(p.data)
        return buf

    # ------------------------------------------------------------------ saving
    def _hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "base_lr": self.base_lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, step count ``t`` and a deep copy of the per-parameter state."""
        return {**self._hyperparameters(), "t": self.t, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (for the same parameters, same order)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict:
            raise TypeError("state_dict: expected a dict returned by Optimizer.state_dict()")
        state = state_dict["state"]
        if len(state) != len(self.params):
            raise ValueError(
                f"state_dict['state']: expected {len(self.params)} entries, got {len(state)}"
            )
        for k in self._hyperparameters():
            if k in state_dict:
                setattr(self, k, state_dict[k])
        self.t = int(state_dict["t"])
        self.state = copy.deepcopy(list(state))

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v}" for k, v in self._hyperparameters().items() if k != "base_lr")
        return f"{type(self).__name__}({hp}, params={len(self.params)})"
