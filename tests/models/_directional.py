"""Whole-model gradient check along one random direction (float64).

For a model too large for an entry-by-entry finite difference, the analytic gradients of the
loss with respect to the input and every parameter are projected on random directions
(v for the input, d_i for parameter i) and compared with the central difference
(L(θ + εd, x + εv) − L(θ − εd, x − εv)) / 2ε: two forward passes instead of one per entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.gradcheck import relative_error
from dlcourse.nn import Module, Parameter


def check_directional_derivative(net: Module, loss, x: np.ndarray, y: np.ndarray,
                                 params: Sequence[Parameter], dirs: Sequence[np.ndarray],
                                 v: np.ndarray, eps: float = 1e-6, tol: float = 1e-6) -> None:
    """Assert d loss / dt along (dirs, v) equals ⟨∇θ L, dirs⟩ + ⟨∇x L, v⟩ (relative error < tol)."""
    net.zero_grad()
    loss(net(x), y)
    dx = net.backward(loss.backward())
    pairs = zip(params, dirs, strict=True)
    analytic = float(np.sum(dx * v) + sum(np.sum(p.grad * d) for p, d in pairs))

    def f(t: float) -> float:
        old = [p.data.copy() for p in params]
        for p, d in zip(params, dirs, strict=True):
            p.data += t * d
        value = loss(net(x + t * v), y)
        net.clear_cache()
        for p, o in zip(params, old, strict=True):
            p.data[...] = o
        return value

    numeric = (f(eps) - f(-eps)) / (2 * eps)
    err = relative_error(np.array(analytic), np.array(numeric))
    assert err < tol, f"directional derivative: analytic {analytic}, numeric {numeric}, " \
                      f"relative error {err:.2e}"
