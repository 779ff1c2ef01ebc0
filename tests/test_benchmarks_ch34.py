"""Quick modes of the chapter 3-4 accuracy benchmarks: each records a seed and passes its own
``--check`` (the recorded full runs are in book/results/, checked by tests/test_records.py).

Needs the real MNIST / Fashion-MNIST files under ``$DLCOURSE_DATA`` (CI sets it); skipped
without them (no network in tests). The airfoil and CIFAR-10 benchmarks have their own tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import lab5_bn_dropout, lenet_fashion

DATA = Path(os.environ.get("DLCOURSE_DATA", "/nonexistent"))


@pytest.mark.parametrize(("module", "folder"), [(lab5_bn_dropout, "mnist"),
                                                (lenet_fashion, "fashion-mnist")])
def test_quick_run_records_a_seed_and_passes_its_own_check(module, folder: str,
                                                           tmp_path: Path) -> None:
    if not (DATA / folder).is_dir():
        pytest.skip(f"needs {folder}/ under $DLCOURSE_DATA (CI sets it)")
    out = tmp_path / "record.json"
    assert module.main(["--seeds", "0", "--threads", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["mode"] == "quick" and record["seeds"] == [0]
    headline = record["headline"]
    value = record["runs"][0][headline]
    assert record["summary"][headline]["min"] == value
    assert 0.1 < value <= 1.0  # better than chance on ten classes, a fraction
    assert module.main(["--check", "--record", str(out), "--seeds", "0"]) == 0
