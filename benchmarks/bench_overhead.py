"""Cost of input validation in a recurrent loop of small matrices.

``dlcourse.nn`` validates at its public entry points (a module's ``forward``/``backward``:
dtype, shape, finite values) and its kernels (``linear_forward`` ...) trust their inputs. The
validation is pure overhead in a loop of many small calls, the worst case being a recurrent
network: 35 steps of ``h = tanh(x_t W_x + h W_h + b)`` with small matrices, forward then BPTT.
Three ways to run the same arithmetic are timed in alternating blocks in one run (timings on
shared machines swing by up to 2x, so only ratios within a run mean something):

- ``kernels``: the bare kernels, no validation, no bookkeeping (the floor);
- ``layer``: what a dlcourse recurrent layer does — validate the sequence and the initial
  state once at its entry, loop over the kernels, keep one cache per forward call;
- ``cell modules``: a cell unrolled by hand from ``Linear``/``Tanh`` modules, every call
  validated (correct, thanks to the per-call caches, but every step pays the checks).

The overhead of each is printed as a fraction of its own step.

    python -m benchmarks.bench_overhead            # ~10 s
    python -m benchmarks.bench_overhead --quick    # ~1 s (used by the smoke test)

Target (issue "Core, second pass", item 5): the layer's overhead below 10 % of the step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from dlcourse._validate import as_float_array, check_ndim
from dlcourse.nn import Linear, Module, Tanh
from dlcourse.nn.activation import ElementwiseCache
from dlcourse.nn.linear import linear_backward, linear_forward

__all__ = ["run", "main"]


def _module_step(T: int, x: np.ndarray, H: int, wx: Linear, wh: Linear, act: Tanh) -> None:
    """Forward over T steps through the modules, then back-propagation through time."""
    N = x.shape[0]
    h = np.zeros((N, H), dtype=x.dtype)
    for t in range(T):
        h = act(wx(x[:, t]) + wh(h))
    dh = np.ones_like(h)
    for _ in range(T):
        dz = act.backward(dh)
        wx.backward(dz, need_dx=False)
        dh = wh.backward(dz)


def _kernel_loop(x: np.ndarray, h: np.ndarray, wx: Linear, wh: Linear) -> list:
    """Forward over the T steps of x (N, T, D) with the kernels; return the per-step caches."""
    caches = []
    Wx, bx, Wh = wx.W.data, wx.b.data, wh.W.data
    for t in range(x.shape[1]):
        a, cx = linear_forward(x[:, t], Wx, bx)
        z, ch = linear_forward(h, Wh, None)
        z += a
        h = np.tanh(z)
        caches.append((cx, ch, ElementwiseCache(x=z)))
    return caches


def _kernel_bptt(caches: list, dh: np.ndarray, wx: Linear, wh: Linear) -> np.ndarray:
    """Back-propagation through time over the per-step caches; adds the parameter grads."""
    for cx, ch, ca in reversed(caches):
        t = np.tanh(ca.x)
        dz = dh * (1.0 - t * t)
        _, dWx, dbx = linear_backward(dz, cx, need_dx=False)
        dh, dWh, _ = linear_backward(dz, ch)
        wx.W.grad += dWx
        wx.b.grad += dbx
        wh.W.grad += dWh
    return dh


def _kernel_step(T: int, x: np.ndarray, H: int, wx: Linear, wh: Linear, act: Tanh) -> None:
    """The arithmetic through the bare kernels: no validation, no module bookkeeping."""
    caches = _kernel_loop(x, np.zeros((x.shape[0], H), dtype=x.dtype), wx, wh)
    _kernel_bptt(caches, np.ones((x.shape[0], H), dtype=x.dtype), wx, wh)


class _Recurrent(Module):
    """A minimal recurrent layer as dlcourse builds them: validate once, loop on kernels."""

    def __init__(self, wx: Linear, wh: Linear) -> None:
        super().__init__()
        self.wx, self.wh = wx, wh

    def forward(self, x: np.ndarray, h0: np.ndarray) -> np.ndarray:
        x = as_float_array("x", x)
        check_ndim("x", x, 3, "(N, T, D)")
        h0 = as_float_array("h0", h0)
        if x.shape[2] != self.wx.in_features or h0.shape != (x.shape[0], self.wh.in_features):
            raise ValueError(f"x, h0: shapes {x.shape}, {h0.shape} do not fit the layer")
        caches = _kernel_loop(x, h0, self.wx, self.wh)
        self._save_cache(caches)
        return np.tanh(caches[-1][2].x)

    def backward(self, dh: np.ndarray) -> np.ndarray:
        caches = self._peek_cache()
        dh = as_float_array("dh", dh, allow_nan=True)
        if dh.shape != caches[-1][1].x.shape:
            raise ValueError(f"dh: expected shape {caches[-1][1].x.shape}, got {dh.shape}")
        self._caches.pop()
        return _kernel_bptt(caches, dh, self.wx, self.wh)


def _layer_step(T: int, x: np.ndarray, H: int, layer: _Recurrent) -> None:
    layer(x, np.zeros((x.shape[0], H), dtype=x.dtype))
    layer.backward(np.ones((x.shape[0], H), dtype=x.dtype))


def _time(fn: Callable[[], None], seconds: float) -> float:
    """Mean seconds per call of ``fn`` over a block of about ``seconds``."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n


def run(T: int = 35, N: int = 32, D: int = 28, H: int = 64, blocks: int = 11,
        block_seconds: float = 0.3, seed: int = 0) -> dict[str, float]:
    """Time the three variants in alternating blocks; return the medians and overheads."""
    rng = np.random.default_rng(seed)
    wx = Linear(D, H, rng=rng, dtype=np.float32)
    wh = Linear(H, H, bias=False, rng=rng, dtype=np.float32)
    act = Tanh()
    layer = _Recurrent(wx, wh)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    times: dict[str, list[float]] = {"kernels": [], "layer": [], "cells": []}
    for _ in range(blocks):
        times["kernels"].append(_time(lambda: _kernel_step(T, x, H, wx, wh, act), block_seconds))
        times["layer"].append(_time(lambda: _layer_step(T, x, H, layer), block_seconds))
        times["cells"].append(_time(lambda: _module_step(T, x, H, wx, wh, act), block_seconds))
    k, lay, c = (statistics.median(times[n]) for n in ("kernels", "layer", "cells"))
    return {"T": T, "N": N, "D": D, "H": H, "kernel_ms": 1e3 * k, "layer_ms": 1e3 * lay,
            "cells_ms": 1e3 * c, "layer_overhead": (lay - k) / lay, "cells_overhead": (c - k) / c}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 short blocks (smoke test)")
    args = parser.parse_args(argv)
    r = run(blocks=3, block_seconds=0.05) if args.quick else run()
    print(f"recurrent loop T={r['T']} N={r['N']} D={r['D']} H={r['H']} (float32, fwd + BPTT)")
    print(f"  bare kernels:                           {r['kernel_ms']:8.3f} ms")
    print(f"  layer (validated once, kernels inside): {r['layer_ms']:8.3f} ms"
          f"   overhead {r['layer_overhead']:6.1%} of its step")
    print(f"  cell modules unrolled (every call):     {r['cells_ms']:8.3f} ms"
          f"   overhead {r['cells_overhead']:6.1%} of its step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
