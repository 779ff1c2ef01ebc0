"""Speed of dlcourse's Conv2d and pooling (forward + backward) as ratios against PyTorch CPU.

What is timed (float32 throughout), for each layer shape of issue 14:

- ``conv ... fwd+bwd``: ``Conv2d`` forward, then backward giving dx, dW and db, against
  ``torch.nn.functional.conv2d`` forward + ``backward`` with the input, weight and bias all
  requiring grad;
- ``conv ... no dx``: the same without the input gradient (a network's first layer:
  ``backward(dout, need_dx=False)`` against torch with an input that does not require grad);
- ``maxpool2 / avgpool2``: 2×2 pooling forward + backward on the first shape's output.

Shapes (N, C, H, W) -> F, kernel k, padding p: (64, 3, 32, 32) -> 32 k3 p1,
(64, 32, 16, 16) -> 64 k3 p1, (256, 1, 28, 28) -> 6 k5 p0. The issue's target is a ratio
<= 1.5 for each conv shape. The last row is a whole training step of the chapter's CIFAR-10
network (``CifarNet``, batch ``STEP_BATCH``; forward, loss, backward, SGD with Nesterov momentum;
``benchmarks/_cifar_step.py``), reported but with no target: it adds batch normalisation,
pooling and the optimiser, which numpy runs on one core.

Method (as ``bench_mlp``): dlcourse and torch run in alternating blocks in one process (the
order flips every block); the table shows the median per-call time of each side and the ratio
dlcourse/torch, the median of the per-block ratios (> 1: dlcourse is slower). torch uses as
many threads as numpy's BLAS. Before timing, the script checks that both sides compute the same
output and gradients (float32 tolerance) and that dlcourse's arrays stay float32.

Usage (from the repository root)::

    python -m benchmarks.bench_conv                 # 11 blocks of ~0.3 s per side and op
    python -m benchmarks.bench_conv --quick         # 3 blocks of ~0.02 s (seconds)
    python -m benchmarks.bench_conv --json out.json # also write the record as JSON

torch is a test-only dependency (``requirements-test.txt``); without it the script prints
"reference unavailable" and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import dlcourse
from benchmarks import _record
from benchmarks._cifar_step import cifar_step_cases
from benchmarks.bench_mlp import _assert_float32, _import_torch, blas_threads, compare
from dlcourse.nn import AvgPool2d, Conv2d, MaxPool2d

NAME = "bench_conv"
STEP_BATCH = 128  # the CIFAR training step's batch (0: skip it)


@dataclass(frozen=True)
class ConvShape:
    """One convolution: input (N, C, H, W), F output channels, square kernel k, padding p."""

    N: int
    C: int
    H: int
    W: int
    F: int
    k: int
    p: int = 0

    @property
    def label(self) -> str:
        return f"({self.N},{self.C},{self.H},{self.W})->{self.F} k{self.k}p{self.p}"

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.H - self.k + 2 * self.p + 1, self.W - self.k + 2 * self.p + 1


SHAPES = (
    ConvShape(64, 3, 32, 32, 32, 3, 1),
    ConvShape(64, 32, 16, 16, 64, 3, 1),
    ConvShape(256, 1, 28, 28, 6, 5, 0),
)

Cases = dict[str, tuple[Callable[[], object], Callable[[], object]]]


def _conv_cases(torch: Any, shape: ConvShape, rng: np.random.Generator, seed: int) -> Cases:
    """(dlcourse, torch) closures for one conv shape, after checking that they agree."""
    F_ = torch.nn.functional
    s = shape
    x = rng.standard_normal((s.N, s.C, s.H, s.W), dtype=np.float32)
    dout = rng.standard_normal((s.N, s.F, *s.out_hw), dtype=np.float32)
    layer = Conv2d(s.C, s.F, s.k, padding=s.p, rng=seed, dtype=np.float32)
    layer.b.data[:] = rng.standard_normal(s.F, dtype=np.float32)
    xt = torch.from_numpy(x)
    xt_leaf = xt.clone().requires_grad_(True)
    Wt = torch.from_numpy(layer.W.data.copy()).requires_grad_(True)
    bt = torch.from_numpy(layer.b.data.copy()).requires_grad_(True)
    dt = torch.from_numpy(dout)

    def ours(need_dx: bool) -> Callable[[], object]:
        def run() -> object:
            layer.zero_grad()
            layer(x)
            return layer.backward(dout, need_dx=need_dx)
        return run

    def ref(need_dx: bool) -> Callable[[], object]:
        inp = xt_leaf if need_dx else xt

        def run() -> object:
            xt_leaf.grad = Wt.grad = bt.grad = None
            F_.conv2d(inp, Wt, bt, padding=s.p).backward(dt)
            return xt_leaf.grad
        return run

    dx = ours(True)()
    assert isinstance(dx, np.ndarray)
    ref(True)()
    scale = float(np.abs(xt_leaf.grad.numpy()).max())
    np.testing.assert_allclose(dx, xt_leaf.grad.numpy(), rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(layer.W.grad, Wt.grad.numpy(), rtol=1e-3,
                               atol=1e-4 * float(np.abs(Wt.grad.numpy()).max()))
    _assert_float32(f"conv {s.label}", {"dx": dx, "W.grad": layer.W.grad,
                                        "b.grad": layer.b.grad, "out": layer(x)})
    layer.clear_cache()
    return {f"conv {s.label} fwd+bwd": (ours(True), ref(True)),
            f"conv {s.label} no dx": (ours(False), ref(False))}


def _pool_cases(torch: Any, shape: tuple[int, int, int, int], rng: np.random.Generator) -> Cases:
    """(dlcourse, torch) closures for 2×2 max and average pooling on ``shape``."""
    F_ = torch.nn.functional
    x = rng.standard_normal(shape, dtype=np.float32)
    N, C, H, W = shape
    dout = rng.standard_normal((N, C, H // 2, W // 2), dtype=np.float32)
    xt = torch.from_numpy(x).requires_grad_(True)
    dt = torch.from_numpy(dout)
    cases: Cases = {}
    for name, cls, fn in (("maxpool2", MaxPool2d, F_.max_pool2d),
                          ("avgpool2", AvgPool2d, F_.avg_pool2d)):
        pool = cls(2)

        def ours(pool: Any = pool) -> object:
            pool(x)
            return pool.backward(dout)

        def ref(fn: Any = fn) -> object:
            xt.grad = None
            fn(xt, 2).backward(dt)
            return xt.grad

        dx = ours()
        ref()
        assert isinstance(dx, np.ndarray)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
        _assert_float32(name, {"dx": dx})
        cases[f"{name} {shape}"] = (ours, ref)
    return cases


def run(
    quick: bool = False,
    shapes: Sequence[ConvShape] = SHAPES,
    blocks: int | None = None,
    block_seconds: float | None = None,
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Measure every op and return the record (ratios, settings, environment).

    ``blocks`` / ``block_seconds`` default to 3 / 0.02 s with ``quick`` and 11 / 0.3 s
    otherwise; ``threads`` limits numpy's BLAS (threadpoolctl) and torch to that many.
    """
    if threads is None:
        return _run(quick, shapes, blocks, block_seconds, seed)
    if threads < 1:
        raise ValueError(f"threads: expected an int >= 1, got {threads}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        return _run(quick, shapes, blocks, block_seconds, seed)


def _run(quick: bool, shapes: Sequence[ConvShape], blocks: int | None,
         block_seconds: float | None, seed: int) -> dict[str, Any]:
    blocks = blocks if blocks is not None else (3 if quick else 11)
    block_seconds = block_seconds if block_seconds is not None else (0.02 if quick else 0.3)
    threads = blas_threads()
    record: dict[str, Any] = {
        "name": NAME,
        "mode": "quick" if quick else "full",
        "shapes": [asdict(s) for s in shapes],
        "dtype": "float32",
        "blocks": blocks,
        "block_seconds": block_seconds,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "numpy_version": np.__version__,
        "dlcourse_version": dlcourse.__version__,
        "python_version": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "environment": _record.environment(),
    }
    torch = _import_torch()
    if torch is None:
        record.update(reference="unavailable", torch_version=None, results=[])
        return record
    torch.set_num_threads(threads)
    record.update(reference="torch", torch_version=torch.__version__,
                  torch_threads=torch.get_num_threads())
    rng = np.random.default_rng(seed)
    cases: Cases = {}
    for shape in shapes:
        cases.update(_conv_cases(torch, shape, rng, seed))
    if shapes:
        s = shapes[0]
        cases.update(_pool_cases(torch, (s.N, s.F, *s.out_hw), rng))
    if STEP_BATCH:
        cases.update(cifar_step_cases(torch, STEP_BATCH, rng, seed))
    record["step_batch"] = STEP_BATCH
    results = [compare(op, ours, ref, blocks, block_seconds) for op, (ours, ref) in cases.items()]
    record["results"] = [asdict(r) for r in results]
    return record


def format_table(record: dict[str, Any]) -> str:
    """The results as a plain-text table: op, dlcourse ms, torch ms, ratio."""
    width = max([len(r["op"]) for r in record["results"]] + [2])
    lines = [f"{'op':<{width}} {'dlcourse ms':>12} {'torch ms':>10} {'ratio':>7}"]
    for r in record["results"]:
        lines.append(f"{r['op']:<{width}} {r['dlcourse_ms']:>12.3f} {r['torch_ms']:>10.3f} "
                     f"{r['ratio']:>7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run, print the table and thread count, optionally write ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short blocks per op (seconds)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the record (settings, environment, ratios) to OUT")
    parser.add_argument("--blocks", type=int, default=None,
                        help="alternating blocks per op (default: 11, or 3 with --quick)")
    parser.add_argument("--block-seconds", type=float, default=None,
                        help="target length of a block (default: 0.3, or 0.02 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for numpy and torch (default: numpy's current count)")
    args = parser.parse_args(argv)
    record = run(quick=args.quick, shapes=SHAPES, blocks=args.blocks,
                 block_seconds=args.block_seconds, seed=args.seed, threads=args.threads)
    if record["reference"] == "unavailable":
        print("reference unavailable: PyTorch is not installed "
              "(pip install -r requirements-test.txt); nothing to compare against.")
    else:
        print(f"bench_conv ({record['mode']}): float32, {record['threads']} BLAS thread(s), "
              f"torch {record['torch_version']} with {record['torch_threads']} thread(s), "
              f"load {record['load_average_1min']}")
        print(format_table(record))
        print("ratio = dlcourse / torch, median over alternating blocks (> 1: dlcourse slower); "
              "target <= 1.5 per conv shape")
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
