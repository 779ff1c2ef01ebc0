"""Learning-rate schedules (5.32)–(5.39): closed forms, hand values, torch.optim.lr_scheduler."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from _optim_utils import (
    assert_same_trajectory,
    make_params,
    requires_torch,
    run_ours,
    run_torch,
    torch,
)

from dlcourse.nn import Parameter
from dlcourse.optim import SGD, Adam
from dlcourse.optim.schedules import (
    CosineDecay,
    ExponentialDecay,
    GradualWarmup,
    InverseTimeDecay,
    NaturalExpDecay,
    PiecewiseConstant,
    StepDecay,
    TriangularCyclic,
)

T = np.arange(40)


def values(schedule: Callable[[int], float], n: int = 40) -> np.ndarray:
    return np.array([schedule(t) for t in range(n)])


def torch_values(make_scheduler: Callable, lr0: float, n: int = 40) -> np.ndarray:
    """The learning rate torch uses for the first n optimiser steps."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return np.array(out)


# ------------------------------------------------------------------------- closed forms
def test_inverse_time_decay_5_32() -> None:
    np.testing.assert_allclose(values(InverseTimeDecay(1.0, beta=0.1)), 1.0 / (1.0 + 0.1 * T),
                               rtol=1e-15)
    np.testing.assert_allclose(values(InverseTimeDecay(0.5, beta=1.0, every=10)),
                               0.5 / (1.0 + T // 10), rtol=1e-15)


def test_exponential_decay_5_33() -> None:
    np.testing.assert_allclose(values(ExponentialDecay(1.0, beta=0.96)), 0.96**T, rtol=1e-13)


def test_natural_exponential_decay_5_34() -> None:
    np.testing.assert_allclose(values(NaturalExpDecay(2.0, beta=0.04)), 2.0 * np.exp(-0.04 * T),
                               rtol=1e-13)
    # e^{−β t} is the exponential decay with rate e^{−β}
    np.testing.assert_allclose(values(NaturalExpDecay(1.0, beta=0.3)),
                               values(ExponentialDecay(1.0, beta=math.exp(-0.3))), rtol=1e-12)


def test_cosine_decay_5_35_and_after_the_end() -> None:
    s = CosineDecay(1.0, total_steps=30)
    np.testing.assert_allclose(values(s, 31), 0.5 * (1 + np.cos(np.arange(31) * np.pi / 30)),
                               rtol=1e-14, atol=1e-16)
    assert s(15) == pytest.approx(0.5, rel=1e-14)
    assert s(30) == pytest.approx(0.0, abs=1e-16) and s(1000) == s(30)
    floor = CosineDecay(1.0, total_steps=30, min_lr=0.1)
    assert floor(0) == 1.0 and floor(30) == pytest.approx(0.1) and floor(15) == pytest.approx(0.55)


def test_cosine_decay_equals_lab2s_schedule() -> None:
    # benchmarks/lab2_mlp_mnist.py: 0.5 · lr · (1 + cos(π · min(step, total) / total))
    lr, total = 1e-3, 37
    lab2 = [0.5 * lr * (1.0 + math.cos(math.pi * min(t, total) / total)) for t in range(50)]
    np.testing.assert_allclose(values(CosineDecay(lr, total), 50), lab2, rtol=1e-15, atol=1e-20)


def test_piecewise_constant_by_hand() -> None:
    s = PiecewiseConstant(1.0, milestones=[3, 5, 8], factors=[0.5, 0.2, 0.1])
    expected = [1.0] * 3 + [0.5] * 2 + [0.1] * 3 + [0.01] * 4
    np.testing.assert_allclose(values(s, 12), expected, rtol=1e-15)


def test_step_decay_by_hand() -> None:
    np.testing.assert_allclose(values(StepDecay(0.1, step_size=3, gamma=0.5), 7),
                               [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rtol=1e-15)


def test_gradual_warmup_5_36_then_any_decay() -> None:
    # the notes' α'_t = t/T' · α0 for t = 1..T'; here step t is their t + 1
    s = GradualWarmup(CosineDecay(0.4, total_steps=10), warmup_steps=5)
    np.testing.assert_allclose(values(s, 5), [0.08, 0.16, 0.24, 0.32, 0.4], rtol=1e-15)
    np.testing.assert_allclose(values(s, 20)[5:16], values(CosineDecay(0.4, 10), 11), rtol=1e-15)
    const = GradualWarmup(0.3, warmup_steps=3)
    np.testing.assert_allclose(values(const, 6), [0.1, 0.2, 0.3, 0.3, 0.3, 0.3], rtol=1e-15)
    plain = GradualWarmup(lambda t: 1.0 / (t + 1), warmup_steps=2)  # any callable
    np.testing.assert_allclose(values(plain, 4), [0.5, 1.0, 1.0, 0.5], rtol=1e-15)


def test_triangular_cyclic_by_hand() -> None:
    # ΔT = 3: up 0.1 → 0.4 in 3 steps, down in 3, and again
    s = TriangularCyclic(0.1, 0.4, half_cycle=3)
    np.testing.assert_allclose(values(s, 13),
                               [0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1],
                               rtol=1e-14)


def test_triangular_cyclic_shrinking_bounds() -> None:
    s = TriangularCyclic(0.2, 1.0, half_cycle=2, bound_decay=0.5)
    # cycle 2 (t = 4..7) runs between 0.1 and 0.5, cycle 3 between 0.05 and 0.25
    np.testing.assert_allclose(values(s, 12),
                               [0.2, 0.6, 1.0, 0.6, 0.1, 0.3, 0.5, 0.3, 0.05, 0.15, 0.25, 0.15],
                               rtol=1e-14)
    s2 = TriangularCyclic(0.2, 1.0, half_cycle=2, amplitude_decay=0.5)
    np.testing.assert_allclose(values(s2, 10)[[2, 4, 6, 8]], [1.0, 0.2, 0.6, 0.2], rtol=1e-14)


def test_figure_5_10_values_with_lr0_1() -> None:
    # every decay starts at α0 = 1 and is non-increasing
    for s in (InverseTimeDecay(1.0, 0.1), ExponentialDecay(1.0, 0.9), NaturalExpDecay(1.0, 0.1),
              CosineDecay(1.0, 39), PiecewiseConstant(1.0, [10, 20], 0.5)):
        v = values(s)
        assert v[0] == 1.0 and np.all(np.diff(v) <= 0) and v[-1] < 1.0, s


def test_returns_python_floats_and_accepts_numpy_steps() -> None:
    s = ExponentialDecay(1.0, 0.5)
    assert type(s(np.int64(2))) is float and s(np.int64(2)) == 0.25
    assert "ExponentialDecay(lr0=1.0, beta=0.5, every=1)" == repr(s)


# ------------------------------------------------------------------------- torch
@requires_torch
@pytest.mark.parametrize(
    ("ours", "make", "lr0"),
    [
        (StepDecay(0.1, step_size=7, gamma=0.3),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.3), 0.1),
        (ExponentialDecay(0.1, beta=0.9, every=7),
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.9), 0.1),
        (PiecewiseConstant(0.2, milestones=[5, 12, 30], factors=0.1),
         lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [5, 12, 30], gamma=0.1), 0.2),
        (ExponentialDecay(0.5, beta=0.93),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.93), 0.5),
        (CosineDecay(0.3, total_steps=39),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=39), 0.3),
        (CosineDecay(0.3, total_steps=25, min_lr=0.01),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.01), 0.3),
        (TriangularCyclic(0.01, 0.1, half_cycle=4),
         lambda o: torch.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                      cycle_momentum=False), 0.01),
        (TriangularCyclic(0.01, 0.1, half_cycle=3, amplitude_decay=0.5),
         lambda o: torch.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                      mode="triangular2",
                                                      cycle_momentum=False), 0.01),
    ],
)
def test_matches_torch_lr_scheduler(ours, make, lr0: float) -> None:
    n = 26 if isinstance(ours, CosineDecay) and ours.total_steps == 25 else 40
    np.testing.assert_allclose(values(ours, n), torch_values(make, lr0, n), rtol=1e-10,
                               atol=1e-15)


