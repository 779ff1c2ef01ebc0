"""Lab 1 (outline lesson 1): a linear softmax classifier trained with mini-batch SGD on MNIST.

The book's notebook ``book/01_basics/04_lab1_softmax_mnist.ipynb`` runs a CI-sized version of
this experiment and displays the numbers that this script records in full mode.

Usage (from the repository root)::

    python -m benchmarks.lab1_softmax_mnist          # quick: 10k training images, 2 epochs
    python -m benchmarks.lab1_softmax_mnist --full   # 55k/5k train/val split, 20 epochs,
                                                     # writes book/results/lab1_softmax_mnist.json

The model is ``Linear(784, 10)`` (W initialised to zero) with ``CrossEntropyLoss`` and plain
``SGD``; the data are the official MNIST IDX files found through ``$DLCOURSE_DATA``, the cache,
or a download. The split, the initialisation and the shuffling are fixed by ``--seed``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._mnist import RESULTS, environment, mnist_split, write_record
from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.metrics import accuracy
from dlcourse.nn import Linear
from dlcourse.optim import SGD
from dlcourse.train import fit, predict

NAME = "lab1_softmax_mnist"
RESULT = RESULTS / f"{NAME}.json"


def run(full: bool, epochs: int, batch_size: int, lr: float, seed: int) -> dict:
    """Train once and return the record (numbers, settings, environment)."""
    data = mnist_split(full, seed)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = data["train"], data["val"], data["test"]

    model = Linear(784, 10, rng=seed, dtype=np.float32, init="zeros")
    loss = CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=lr)
    loader = DataLoader(X_train, y_train, batch_size=batch_size, shuffle=True, rng=seed)

    start = time.perf_counter()
    history = fit(model, loss, opt, loader, val=(X_val, y_val), epochs=epochs, quiet=True)
    wall = time.perf_counter() - start
    test_acc = accuracy(y_test, predict(model, X_test))

    command = "python -m benchmarks.lab1_softmax_mnist" + (" --full" if full else "")
    return {
        "name": NAME,
        "command": command,
        "mode": "full" if full else "quick",
        "dataset": "MNIST",
        "model": "Linear(784, 10), W initialised to zero, float32",
        "loss": "CrossEntropyLoss",
        "optimizer": "SGD (no momentum, no weight decay)",
        "n_train": int(len(X_train)),
        "n_val": int(len(X_val)),
        "n_test": int(len(X_test)),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "test_accuracy": round(float(test_acc), 4),
        "val_accuracy": [round(v, 4) for v in history.val_acc],
        "train_loss": [round(v, 4) for v in history.train_loss],
        "wall_time_s": round(wall, 1),
        **environment(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help=f"full run; writes {RESULT.relative_to(RESULT.parents[2])}")
    parser.add_argument("--epochs", type=int, default=None, help="default: 20 (full), 2 (quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the JSON (default: the book's file in full mode, "
                             "nowhere in quick mode)")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (20 if args.full else 2)

    record = run(args.full, epochs, args.batch_size, args.lr, args.seed)
    print(f"{record['mode']}: test accuracy {record['test_accuracy']:.4f} after {epochs} epochs "
          f"({record['n_train']} training images, {record['wall_time_s']} s)")
    write_record(record, args.out if args.out is not None else (RESULT if args.full else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
