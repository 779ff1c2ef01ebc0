"""The accuracy benchmarks behind the book's recorded numbers run (quick mode, real MNIST).

The recorded full runs are in book/results/ (their format: tests/test_records.py); here each
script's quick mode records two seeds into a temporary file and ``--check`` re-runs one of them
against that record, so a change that breaks a script or its check fails CI before anyone
re-records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import lab1_softmax_mnist, lab2_mlp_mnist

needs_mnist = pytest.mark.skipif(
    not (Path(os.environ.get("DLCOURSE_DATA", "/nonexistent")) / "mnist").is_dir(),
    reason="needs the MNIST files under $DLCOURSE_DATA (CI sets it)",
)


@needs_mnist
@pytest.mark.parametrize(("module", "floor"), [(lab1_softmax_mnist, 0.85), (lab2_mlp_mnist, 0.9)])
def test_quick_run_records_seeds_and_passes_its_own_check(module, floor: float,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "record.json"
    assert module.main(["--seeds", "0-1", "--threads", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert not out.with_name(out.name + ".partial").exists()   # removed once the record is out
    assert record["mode"] == "quick" and record["seeds"] == [0, 1]
    assert record["description"]["n_train"] == 10_000 and record["description"]["n_val"] == 5_000
    accs = [r["test_accuracy"] for r in record["runs"]]
    assert min(accs) > floor
    assert record["summary"]["test_accuracy"]["min"] == min(accs)
    assert record["environment"]["blas"]["threads"] in (1, None)   # None: no threadpoolctl
    assert module.main(["--check", "--record", str(out), "--seeds", "1"]) == 0


@needs_mnist
def test_lab1_exact_check_fails_when_the_recorded_number_is_off_by_one_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "record.json"
    assert lab1_softmax_mnist.main(["--seeds", "0", "--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["check"]["kind"] == "exact"
    record["runs"][0]["test_accuracy"] = round(record["runs"][0]["test_accuracy"] + 1e-4, 4)
    out.write_text(json.dumps(record), encoding="utf-8")
    assert lab1_softmax_mnist.main(["--check", "--record", str(out)]) == 1
    assert "FAIL" in capsys.readouterr().out