@requires_torch
def test_warmup_matches_torch_linear_lr() -> None:
    warm = 8
    ours = values(GradualWarmup(0.4, warmup_steps=warm), 20)
    ref = torch_values(lambda o: torch.optim.lr_scheduler.LinearLR(
        o, start_factor=1 / warm, total_iters=warm - 1), 0.4, 20)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_attached_schedule_matches_torch_training(momentum: float) -> None:
    ref = run_torch(lambda tp: torch.optim.SGD(tp, lr=0.1, momentum=momentum), steps=20,
                    make_scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 4, gamma=0.5))
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=momentum)
    opt.schedule = StepDecay(0.1, step_size=4, gamma=0.5)
    assert_same_trajectory(run_ours(opt, params, 20), ref)
    assert opt.lr == 0.1 * 0.5**4                     # the rate of step t = 19


def test_attached_schedule_sets_the_rate_of_each_step() -> None:
    p = Parameter(np.zeros(1))
    opt = Adam([p], lr=1.0)
    opt.schedule = GradualWarmup(ExponentialDecay(0.01, 0.5), warmup_steps=2)
    moves = []
    for _ in range(4):
        before = float(p.data[0])
        p.grad[:] = 1.0
        opt.step()
        moves.append(before - float(p.data[0]))
    # Adam moves by ≈ lr when the gradient is constant
    np.testing.assert_allclose(moves, [0.005, 0.01, 0.01, 0.005], rtol=1e-5)


