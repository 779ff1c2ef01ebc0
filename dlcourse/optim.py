"""Optimisers: update rules that move parameters against their gradients.

The contract (every optimiser follows it)::

    opt = Adam(model.parameters(), lr=1e-3)   # params: non-empty list of Parameter
    for x, y in batches:
        opt.zero_grad()                        # Parameter.grad <- 0 for every parameter
        loss = L(model(x), y)
        model.backward(L.backward())           # accumulates Parameter.grad
        opt.step()                             # updates Parameter.data in place

- ``step()`` reads ``p.grad`` and updates ``p.data`` **in place** (the array object is kept, so
  a model and its optimiser always share it); the dtype is kept (float32 stays float32:
  hyper-parameters are Python floats, which never promote an array).
- Per-parameter state (e.g. Adam's moments) lives in the optimiser, ``opt.state[i]`` for
  ``opt.params[i]``, never on the parameter.
- ``opt.t`` counts the steps taken. ``opt.schedule`` (default None) is an optional callable
  ``lr_at(step) -> float``: at each ``step()``, before the update, ``opt.lr = lr_at(opt.t)``
  with ``opt.t`` the number of steps taken so far (0 for the first step), so ``opt.lr``
  always shows the learning rate used by the latest update. ``opt.base_lr`` keeps the
  constructor's ``lr``.
- ``state_dict()`` returns the hyper-parameters, ``t`` and copies of the per-parameter state;
  ``load_state_dict(sd)`` restores them (same parameters, same order).
- A frozen parameter (``p.requires_grad`` False) is skipped: no update, no weight decay, no
  change to its state, as in PyTorch where a parameter without a gradient is skipped.
- Weight decay ``λ`` is added to the gradient, ``g <- g + λθ`` (the L2 penalty ½λ‖θ‖² of the
  notes), as ``torch.optim.SGD`` / ``torch.optim.Adam`` do.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from dlcourse._validate import check_nonnegative, check_positive, check_probability
from dlcourse.nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Base class: holds ``params``, ``lr``, the step count ``t``, ``schedule`` and ``state``.

    ``weight_decay`` λ >= 0 is added to each gradient, g + λθ, before ``_update``.
    Subclasses implement ``_update(i, p, g)``: update ``p.data`` in place from the gradient
    ``g`` (weight decay already added) using ``self.lr`` and ``self.state[i]``.
    """

    def __init__(
        self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0
    ) -> None:
        if isinstance(params, Parameter) or not isinstance(params, Iterable):
            raise TypeError(
                f"params: expected a list of Parameter (e.g. model.parameters()), "
                f"got {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError("params: expected a non-empty list of Parameter, got an empty list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"params[{i}]: expected a Parameter, got {type(p).__name__}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("params: expected each Parameter once, got duplicates")
        self.params: list[Parameter] = params
        self.lr: float = check_positive("lr", lr)
        self.base_lr: float = self.lr
        self.weight_decay: float = check_nonnegative("weight_decay", weight_decay)
        self.t: int = 0
        self.schedule: Callable[[int], float] | None = None
        self.state: list[dict[str, Any]] = [{} for _ in params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Apply one update to every parameter, in place."""
        if self.schedule is not None:
            self.lr = check_nonnegative(f"schedule({self.t})", self.schedule(self.t))
        self.t += 1
        wd = self.weight_decay
        for i, p in enumerate(self.params):
            if not p.requires_grad:  # frozen: left exactly as it is (no decay either)
                continue
            if p.grad.shape != p.data.shape:
                raise ValueError(
                    f"params[{i}].grad: expected shape {p.data.shape}, got {p.grad.shape}"
                )
            g = p.grad + wd * p.data if wd else p.grad
            self._update(i, p, g)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        raise NotImplementedError

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


class SGD(Optimizer):
    """Stochastic gradient descent (algorithm 5.1): ``W <- W − α (g + λ W)``.

    Args:
        params: the parameters to train.
        lr: α > 0.
        weight_decay: λ >= 0, the coefficient of the L2 penalty ½λ‖W‖².
    """

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as in the notes. With g the gradient at step t = 1, 2, ...::

        M_t = β1 M_{t-1} + (1 − β1) g            (first moment, momentum)
        G_t = β2 G_{t-1} + (1 − β2) g ⊙ g        (second moment, as in RMSProp)
        M̂_t = M_t / (1 − β1^t),  Ĝ_t = G_t / (1 − β2^t)   (bias correction)
        Δθ_t = −α M̂_t / (√Ĝ_t + ε)

    Args:
        params: the parameters to train.
        lr: α > 0.
        betas: (β1, β2), each in [0, 1).
        eps: ε >= 0, added to √Ĝ for numerical stability.
        weight_decay: λ >= 0, added to the gradient as λθ (L2 penalty, not AdamW).

    State per parameter: ``"M"`` and ``"G"``, arrays of the parameter's shape and dtype.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            check_probability("betas[0]", betas[0], closed_right=False),
            check_probability("betas[1]", betas[1], closed_right=False),
        )
        self.eps = check_nonnegative("eps", eps)
        for st, p in zip(self.state, self.params, strict=True):
            st["M"] = np.zeros_like(p.data)
            st["G"] = np.zeros_like(p.data)
        self._work: list[np.ndarray | None] = [None] * len(self.params)

    def _scratch(self, i: int, p: Parameter) -> np.ndarray:
        """A reused work array of the parameter's shape and dtype (no per-step allocations)."""
        buf = self._work[i]
        if buf is None or buf.shape != p.data.shape or buf.dtype != p.data.dtype:
            buf = self._work[i] = np.empty_like(p.data)
        return buf

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        beta1, beta2 = self.betas
        st = self.state[i]
        M, G = st["M"], st["G"]
        buf = self._scratch(i, p)
        # M_t = β1 M + (1 − β1) g, in place
        M *= beta1
        np.multiply(g, 1.0 - beta1, out=buf)
        M += buf
        # G_t = β2 G + (1 − β2) g ⊙ g, in place
        G *= beta2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - beta2
        G += buf
        # Δθ = −α M̂ / (√Ĝ + ε) with M̂ = M / (1 − β1^t), Ĝ = G / (1 − β2^t)
        np.divide(G, 1.0 - beta2**self.t, out=buf)
        np.sqrt(buf, out=buf)
        buf += self.eps
        np.divide(M, buf, out=buf)
        buf *= self.lr / (1.0 - beta1**self.t)
        p.data -= buf

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "betas": self.betas,
            "eps": self.eps,
        }
