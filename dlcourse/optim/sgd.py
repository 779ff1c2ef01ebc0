"""Stochastic gradient descent (algorithm 5.1) with heavy-ball or Nesterov momentum (5.40)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from dlcourse._validate import check_probability
from dlcourse.nn.module import Parameter
from dlcourse.optim.base import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Mini-batch SGD, optionally with momentum; every argument means what it means in
    ``torch.optim.SGD``. With g the gradient (plus ``weight_decay``·θ) at step t = 1, 2, ...::

        v_1 = g_1,   v_t = ρ v_{t-1} + (1 − dampening) g_t     (momentum buffer, ρ = momentum)
        d_t = g_t + ρ v_t  if nesterov  else  v_t               (d_t = g_t when ρ = 0)
        θ_t = θ_{t-1} − α d_t

    - ``momentum=0`` is algorithm 5.1, ``θ <- θ − α (g + λθ)``.
    - ``momentum=ρ`` with ``dampening=0`` is the heavy ball of (5.40): the update
      ``Δθ_t = −α v_t`` satisfies ``Δθ_t = ρ Δθ_{t-1} − α g_t`` (for a constant α). Two steps
      with g = 1 from θ = 0 move θ by −α, then by −α(1 + ρ).
    - ``dampening=β`` with ``momentum=β`` gives the outline's moving average
      ``v <- β v + (1 − β) g`` from the second step on; the first step takes ``v_1 = g_1``
      undamped, exactly as PyTorch does (an average started at v_0 = 0 would give
      ``v_1 = (1 − β) g_1``).
    - ``nesterov=True`` (needs ``momentum > 0`` and ``dampening = 0``) is PyTorch's form of
      Nesterov's accelerated gradient (Sutskever et al., 2013): the parameters held are the
      look-ahead point, so the gradient of the current parameters is the one Nesterov asks
      for and no closure is needed.

    Args:
        params: the parameters to train.
        lr: α > 0.
        momentum: ρ in [0, 1) (0 disables momentum).
        dampening: in [0, 1]; the weight of the new gradient in the buffer is ``1 − dampening``.
        nesterov: use Nesterov momentum.
        weight_decay: λ >= 0, the coefficient of the L2 penalty ½λ‖θ‖² (added as g + λθ).

    State per parameter: ``"v"`` (the momentum buffer, the parameter's shape and dtype),
    created at the first update of that parameter when ``momentum > 0``.

    >>> p = Parameter(np.zeros(1))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad[:] = 1.0
    ...     opt.step()
    >>> round(float(p.data[0]), 10)   # −0.1, then −0.1 · (1 + 0.9)
    -0.29
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = check_probability("momentum", momentum, closed_right=False)
        self.dampening = check_probability("dampening", dampening)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected a bool, got {type(nesterov).__name__}")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "nesterov: Nesterov momentum needs momentum > 0 and dampening = 0, "
                f"got momentum={self.momentum}, dampening={self.dampening}"
            )

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        if not self.momentum:
            p.data -= self.lr * g
            return
        st = self.state[i]
        v = st.get("v")
        if v is None:  # first update: the buffer starts at the gradient itself (no dampening)
            v = st["v"] = np.array(g, dtype=p.data.dtype, copy=True)
        else:
            v *= self.momentum
            v += (1.0 - self.dampening) * g
        if self.nesterov:
            buf = self._scratch(i, p)
            np.multiply(v, self.momentum, out=buf)
            buf += g
            buf *= self.lr
            p.data -= buf
        else:
            p.data -= self.lr * v

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
        }
