"""Smoke test of ``benchmarks/bench_mlp.py``: it runs and returns usable ratios.

No timing assertions: timings on the shared machines swing by up to 2x. The configuration is
tiny (a small MLP, batch 16, 3 short blocks) so that the test takes about a second.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks import bench_mlp  # noqa: E402

OPS = {"mlp_step", "linear_fwd_bwd", "softmax_ce_fwd_bwd", "relu_fwd_bwd"}
TINY = ["--quick", "--sizes", "64,32,16,10", "--batch-size", "16", "--blocks", "3",
        "--block-seconds", "0.002"]


def test_bench_mlp_quick_returns_finite_positive_ratios(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert bench_mlp.main([*TINY, "--json", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["reference"] == "torch"
    assert record["mode"] == "quick"
    blas = record["environment"]["blas"]        # the machine block shared with the records
    assert record["environment"]["cpu_model"] and blas["library"]
    assert blas["threads"] in (record["threads"], None)
    results = {r["op"]: r for r in record["results"]}
    assert set(results) == OPS
    for op, r in results.items():
        for key in ("ratio", "dlcourse_ms", "torch_ms"):
            assert math.isfinite(r[key]) and r[key] > 0, (op, key, r[key])
        assert r["blocks"] == 3 and r["iters"] >= 1


def test_bench_mlp_table_has_one_row_per_op() -> None:
    record = bench_mlp.run(quick=True, sizes=(32, 16, 4), batch=8, blocks=1,
                           block_seconds=0.001)
    table = bench_mlp.format_table(record)
    assert table.splitlines()[0].split() == ["op", "dlcourse", "ms", "torch", "ms", "ratio"]
    assert len(table.splitlines()) == 1 + len(OPS)


def test_float32_check_names_promoted_arrays() -> None:
    with pytest.raises(AssertionError, match="float64"):
        bench_mlp._assert_float32("step", {"a": np.zeros(2, np.float32),
                                           "b": np.zeros(2, np.float64)})