# ------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("make", "exc", "pattern"),
    [
        (lambda: InverseTimeDecay(0.0, 0.1), ValueError, "lr0"),
        (lambda: InverseTimeDecay(1.0, -0.1), ValueError, "beta"),
        (lambda: ExponentialDecay(1.0, 1.5), ValueError, "beta"),
        (lambda: NaturalExpDecay(1.0, 0.1, every=0), ValueError, "every"),
        (lambda: NaturalExpDecay(1.0, 0.1, every=2.5), TypeError, "every"),
        (lambda: CosineDecay(1.0, 0), ValueError, "total_steps"),
        (lambda: CosineDecay(1.0, 10, min_lr=2.0), ValueError, "min_lr"),
        (lambda: StepDecay(1.0, 0), ValueError, "step_size"),
        (lambda: StepDecay(1.0, 2, gamma=-0.5), ValueError, "gamma"),
        (lambda: PiecewiseConstant(1.0, [5, 3]), ValueError, "milestones"),
        (lambda: PiecewiseConstant(1.0, 5), TypeError, "milestones"),
        (lambda: PiecewiseConstant(1.0, [0, 3]), ValueError, r"milestones\[0\]"),
        (lambda: PiecewiseConstant(1.0, [2, 3], factors=[0.5]), ValueError, "factors"),
        (lambda: PiecewiseConstant(1.0, [2, 3], factors=[0.5, 0.0]), ValueError,
         r"factors\[1\]"),
        (lambda: GradualWarmup(CosineDecay(1.0, 5), 0), ValueError, "warmup_steps"),
        (lambda: GradualWarmup(-1.0, 3), ValueError, "after"),
        (lambda: TriangularCyclic(0.5, 0.1, 3), ValueError, "max_lr"),
        (lambda: TriangularCyclic(0.1, 0.5, 0), ValueError, "half_cycle"),
        (lambda: TriangularCyclic(0.1, 0.5, 3, bound_decay=1.5), ValueError, "bound_decay"),
        (lambda: TriangularCyclic(0.1, 0.5, 3, amplitude_decay=0.0), ValueError,
         "amplitude_decay"),
        (lambda: CosineDecay(1.0, 10)(-1), ValueError, "t"),
        (lambda: CosineDecay(1.0, 10)(1.5), TypeError, "t"),
    ],
)
def test_rejects_bad_arguments(make, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        make()
