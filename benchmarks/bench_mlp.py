"""Speed of one dlcourse MLP training step as a ratio against PyTorch CPU, measured in one run.

What is timed (float32 throughout, batch N = 128 by default):

- ``mlp_step``: one full training step of ``MLP([784, 512, 256, 10], activation="relu")`` --
  ``zero_grad``, forward, ``CrossEntropyLoss``, backward (``need_dx=False``, as ``fit``: the
  data's gradient is not needed, as torch skips it for an input without ``requires_grad``),
  ``Adam.step`` -- against the same
  network in PyTorch (``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``nn.CrossEntropyLoss``,
  ``torch.optim.Adam`` with its CPU defaults).
- ``linear_fwd_bwd``: ``Linear(784, 512)`` forward + backward (dW, db and dx) on (128, 784).
- ``softmax_ce_fwd_bwd``: ``CrossEntropyLoss`` forward + backward on (128, 10) logits.
- ``relu_fwd_bwd``: ``ReLU`` forward + backward on (128, 512).

Method: timings on the shared machines swing by up to 2x, so absolute times mean little. For
each operation dlcourse and torch are timed in alternating blocks in the same process (the order
flips every block); a block runs one implementation ``iters`` times (``iters`` is calibrated
so that a block lasts about ``--block-seconds``). The table reports the median per-call time of
each side and the ratio dlcourse/torch, the median of the per-block ratios (> 1: dlcourse is
slower). torch uses as many threads as numpy's BLAS (threadpoolctl, else ``os.cpu_count()``).

After a dlcourse step the script asserts that every parameter, gradient, Adam moment and
intermediate array is still float32 (numpy 2 promotes silently: ``x32 / np.sqrt(d)`` is float64
because numpy scalars are not "weak"; see "Performance facts" in ``benchmarks/README.md``).

Usage (from the repository root)::

    python -m benchmarks.bench_mlp                 # 21 blocks of ~0.1 s per side and op
    python -m benchmarks.bench_mlp --quick         # 5 blocks of ~0.02 s (a few seconds)
    python -m benchmarks.bench_mlp --json out.json # also write the record as JSON

torch is a test-only dependency (``requirements-test.txt``); without it the script prints
"reference unavailable" and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import dlcourse
from benchmarks import _record
from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import MLP
from dlcourse.nn import Linear, Module, ReLU
from dlcourse.optim import Adam

NAME = "bench_mlp"
SIZES = (784, 512, 256, 10)
BATCH = 128
LR = 1e-3


@dataclass
class Timing:
    """Result for one operation: median ms per call of each side and the median block ratio."""

    op: str
    dlcourse_ms: float
    torch_ms: float
    ratio: float
    blocks: int
    iters: int


def blas_threads() -> int:
    """Number of threads numpy's BLAS uses (threadpoolctl), else ``os.cpu_count()``."""
    threads = _record.blas_info()["threads"]
    return int(threads) if threads is not None else (os.cpu_count() or 1)


