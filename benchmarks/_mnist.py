"""What the MNIST accuracy benchmarks share: the fixed split, the environment record, the output.

The labs' notebooks use the same split (5,000 validation images drawn with the seed, and in
quick mode the first 10,000 of the remaining training images), so quick runs here and in the
book see the same data.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import dlcourse
from dlcourse.data import load_mnist

N_VAL = 5_000
N_QUICK_TRAIN = 10_000
RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"


def mnist_split(full: bool, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MNIST as flat float32 rows: ``{"train": (X, y), "val": (X, y), "test": (X, y)}``.

    X: (N, 784) in [0, 1]; y: (N,) int64. The validation images are the first ``N_VAL`` of a
    seeded permutation of the 60,000 training images; quick mode keeps ``N_QUICK_TRAIN`` of the
    rest for training.
    """
    X, y = load_mnist("train", flatten=True)
    X_test, y_test = load_mnist("test", flatten=True)
    order = np.random.default_rng(seed).permutation(len(X))
    val_idx, train_idx = order[:N_VAL], order[N_VAL:]
    if not full:
        train_idx = train_idx[:N_QUICK_TRAIN]
    return {
        "train": (X[train_idx], y[train_idx]),
        "val": (X[val_idx], y[val_idx]),
        "test": (X_test, y_test),
    }


def environment() -> dict[str, str]:
    """Versions and date recorded with every result."""
    return {
        "numpy_version": np.__version__,
        "dlcourse_version": dlcourse.__version__,
        "python_version": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def write_record(record: dict, out: Path | None) -> None:
    """Write ``record`` as indented JSON to ``out`` (nothing when ``out`` is None)."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
