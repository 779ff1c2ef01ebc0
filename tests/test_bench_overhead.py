"""Smoke test of ``benchmarks/bench_overhead.py``: the three variants compute the same
gradients (so the timing compares like with like) and the run returns finite ratios. No timing
assertions: timings on the shared machines swing by up to 2x."""

from __future__ import annotations

import math

import numpy as np

from benchmarks import bench_overhead as B
from dlcourse.nn import Linear, Tanh


def _grads(step: str) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    wx, wh = Linear(3, 4, rng=rng), Linear(4, 4, bias=False, rng=rng)
    x = rng.standard_normal((2, 5, 3))
    if step == "kernels":
        B._kernel_step(5, x, 4, wx, wh, Tanh())
    elif step == "layer":
        B._layer_step(5, x, 4, B._Recurrent(wx, wh))
    else:
        B._module_step(5, x, 4, wx, wh, Tanh())
    return [wx.W.grad, wx.b.grad, wh.W.grad]


def test_the_three_variants_compute_the_same_gradients() -> None:
    ref = _grads("cells")
    assert all(np.abs(g).sum() > 0 for g in ref)
    for step in ("kernels", "layer"):
        for g, r in zip(_grads(step), ref, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-12)


def test_run_returns_finite_times_and_overheads() -> None:
    r = B.run(T=5, N=4, D=3, H=4, blocks=1, block_seconds=0.005)
    for key in ("kernel_ms", "layer_ms", "cells_ms"):
        assert math.isfinite(r[key]) and r[key] > 0
    assert r["layer_overhead"] < 1 and r["cells_overhead"] < 1
