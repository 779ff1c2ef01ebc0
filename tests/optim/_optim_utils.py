"""Shared helpers of tests/optim: a small smooth problem solved by dlcourse and by torch.optim.

The loss of every parameter θ_p (shapes ``SHAPES``) is

    L(θ) = Σ_p Σ [ ½ w_p ⊙ (θ_p − a_p)² + c · cos(θ_p) ],   ∇_p L = w_p ⊙ (θ_p − a_p) − c · sin(θ_p)

Its gradient depends on the parameters, so the two trajectories must agree at every step (an
error at one step would change every later gradient). dlcourse's gradients come from the
closed form above, torch's from its own autograd of the same expression.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from dlcourse.nn import Parameter

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)

SHAPES = [(3, 4), (4,), (2, 3, 2)]
C = 0.3


def problem(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """``(initial θ, weights w, targets a)``, one array per shape, float64."""
    rng = np.random.default_rng(seed)
    theta = [rng.standard_normal(s) for s in SHAPES]
    w = [rng.uniform(0.2, 3.0, size=s) for s in SHAPES]
    a = [rng.standard_normal(s) for s in SHAPES]
    return theta, w, a


def make_params(seed: int = 0, dtype: type = np.float64) -> list[Parameter]:
    return [Parameter(t.astype(dtype)) for t in problem(seed)[0]]


def numpy_grads(params: list[Parameter], seed: int = 0) -> None:
    """Set ``p.grad`` to ∇L at ``p.data`` (in the parameter's dtype)."""
    _, w, a = problem(seed)
    for p, wp, ap in zip(params, w, a, strict=True):
        p.zero_grad()
        p.grad += (wp * (p.data - ap) - C * np.sin(p.data)).astype(p.grad.dtype)


def run_ours(
    opt, params: list[Parameter], steps: int, seed: int = 0
) -> list[list[np.ndarray]]:
    """Parameters after each of ``steps`` updates."""
    out = []
    for _ in range(steps):
        numpy_grads(params, seed)
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


def run_torch(
    make_opt: Callable, steps: int, seed: int = 0, frozen: tuple[int, ...] = (),
    make_scheduler: Callable | None = None,
) -> list[list[np.ndarray]]:
    """The same run with ``make_opt(tensors)`` (and ``make_scheduler(opt)``), in float64."""
    theta, w, a = problem(seed)
    tparams = [torch.tensor(t, requires_grad=i not in frozen) for i, t in enumerate(theta)]
    tw, ta = [torch.tensor(x) for x in w], [torch.tensor(x) for x in a]
    opt = make_opt(tparams)
    sched = None if make_scheduler is None else make_scheduler(opt)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(
            (0.5 * wp * (tp - ap) ** 2 + C * torch.cos(tp)).sum()
            for tp, wp, ap in zip(tparams, tw, ta, strict=True)
        )
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        out.append([tp.detach().numpy().copy() for tp in tparams])
    return out


def assert_same_trajectory(
    ours: list[list[np.ndarray]], ref: list[list[np.ndarray]], rtol: float = 1e-12,
    atol: float = 1e-13,
) -> None:
    assert len(ours) == len(ref)
    for step, (a, b) in enumerate(zip(ours, ref, strict=True)):
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol,
                                       err_msg=f"step {step + 1}, params[{k}]")
