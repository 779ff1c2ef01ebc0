"""Learning-rate schedules (section 5.3.1): callables ``lr_at(t) -> float`` of the step t.

Attach one to any optimiser; before each update it sets ``opt.lr = schedule(opt.t)`` with
``opt.t`` the number of steps already taken (0 for the first update)::

    opt = SGD(model.parameters(), lr=0.1)
    opt.schedule = CosineDecay(0.1, total_steps=epochs * len(loader))

So ``schedule(t)`` is the learning rate of the (t+1)-th update, and equals what a
``torch.optim.lr_scheduler`` gives after ``t`` calls of ``scheduler.step()``. A schedule that
should change once per epoch (or every m iterations) takes ``every=m``: it sees ⌊t/m⌋.

Decays: :class:`PiecewiseConstant` and :class:`StepDecay` (step decay),
:class:`InverseTimeDecay` (5.32), :class:`ExponentialDecay` (5.33), :class:`NaturalExpDecay`
(5.34), :class:`CosineDecay` (5.35). Warm-up: :class:`GradualWarmup` (5.36), followed by any
decay. Cyclic: :class:`TriangularCyclic` (5.37–5.39; Smith, 2017 — the notes cite Goyal et al.,
2017, the warm-up paper).

>>> s = ExponentialDecay(1.0, beta=0.5)
>>> [s(t) for t in range(4)]
[1.0, 0.5, 0.25, 0.125]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from dlcourse._validate import (
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = [
    "Schedule",
    "PiecewiseConstant",
    "StepDecay",
    "InverseTimeDecay",
    "ExponentialDecay",
    "NaturalExpDecay",
    "CosineDecay",
    "GradualWarmup",
    "TriangularCyclic",
]


class Schedule:
    """Base class: ``schedule(t)`` checks ``t`` (an int >= 0) and returns ``float(lr_at(t))``."""

    def __call__(self, t: int) -> float:
        t = check_int("t", t, minimum=0)
        return float(self.lr_at(t))

    def lr_at(self, t: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class PiecewiseConstant(Schedule):
    """Piecewise-constant decay: after ``milestones[i]`` steps the learning rate is multiplied by
    ``factors[i]`` (cumulatively), ``α_t = α0 · Π_{i: t >= T_i} β_i``.

    The notes' "衰减为原来的 β_i 倍" after T_1, T_2, ... iterations (their condition "T_m < 1"
    is meaningless: the T_i are step counts, the β_i < 1). A single factor β is used at every
    milestone, as ``torch.optim.lr_scheduler.MultiStepLR(milestones, gamma=β)``.

    Args:
        lr0: α0 > 0.
        milestones: strictly increasing step counts T_1 < T_2 < ... (ints >= 1).
        factors: β_i > 0 for each milestone, or one β for all.

    >>> s = PiecewiseConstant(1.0, milestones=[2, 4], factors=0.1)
    >>> [round(s(t), 12) for t in range(6)]
    [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    def __init__(
        self, lr0: float, milestones: Sequence[int], factors: float | Sequence[float] = 0.1
    ) -> None:
        self.lr0 = check_positive("lr0", lr0)
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise TypeError(f"milestones: expected a list of step counts, got {milestones!r}")
        self.milestones = [check_int(f"milestones[{i}]", m, minimum=1)
                           for i, m in enumerate(milestones)]
        if any(b <= a for a, b in zip(self.milestones, self.milestones[1:], strict=False)):
            raise ValueError(f"milestones: expected strictly increasing steps, got {milestones}")
        if isinstance(factors, Sequence) and not isinstance(factors, (str, bytes)):
            if len(factors) != len(self.milestones):
                raise ValueError(
                    f"factors: expected {len(self.milestones)} factors (one per milestone), "
                    f"got {len(factors)}"
                )
            self.factors = [check_positive(f"factors[{i}]", f) for i, f in enumerate(factors)]
        else:
            self.factors = [check_positive("factors", factors)] * len(self.milestones)
        self._levels = [self.lr0]
        for f in self.factors:
            self._levels.append(self._levels[-1] * f)

    def lr_at(self, t: int) -> float:
        return self._levels[bisect.bisect_right(self.milestones, t)]


class StepDecay(Schedule):
    """Step decay: ``α_t = α0 · γ^⌊t / step_size⌋`` (``torch.optim.lr_scheduler.StepLR``).

    Args:
        lr0: α0 > 0.
        step_size: the number of steps between two decays (an int >= 1; e.g. the steps of an
            epoch times the epochs between decays).
        gamma: γ > 0, the factor applied at each decay.
    """

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr0 = check_positive("lr0", lr0)
        self.step_size = check_int("step_size", step_size, minimum=1)
        self.gamma = check_positive("gamma", gamma)

    def lr_at(self, t: int) -> float:
        return self.lr0 * self.gamma ** (t // self.step_size)


class _Decay(Schedule):
    """A decay of the step count k = ⌊t / every⌋ with rate ``beta``."""

    def __init__(self, lr0: float, beta: float, every: int = 1) -> None:
        self.lr0 = check_positive("lr0", lr0)
        self.beta = check_nonnegative("beta", beta)
        self.every = check_int("every", every, minimum=1)

    def lr_at(self, t: int) -> float:
        return self._decay(t // self.every)

    def _decay(self, k: int) -> float:
        raise NotImplementedError


class InverseTimeDecay(_Decay):
    """Inverse-time decay (5.32): ``α_t = α0 / (1 + β t)``.

    Args:
        lr0: α0 > 0.
        beta: the decay rate β >= 0.
        every: decay once every ``every`` steps (t becomes ⌊t / every⌋); 1 by default.
    """

    def _decay(self, k: int) -> float:
        return self.lr0 / (1.0 + self.beta * k)


class ExponentialDecay(_Decay):
    """Exponential decay (5.33): ``α_t = α0 β^t`` (``torch.optim.lr_scheduler.ExponentialLR``
    with ``gamma=β``).

    Args:
        lr0: α0 > 0.
        beta: the decay rate β in [0, 1].
        every: decay once every ``every`` steps (t becomes ⌊t / every⌋); 1 by default.
    """

    def __init__(self, lr0: float, beta: float, every: int = 1) -> None:
        super().__init__(lr0, check_probability("beta", beta), every)

    def _decay(self, k: int) -> float:
        return self.lr0 * self.beta**k


class NaturalExpDecay(_Decay):
    """Natural exponential decay (5.34): ``α_t = α0 e^{−β t}`` (exponential decay with rate
    e^{−β}).

    Args:
        lr0: α0 > 0.
        beta: the decay rate β >= 0.
        every: decay once every ``every`` steps (t becomes ⌊t / every⌋); 1 by default.
    """

    def _decay(self, k: int) -> float:
        return self.lr0 * math.exp(-self.beta * k)


class CosineDecay(Schedule):
    """Cosine decay (5.35): ``α_t = α_min + ½ (α0 − α_min)(1 + cos(π t / T))`` for t <= T,
    and α_min after T (``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min=α_min)``
    up to T; PyTorch's curve would rise again after T).

    The notes' form has α_min = 0. Lab 2's schedule is ``CosineDecay(lr, epochs * len(loader))``.

    Args:
        lr0: α0 > 0.
        total_steps: T, the number of steps of the whole decay (an int >= 1).
        min_lr: α_min in [0, α0] (0 by default).
        every: decay once every ``every`` steps (t becomes ⌊t / every⌋; T counts such units).
    """

    def __init__(self, lr0: float, total_steps: int, min_lr: float = 0.0, every: int = 1) -> None:
        self.lr0 = check_positive("lr0", lr0)
        self.total_steps = check_int("total_steps", total_steps, minimum=1)
        self.min_lr = check_nonnegative("min_lr", min_lr)
        if self.min_lr > self.lr0:
            raise ValueError(f"min_lr: expected a value <= lr0 = {self.lr0}, got {min_lr!r}")
        self.every = check_int("every", every, minimum=1)

    def lr_at(self, t: int) -> float:
        k = min(t // self.every, self.total_steps)
        cos = 0.5 * (1.0 + math.cos(math.pi * k / self.total_steps))
        return self.min_lr + (self.lr0 - self.min_lr) * cos


class GradualWarmup(Schedule):
    """Gradual warm-up (5.36; Goyal et al., 2017), then any schedule.

    For the first T' steps the learning rate rises linearly to α0 = ``after(0)``; then
    ``after`` runs from its own step 0::

        α_t = (t + 1) / T' · α0    for t = 0, ..., T' − 1   (the notes' t = 1, ..., T')
        α_t = after(t − T')        for t >= T'

    The notes count iterations from 1, so their first update uses α0 / T'; here the first
    update is step t = 0, hence t + 1. The warm-up equals
    ``torch.optim.lr_scheduler.LinearLR(start_factor=1/T', total_iters=T' − 1)``.

    Args:
        after: the schedule that follows (e.g. ``CosineDecay(...)``), or a constant α0.
        warmup_steps: T', an int >= 1.

    >>> s = GradualWarmup(ExponentialDecay(1.0, beta=0.5), warmup_steps=4)
    >>> [s(t) for t in range(7)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.25]
    """

    def __init__(self, after: Callable[[int], float] | float, warmup_steps: int) -> None:
        if not callable(after):
            after = _Constant(check_positive("after", after))
        self.after = after
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1)
        self.peak = check_positive("after(0)", after(0))

    def lr_at(self, t: int) -> float:
        if t < self.warmup_steps:
            return self.peak * (t + 1) / self.warmup_steps
        return float(self.after(t - self.warmup_steps))


class _Constant(Schedule):
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def lr_at(self, t: int) -> float:
        return self.lr


class TriangularCyclic(Schedule):
    """Triangular cyclic learning rate (5.37–5.39; Smith, 2017). Each cycle lasts 2ΔT steps:
    ΔT rising linearly from the cycle's lower bound to its upper bound, ΔT falling back::

        m = ⌊1 + t / (2ΔT)⌋                       (the cycle, from 1)          (5.37)
        b = |t / ΔT − 2m + 1|                     (in [0, 1]; 0 at the peak)   (5.39)
        α_t = α_min^m + (α_max^m − α_min^m) · max(0, 1 − b)                    (5.38)

    The bounds may shrink from cycle to cycle, as the notes allow::

        α_min^m = min_lr · d^{m−1},   α_max^m = α_min^m + (max_lr − min_lr) · d^{m−1} · a^{m−1}

    with d = ``bound_decay`` and a = ``amplitude_decay``. With d = a = 1 this is
    ``torch.optim.lr_scheduler.CyclicLR(base_lr=min_lr, max_lr=max_lr, step_size_up=ΔT)``;
    a = 0.5 is its ``mode="triangular2"`` (the amplitude halves each cycle).

    Args:
        min_lr: the first cycle's lower bound, > 0.
        max_lr: the first cycle's upper bound, >= min_lr.
        half_cycle: ΔT, an int >= 1.
        bound_decay: d in (0, 1], a factor on both bounds per cycle.
        amplitude_decay: a in (0, 1], a factor on the amplitude per cycle.

    >>> s = TriangularCyclic(0.1, 0.5, half_cycle=2)
    >>> [round(s(t), 12) for t in range(6)]
    [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
    """

    def __init__(
        self,
        min_lr: float,
        max_lr: float,
        half_cycle: int,
        bound_decay: float = 1.0,
        amplitude_decay: float = 1.0,
    ) -> None:
        self.min_lr = check_positive("min_lr", min_lr)
        self.max_lr = check_positive("max_lr", max_lr)
        if self.max_lr < self.min_lr:
            raise ValueError(f"max_lr: expected a value >= min_lr = {self.min_lr}, got {max_lr!r}")
        self.half_cycle = check_int("half_cycle", half_cycle, minimum=1)
        self.bound_decay = _check_factor("bound_decay", bound_decay)
        self.amplitude_decay = _check_factor("amplitude_decay", amplitude_decay)

    def lr_at(self, t: int) -> float:
        dT = self.half_cycle
        m = 1 + t // (2 * dT)                                   # (5.37), ⌊1 + t/(2ΔT)⌋
        b = abs(t / dT - 2 * m + 1)                             # (5.39)
        scale = self.bound_decay ** (m - 1)
        low = self.min_lr * scale
        amplitude = (self.max_lr - self.min_lr) * scale * self.amplitude_decay ** (m - 1)
        return low + amplitude * max(0.0, 1.0 - b)              # (5.38)


def _check_factor(name: str, value: object) -> float:
    v = check_positive(name, value)
    if v > 1:
        raise ValueError(f"{name}: expected a value in (0, 1], got {value!r}")
    return v