def _time_calls(fn: Callable[[], object], iters: int) -> float:
    """Seconds per call of ``fn`` over ``iters`` back-to-back calls (garbage collector off)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - start) / iters
    finally:
        if gc_was_enabled:
            gc.enable()


def compare(
    op: str,
    ours: Callable[[], object],
    reference: Callable[[], object],
    blocks: int,
    block_seconds: float,
    warmup: int = 2,
) -> Timing:
    """Time ``ours`` and ``reference`` in ``blocks`` alternating blocks; see the module doc.

    ``iters`` per block is calibrated once, after ``warmup`` calls of each, so that the slower
    side's block lasts about ``block_seconds``; both sides run the same ``iters``.
    """
    for _ in range(warmup):
        ours()
        reference()
    slowest = max(_time_calls(ours, 1), _time_calls(reference, 1))
    iters = max(1, min(10_000, int(block_seconds / max(slowest, 1e-9))))
    t_ours: list[float] = []
    t_ref: list[float] = []
    for k in range(blocks):
        if k % 2 == 0:
            t_ours.append(_time_calls(ours, iters))
            t_ref.append(_time_calls(reference, iters))
        else:
            t_ref.append(_time_calls(reference, iters))
            t_ours.append(_time_calls(ours, iters))
    ratios = [a / b for a, b in zip(t_ours, t_ref, strict=True)]
    return Timing(
        op=op,
        dlcourse_ms=1e3 * statistics.median(t_ours),
        torch_ms=1e3 * statistics.median(t_ref),
        ratio=statistics.median(ratios),
        blocks=blocks,
        iters=iters,
    )


# --------------------------------------------------------------------------- float32 checks


def _assert_float32(what: str, arrays: dict[str, np.ndarray]) -> None:
    """Raise AssertionError naming every array of ``arrays`` that is not float32."""
    bad = {k: str(a.dtype) for k, a in arrays.items() if a.dtype != np.float32}
    if bad:
        raise AssertionError(f"{what}: float32 was promoted: {bad}")


def check_step_dtypes(model: Module, opt: Adam, extra: dict[str, np.ndarray]) -> None:
    """Assert params, grads, Adam moments and the ``extra`` arrays of a step are float32."""
    arrays = dict(extra)
    for name, p in model.named_parameters():
        arrays[f"{name}.data"] = p.data
        arrays[f"{name}.grad"] = p.grad
    for i, st in enumerate(opt.state):
        arrays[f"adam.state[{i}].M"] = st["M"]
        arrays[f"adam.state[{i}].G"] = st["G"]
    _assert_float32("dlcourse MLP step", arrays)


# ----------------------------------------------------------------------------- the cases


def _dlcourse_cases(
    sizes: Sequence[int], batch: int, x: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, Callable[[], object]]:
    """The dlcourse side of each operation (closures over fixed inputs); checks dtypes once."""
    rng = np.random.default_rng(seed + 1)
    model = MLP(list(sizes), activation="relu", rng=seed, dtype=np.float32)
    loss = CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=LR)

    def step() -> object:
        opt.zero_grad()
        logits = model(x)
        loss(logits, y)
        dx = model.backward(loss.backward(), need_dx=False)  # as fit: no gradient of the data
        opt.step()
        return logits, dx

    logits, dx = step()
    assert isinstance(logits, np.ndarray) and dx is None
    check_step_dtypes(model, opt, {"logits": logits, "dlogits": loss.grad,
                                   "probs": loss.probs})

    lin = Linear(sizes[0], sizes[1], rng=seed, dtype=np.float32)
    dout_lin = rng.standard_normal((batch, sizes[1]), dtype=np.float32)

    def linear() -> object:
        lin.zero_grad()
        lin(x)
        return lin.backward(dout_lin)

    ce = CrossEntropyLoss()
    z = rng.standard_normal((batch, sizes[-1]), dtype=np.float32)

    def softmax_ce() -> object:
        ce(z, y)
        return ce.backward()

    relu = ReLU()
    h = rng.standard_normal((batch, sizes[1]), dtype=np.float32)
    dout_h = rng.standard_normal((batch, sizes[1]), dtype=np.float32)

    def relu_fb() -> object:
        relu(h)
        return relu.backward(dout_h)

    _assert_float32("dlcourse pieces", {
        "Linear dx": np.asarray(linear()), "Linear.W.grad": lin.W.grad,
        "CrossEntropyLoss grad": np.asarray(softmax_ce()), "ReLU dx": np.asarray(relu_fb()),
    })
    return {"mlp_step": step, "linear_fwd_bwd": linear,
            "softmax_ce_fwd_bwd": softmax_ce, "relu_fwd_bwd": relu_fb}


def _torch_cases(
    torch: Any, sizes: Sequence[int], batch: int, x: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, Callable[[], object]]:
    """The PyTorch reference of each operation, on the same inputs (float32, CPU)."""
    nn = torch.nn
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    layers: list[Any] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype(np.int64))

    def step() -> object:
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    lin = nn.Linear(sizes[0], sizes[1])
    x_leaf = xt.clone().requires_grad_(True)  # dlcourse's Linear also returns dx
    dout_lin = torch.from_numpy(rng.standard_normal((batch, sizes[1]), dtype=np.float32))

    def linear() -> object:
        lin.zero_grad()
        x_leaf.grad = None
        lin(x_leaf).backward(dout_lin)
        return x_leaf.grad

    z = torch.from_numpy(rng.standard_normal((batch, sizes[-1]), dtype=np.float32))
    z.requires_grad_(True)

    def softmax_ce() -> object:
        z.grad = None
        loss_fn(z, yt).backward()
        return z.grad

    h = torch.from_numpy(rng.standard_normal((batch, sizes[1]), dtype=np.float32))
    h.requires_grad_(True)
    dout_h = torch.from_numpy(rng.standard_normal((batch, sizes[1]), dtype=np.float32))

    def relu_fb() -> object:
        h.grad = None
        torch.relu(h).backward(dout_h)
        return h.grad

    return {"mlp_step": step, "linear_fwd_bwd": linear,
            "softmax_ce_fwd_bwd": softmax_ce, "relu_fwd_bwd": relu_fb}


# ------------------------------------------------------------------------------ driver


def _import_torch() -> Any | None:
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(
    quick: bool = False,
    sizes: Sequence[int] = SIZES,
    batch: int = BATCH,
    blocks: int | None = None,
    block_seconds: float | None = None,
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Measure every operation and return the record (ratios, settings, environment).

    ``blocks`` / ``block_seconds`` default to 5 / 0.02 s with ``quick`` and 21 / 0.1 s
    otherwise. ``threads`` (default: numpy's current BLAS thread count) limits numpy's BLAS
    through threadpoolctl and sets torch's intra-op threads to the same number. Without torch
    the record has ``"reference": "unavailable"`` and no results.
    """
    if threads is None:
        return _run(quick, sizes, batch, blocks, block_seconds, seed)
    if threads < 1:
        raise ValueError(f"threads: expected an int >= 1, got {threads}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as err:
        raise RuntimeError("threads: limiting numpy's BLAS needs threadpoolctl") from err
    with threadpool_limits(limits=threads, user_api="blas"):
        return _run(quick, sizes, batch, blocks, block_seconds, seed)


def _run(
    quick: bool,
    sizes: Sequence[int],
    batch: int,
    blocks: int | None,
    block_seconds: float | None,
    seed: int,
) -> dict[str, Any]:
    """``run`` with numpy's BLAS threads already set; torch is matched to them here."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 3:
        raise ValueError(f"sizes: expected at least 3 widths [D, H, ..., C], got {list(sizes)}")
    blocks = blocks if blocks is not None else (5 if quick else 21)
    block_seconds = block_seconds if block_seconds is not None else (0.02 if quick else 0.1)
    threads = blas_threads()
    record: dict[str, Any] = {
        "name": NAME,
        "mode": "quick" if quick else "full",
        "sizes": list(sizes),
        "batch_size": batch,
        "dtype": "float32",
        "blocks": blocks,
        "block_seconds": block_seconds,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "numpy_version": np.__version__,
        "dlcourse_version": dlcourse.__version__,
        "python_version": platform.python_version(),
        "machine": platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "environment": _record.environment(),   # CPU model, BLAS library, kernel, threads
    }
    torch = _import_torch()
    if torch is None:
        record.update(reference="unavailable", torch_version=None, results=[])
        return record
    torch.set_num_threads(threads)
    record.update(reference="torch", torch_version=torch.__version__,
                  torch_threads=torch.get_num_threads())

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    ours = _dlcourse_cases(sizes, batch, x, y, seed)
    reference = _torch_cases(torch, sizes, batch, x, y, seed)
    results = [compare(op, ours[op], reference[op], blocks, block_seconds) for op in ours]
    record["results"] = [asdict(r) for r in results]
    return record


def format_table(record: dict[str, Any]) -> str:
    """The results as a plain-text table: op, dlcourse ms, torch ms, ratio."""
    lines = [f"{'op':<20} {'dlcourse ms':>12} {'torch ms':>10} {'ratio':>7}"]
    for r in record["results"]:
        lines.append(f"{r['op']:<20} {r['dlcourse_ms']:>12.3f} {r['torch_ms']:>10.3f} "
                     f"{r['ratio']:>7.2f}")
    return "\n".join(lines)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from err


def main(argv: list[str] | None = None) -> int:
    """Command line: run, print the table, optionally write ``--json``; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 short blocks per op (seconds)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the record (settings, environment, ratios) to OUT")
    parser.add_argument("--sizes", type=_sizes, default=SIZES,
                        help="MLP widths, comma-separated (default: 784,512,256,10)")
    parser.add_argument("--batch-size", type=int, default=BATCH)
    parser.add_argument("--blocks", type=int, default=None,
                        help="alternating blocks per op (default: 21, or 5 with --quick)")
    parser.add_argument("--block-seconds", type=float, default=None,
                        help="target length of a block (default: 0.1, or 0.02 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for numpy (threadpoolctl) and torch "
                             "(default: numpy's current count)")
    args = parser.parse_args(argv)

    record = run(quick=args.quick, sizes=args.sizes, batch=args.batch_size, blocks=args.blocks,
                 block_seconds=args.block_seconds, seed=args.seed, threads=args.threads)
    if record["reference"] == "unavailable":
        print("reference unavailable: PyTorch is not installed "
              "(pip install -r requirements-test.txt); nothing to compare against.")
    else:
        print(f"dlcourse {record['dlcourse_version']} (numpy {record['numpy_version']}) vs "
              f"torch {record['torch_version']} CPU; {record['threads']} threads, "
              f"float32, batch {record['batch_size']}, MLP {record['sizes']}; "
              f"{record['blocks']} alternating blocks, ratio = dlcourse/torch (median); "
              f"load average {record['load_average_1min']} on {record['cpu_count']} CPUs")
        print(format_table(record))
        bad = [r["op"] for r in record["results"] if not math.isfinite(r["ratio"])]
        if bad:
            print(f"warning: non-finite ratio for {bad}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
