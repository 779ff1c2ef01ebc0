"""Smoke test of ``benchmarks/bench_conv.py`` on tiny shapes: it runs, checks that dlcourse and
torch agree before timing, and returns finite ratios. No timing assertions (timings on the
shared machines swing by up to 2x); the real shapes run with ``python -m benchmarks.bench_conv``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from benchmarks import bench_conv  # noqa: E402

TINY = (bench_conv.ConvShape(2, 3, 6, 6, 4, 3, 1), bench_conv.ConvShape(3, 1, 7, 7, 2, 2, 0))


def test_main_quick_writes_finite_ratios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench_conv, "SHAPES", TINY)
    monkeypatch.setattr(bench_conv, "STEP_BATCH", 2)
    out = tmp_path / "bench.json"
    assert bench_conv.main(["--quick", "--blocks", "3", "--block-seconds", "0.002",
                            "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "thread(s)" in printed and "ratio" in printed
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["reference"] == "torch" and record["mode"] == "quick"
    assert record["dtype"] == "float32" and record["threads"] >= 1
    ops = [r["op"] for r in record["results"]]
    # two conv ops per shape (with and without dx), the two pooling ops, the CIFAR step
    assert len(ops) == 2 * len(TINY) + 3 and len(set(ops)) == len(ops)
    assert ops[-1] == "CifarNet train step (B=2)"
    assert "conv (2,3,6,6)->4 k3p1 fwd+bwd" in ops and "conv (3,1,7,7)->2 k2p0 no dx" in ops
    for r in record["results"]:
        for key in ("ratio", "dlcourse_ms", "torch_ms"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["op"], key)
        assert r["blocks"] == 3


def test_default_shapes_are_the_issues() -> None:
    shapes = [(s.N, s.C, s.H, s.W, s.F, s.k, s.p) for s in bench_conv.SHAPES]
    assert shapes == [(64, 3, 32, 32, 32, 3, 1), (64, 32, 16, 16, 64, 3, 1),
                      (256, 1, 28, 28, 6, 5, 0)]
    assert [s.out_hw for s in bench_conv.SHAPES] == [(32, 32), (16, 16), (24, 24)]


def test_a_wrong_convolution_is_caught_before_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    # the benchmark must compare like with like: a conv computing something else is rejected
    real = bench_conv.Conv2d.backward

    def wrong(self: bench_conv.Conv2d, dout: np.ndarray, need_dx: bool = True) -> object:
        dx = real(self, dout, need_dx=need_dx)
        return None if dx is None else dx * 2

    monkeypatch.setattr(bench_conv.Conv2d, "backward", wrong)
    with pytest.raises(AssertionError):
        bench_conv.run(quick=True, shapes=TINY[:1], blocks=1, block_seconds=0.001)
