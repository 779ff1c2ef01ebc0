"""The MNIST split shared by the accuracy benchmarks (records: ``benchmarks/_record.py``).

The labs' notebooks use the same split (5,000 validation images drawn with the seed, and in
quick mode the first 10,000 of the remaining training images), so quick runs here and in the
book see the same data.
"""

from __future__ import annotations

import numpy as np

from dlcourse.data import load_mnist

N_VAL = 5_000
N_QUICK_TRAIN = 10_000
N_TRAIN_ALL = 60_000
N_TEST = 10_000


def split_sizes(full: bool) -> dict[str, int]:
    """Number of training, validation and test images of :func:`mnist_split`."""
    n_train = N_TRAIN_ALL - N_VAL if full else N_QUICK_TRAIN
    return {"n_train": n_train, "n_val": N_VAL, "n_test": N_TEST}


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
