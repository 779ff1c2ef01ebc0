"""``benchmarks/cifar10_cnn.py`` in a tiny configuration: it trains, records and checkpoints.

Needs the real CIFAR-10 batches (``$DLCOURSE_DATA``); skipped without them (no network in
tests). The full run takes most of an hour and is recorded in ``book/results/cifar10_cnn.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import cifar10_cnn
from dlcourse.data import load_cifar10
from dlcourse.models import CifarNet


@pytest.fixture(scope="module")
def have_cifar() -> None:
    try:
        load_cifar10("test", download=False)
    except FileNotFoundError:
        pytest.skip("CIFAR-10 not found under $DLCOURSE_DATA")


def test_quick_run_writes_record_and_loadable_checkpoint(have_cifar: None, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cifar10_cnn, "WIDTHS", (4, 4, 8, 8))
    out, ckpt = tmp_path / "r.json", tmp_path / "c.npz"
    assert cifar10_cnn.main(["--n-train", "256", "--n-test", "100", "--out", str(out),
                             "--checkpoint", str(ckpt)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    run = record["runs"][0]
    assert record["mode"] == "quick" and record["config"]["epochs"] == 1
    assert record["config"]["n_train"] == 256 and record["description"]["n_test"] == 100
    assert len(run["train_loss"]) == len(run["test_accuracy_per_epoch"]) == 1
    assert 0.0 <= run["test_accuracy"] <= 1.0 and run["train_seconds"] > 0
    assert run["test_accuracy"] == run["test_accuracy_per_epoch"][-1]
    assert run["train_seconds"] == pytest.approx(sum(run["train_seconds_per_epoch"]), abs=0.2)
    assert len(run["eval_seconds_per_epoch"]) == 1 and "eval_seconds" in run
    with np.load(ckpt, allow_pickle=False) as z:
        state = {k: z[k] for k in z.files if k not in ("mean", "std")}
        assert z["mean"].shape == z["std"].shape == (1, 3, 1, 1)
    model = CifarNet((4, 4, 8, 8))
    model.load_state_dict(state)
    assert "checkpoint" not in record["config"]  # kept out: --check must not overwrite it


def test_channel_stats_closed_form() -> None:
    X = np.zeros((2, 3, 2, 2), dtype=np.float32)
    X[:, 1] = 1.0
    X[0, 2], X[1, 2] = 1.0, 3.0
    mean, std = cifar10_cnn.channel_stats(X)
    np.testing.assert_allclose(mean.ravel(), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(std.ravel(), [0.0, 0.0, 1.0])
