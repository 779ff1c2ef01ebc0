"""``benchmarks/airfoil_minibatch.py``: the record's shape, the set-up against closed forms.

The quick mode runs on a small synthetic airfoil file (the loader's format: six tab-separated
numbers per line), so these tests need no dataset; the two checks on the real file skip
without it. Expected values come from ``np.linalg.lstsq``, the eigenvalues of the data's Gram
matrix and Adam's bias corrections written out by hand, never from the benchmark's own output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks import airfoil_minibatch as am
from dlcourse.nn import Parameter

REAL = Path(os.environ.get("DLCOURSE_DATA", "/nonexistent")) / "airfoil_self_noise.dat"
needs_airfoil = pytest.mark.skipif(not REAL.is_file(),
                                   reason="needs airfoil_self_noise.dat in $DLCOURSE_DATA")


def write_synthetic_airfoil(folder: Path, rows: int, seed: int = 0) -> Path:
    """A file in the official format: 5 features on their own scales, a noisy linear target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5)) * [3000.0, 5.0, 0.1, 15.0, 0.01] + [3000, 7, 0.14, 50, 0.01]
    y = 125.0 + X @ [-1e-3, -0.3, -30.0, 0.1, -200.0] + rng.normal(0.0, 3.0, rows)
    path = folder / "airfoil_self_noise.dat"
    lines = ["\t".join(f"{v:.6g}" for v in row) for row in np.column_stack([X, y])]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return path


@pytest.fixture
def synthetic_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_synthetic_airfoil(tmp_path, rows=303)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    return tmp_path


def test_quick_run_writes_a_record_of_every_variant_and_passes_its_check(
        synthetic_data: Path) -> None:
    out = synthetic_data / "record.json"
    assert am.main(["--seeds", "0-1", "--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["mode"] == "quick" and record["seeds"] == [0, 1]
    assert record["headline"] == "loss_sgd_b10" and record["config"]["n_train"] == 300
    assert set(record["summary"]) == {f"loss_{v}" for v in am.VARIANTS}
    notes = record["description"]["notes_printed"]
    assert notes["adam"]["loss"] == notes["adam_notes_t"]["loss"] == 0.248828
    for run in record["runs"]:
        assert set(run["curves"]) == set(run["sec_per_epoch"]) == set(am.VARIANTS)
        for name, settings in am.VARIANTS.items():
            curve = run["curves"][name]
            # 300 rows: one log per batch of 300 (6 epochs), else 3 logs per epoch (2 epochs)
            assert len(curve) == 1 + (6 if settings["batch_size"] >= 300 else 3 * 2), name
            assert curve[-1] == run[f"loss_{name}"]
            assert all(np.isfinite(curve)) and curve[-1] < curve[0], name
            assert run["sec_per_epoch"][name] > 0
    assert am.main(["--check", "--record", str(out), "--seeds", "1"]) == 0


def test_standardized_airfoil_uses_every_row_then_keeps_the_first(synthetic_data: Path) -> None:
    raw = np.loadtxt(synthetic_data / "airfoil_self_noise.dat", delimiter="\t")
    X, y = am.standardized_airfoil(300, dtype=np.float64)
    assert X.shape == (300, 5) and y.shape == (300,)
    expected = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(np.column_stack([X, y]), expected[:300], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="n_train"):
        am.standardized_airfoil(304)


def gd_to_convergence(X: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> float:
    settings = {"optimizer": "sgd", "lr": lr, "batch_size": len(y), "epochs": epochs}
    return am.train(X, y, settings, np.random.default_rng(0))["losses"][-1]


def lstsq_loss(X: np.ndarray, y: np.ndarray) -> float:
    A = np.column_stack([X, np.ones(len(y))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return 0.5 * float(np.mean((A @ theta - y) ** 2))


def test_full_batch_gd_reaches_the_least_squares_loss(synthetic_data: Path) -> None:
    X, y = am.standardized_airfoil(300, dtype=np.float64)
    # near-independent features: the Gram matrix's eigenvalues are near 1, below 2 / lr = 2
    assert np.linalg.eigvalsh(np.column_stack([X, np.ones(300)]).T
                              @ np.column_stack([X, np.ones(300)]) / 300).max() < 2
    assert gd_to_convergence(X, y, lr=1.0, epochs=200) == pytest.approx(lstsq_loss(X, y),
                                                                       rel=1e-9)


@needs_airfoil
def test_on_the_real_data_lr_1_exceeds_2_over_lambda_max(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("DLCOURSE_DATA", str(REAL.parent))
    X, y = am.standardized_airfoil(1500, dtype=np.float64)
    A = np.column_stack([X, np.ones(1500)])
    lam_max = np.linalg.eigvalsh(A.T @ A / 1500).max()
    assert 2.0 < lam_max < 2.2          # GD with the notes' lr 1 is unstable along one direction
    best = lstsq_loss(X, y)
    assert gd_to_convergence(X, y, lr=1.9 / lam_max, epochs=300) == pytest.approx(best, rel=1e-9)
    assert gd_to_convergence(X, y, lr=1.0, epochs=60) > 10 * best           # and diverges
    assert 0.23 < best < 0.25


def test_notes_adam_counter_uses_t_1_for_w_and_t_2_for_b_in_the_first_step() -> None:
    lr, eps, g_w, g_b = 0.01, 1e-6, 0.3, -2.0
    w, b = Parameter(np.zeros(1)), Parameter(np.zeros(1))
    opt = am.AdamNotesCounter([w, b], lr=lr, betas=(0.9, 0.999), eps=eps)
    w.grad[:], b.grad[:] = g_w, g_b
    opt.step()
    # t = 1: the bias-corrected moments are g and g^2
    assert w.data[0] == pytest.approx(-lr * g_w / (abs(g_w) + eps), rel=1e-12)
    # t = 2 with one update: M = 0.1 g, G = 0.001 g^2, corrections 1 - 0.9^2 and 1 - 0.999^2
    m_hat, g_hat = 0.1 * g_b / (1 - 0.81), 0.001 * g_b**2 / (1 - 0.998001)
    assert b.data[0] == pytest.approx(-lr * m_hat / (np.sqrt(g_hat) + eps), rel=1e-12)
    assert opt.t == 1 and opt.notes_t == 2


def test_unknown_optimizer_is_named() -> None:
    with pytest.raises(ValueError, match="optimizer: expected"):
        am.make_optimizer([Parameter(np.zeros(1))], {"optimizer": "lbfgs", "lr": 0.1})
