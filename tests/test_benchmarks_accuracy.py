"""The accuracy benchmarks behind the book's recorded numbers run (quick mode, real MNIST).

The recorded full runs are in book/results/; here the scripts' quick mode runs end to end and
writes to a temporary file, so a change that breaks a script fails CI before anyone re-records.
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
def test_quick_run_writes_a_record(module, floor: float, tmp_path: Path) -> None:
    out = tmp_path / "record.json"
    assert module.main(["--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["mode"] == "quick"
    assert record["n_train"] == 10_000 and record["n_val"] == 5_000
    assert record["test_accuracy"] > floor


def test_recorded_full_runs_name_their_command() -> None:
    for path in sorted(Path(lab1_softmax_mnist.RESULT).parent.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["mode"] == "full", path.name
        assert record["command"].startswith("python -m benchmarks."), path.name
