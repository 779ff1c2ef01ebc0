"""Per-parameter adaptive learning rates: AdaGrad (alg. 5.2), RMSProp (alg. 5.3, and with
Nesterov momentum, alg. 5.4) and AdaDelta. Adam (alg. 5.5) is in :mod:`dlcourse.optim.adam`.

All operations are element-wise; ``δ`` (``eps``) is added **outside** the square root,
``g / (δ + √r)``, as algorithms 5.2 and 5.3 write it and as ``torch.optim`` does (alg. 5.3's
remark "√(δ + r)" contradicts its own update line; AdaDelta is the exception, see there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from dlcourse._validate import check_nonnegative, check_positive, check_probability
from dlcourse.nn.module import Parameter
from dlcourse.optim.base import Closure, Optimizer

__all__ = ["AdaGrad", "RMSProp", "AdaDelta"]


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011; algorithm 5.2). With g the gradient (plus λθ)::

        r <- r + g ⊙ g                      (sum of every squared gradient so far)
        θ <- θ − α g / (δ + √r)

    ``torch.optim.Adagrad`` with ``lr_decay=0`` and ``initial_accumulator_value=0`` computes the
    same; its default ``eps`` is 1e-10, the default here is the notes' δ = 1e-7.

    Args:
        params: the parameters to train.
        lr: α > 0 (the notes' global learning rate ε).
        eps: δ >= 0.
        weight_decay: λ >= 0 (added to the gradient as λθ).

    State per parameter: ``"r"``, the accumulated squared gradient (the parameter's shape and
    dtype).
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        eps: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.eps = check_nonnegative("eps", eps)
        for st, p in zip(self.state, self.params, strict=True):
            st["r"] = np.zeros_like(p.data)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        r = self.state[i]["r"]
        buf = self._scratch(i, p)
        np.multiply(g, g, out=buf)
        r += buf                                  # r <- r + g ⊙ g
        np.sqrt(r, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)                # g / (δ + √r)
        buf *= self.lr
        p.data -= buf

    def _hyperparameters(self) -> dict[str, Any]:
        return {**super()._hyperparameters(), "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012; algorithm 5.3), optionally with (Nesterov) momentum (alg. 5.4).

    With g the gradient (plus λθ) and ρ the decay rate::

        r <- ρ r + (1 − ρ) g ⊙ g            (moving average of the squared gradient)
        θ <- θ − α g / (δ + √r)             (momentum = 0: algorithm 5.3)

    ``momentum=μ > 0`` keeps a buffer ``b`` as ``torch.optim.RMSprop`` does (b starts at 0)::

        b <- μ b + g / (δ + √r),   θ <- θ − α b

    which is the velocity form of alg. 5.4, ``v <- μ v − α g / √r``, ``θ <- θ + v``, with
    ``v = −α b`` (identical for a constant α; with a schedule, the current α scales the whole
    buffer, as in PyTorch).

    ``nesterov=True`` is algorithm 5.4 with its gradient taken where Nesterov takes it, at the
    interim point ``θ̂ = θ + μ v = θ − α μ b`` (the notes' box computes g at θ, which makes it
    plain momentum). That gradient depends on the update itself, so ``step`` then needs a
    **closure**::

        def closure():
            opt.zero_grad()
            loss = L(model(x), y)            # forward at the parameters step() has set
            model.backward(L.backward())
            return loss
        loss = opt.step(closure)

    ``step(closure)`` moves every trainable parameter to θ̂, calls ``closure()`` (the
    gradients are taken at θ̂; weight decay adds λθ̂), puts θ back, then updates ``r``, ``b``
    and θ. Between steps the parameters hold θ. ``step()`` without a closure raises
    ``ValueError`` in this mode rather than silently using the gradient at θ. (PyTorch has no
    Nesterov RMSProp; ``torch.optim.SGD(nesterov=True)`` avoids a closure by storing the
    look-ahead point instead of θ.)

    Args:
        params: the parameters to train.
        lr: α > 0 (the notes' global learning rate ε).
        rho: the decay rate ρ in [0, 1] (the notes give none; 0.9 is Hinton's value;
            PyTorch's ``alpha`` defaults to 0.99).
        eps: δ >= 0 (alg. 5.3's 1e-6; PyTorch's default is 1e-8).
        momentum: μ >= 0 (0: no momentum).
        nesterov: take the gradient at the interim point (alg. 5.4); needs ``momentum > 0``.
        weight_decay: λ >= 0 (added to the gradient as λθ).

    State per parameter: ``"r"``, and ``"b"`` when ``momentum > 0`` (the parameter's shape and
    dtype).
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        rho: float = 0.9,
        eps: float = 1e-6,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.rho = check_probability("rho", rho)
        self.eps = check_nonnegative("eps", eps)
        self.momentum = check_probability("momentum", momentum, closed_right=False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov: expected a bool, got {type(nesterov).__name__}")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum <= 0:
            raise ValueError(f"nesterov: needs momentum > 0, got momentum={self.momentum}")
        for st, p in zip(self.state, self.params, strict=True):
            st["r"] = np.zeros_like(p.data)
            if self.momentum:
                st["b"] = np.zeros_like(p.data)

    def step(self, closure: Closure | None = None) -> Any:
        """One update; with ``nesterov=True`` ``closure`` is required (see the class docstring).

        Returns:
            what ``closure()`` returned, or None.
        """
        if not self.nesterov:
            return super().step(closure)
        if closure is None:
            raise ValueError(
                "closure: RMSProp(nesterov=True) takes the gradient at the interim point "
                "θ + μv (algorithm 5.4), so step() needs a closure that zeroes the gradients, "
                "runs forward and backward and returns the loss: opt.step(closure)"
            )
        self._advance()
        trainable = list(self._trainable())
        saved = [p.data.copy() for _, p in trainable]
        try:
            for i, p in trainable:  # θ̂ = θ − α μ b
                p.data -= (self.lr * self.momentum) * self.state[i]["b"]
            loss = closure()
            grads = [self._gradient(i, p) for i, p in trainable]  # at θ̂, decay λθ̂ included
        except BaseException:
            self.t -= 1
            raise
        finally:
            for (_, p), theta in zip(trainable, saved, strict=True):
                p.data[...] = theta
        for (i, p), g in zip(trainable, grads, strict=True):
            self._update(i, p, g)
        return loss

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        st = self.state[i]
        r = st["r"]
        buf = self._scratch(i, p)
        r *= self.rho
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.rho
        r += buf                                  # r <- ρ r + (1 − ρ) g ⊙ g
        np.sqrt(r, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)                # g / (δ + √r)
        if self.momentum:
            b = st["b"]
            b *= self.momentum
            b += buf                              # b <- μ b + g / (δ + √r)
            np.multiply(b, self.lr, out=buf)
        else:
            buf *= self.lr
        p.data -= buf

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "rho": self.rho,
            "eps": self.eps,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        }


class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012), as ``torch.optim.Adadelta``. With g the gradient (plus λθ)::

        r <- ρ r + (1 − ρ) g ⊙ g                       (moving average of g²)
        Δ = √(s + δ) / √(r + δ) ⊙ g                    (the step, in the parameters' units)
        s <- ρ s + (1 − ρ) Δ ⊙ Δ                       (moving average of Δ²)
        θ <- θ − α Δ

    The ratio of the two running root-mean-squares replaces a learning rate (α = 1 by
    default only rescales); δ sits **inside** both roots, as in Zeiler's paper and PyTorch, and
    must be > 0: at the start s = 0 and √δ alone sets the size of the first steps.

    Args:
        params: the parameters to train.
        lr: α > 0, a factor on Δ (PyTorch's default 1.0).
        rho: the decay rate ρ in [0, 1].
        eps: δ > 0.
        weight_decay: λ >= 0 (added to the gradient as λθ).

    State per parameter: ``"r"`` (average of g²) and ``"s"`` (average of Δ²).
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.rho = check_probability("rho", rho)
        self.eps = check_positive("eps", eps)
        for st, p in zip(self.state, self.params, strict=True):
            st["r"] = np.zeros_like(p.data)
            st["s"] = np.zeros_like(p.data)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        st = self.state[i]
        r, s = st["r"], st["s"]
        rho, eps = self.rho, self.eps
        r *= rho
        r += (1.0 - rho) * (g * g)                # r <- ρ r + (1 − ρ) g ⊙ g
        delta = np.sqrt(s + eps)
        delta /= np.sqrt(r + eps)
        delta *= g                                # Δ = √(s + δ) / √(r + δ) ⊙ g
        s *= rho
        s += (1.0 - rho) * (delta * delta)        # s <- ρ s + (1 − ρ) Δ ⊙ Δ
        delta *= self.lr
        p.data -= delta

    def _hyperparameters(self) -> dict[str, Any]:
        return {**super()._hyperparameters(), "rho": self.rho, "eps": self.eps}
