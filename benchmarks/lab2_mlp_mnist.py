"""Lab 2 (outline lesson 2): a ReLU multilayer perceptron trained with Adam on MNIST.

The book's notebook ``book/02_feedforward/06_lab2_mlp_mnist.ipynb`` runs a CI-sized version of
this experiment and displays the numbers that this script records in full mode.

Usage (from the repository root)::

    python -m benchmarks.lab2_mlp_mnist          # quick: 10k training images, 2 epochs
    python -m benchmarks.lab2_mlp_mnist --full   # 55k/5k train/val split, 20 epochs,
                                                 # writes book/results/lab2_mlp_mnist.json
    python -m benchmarks.lab2_mlp_mnist --full --ablations
                                                 # also trains with a constant learning rate
                                                 # and records it under "ablations"

The model is ``MLP([784, 512, 256, 10], activation="relu")`` (He-uniform weights, float32)
with ``CrossEntropyLoss`` and ``Adam`` (lr 1e-3, batch 128). With ``--schedule cosine`` (the
default) the learning rate decays from ``--lr`` to 0 along a half cosine over all steps. The
validation split (5,000 training images) selects the epoch whose weights are kept; the test set
is evaluated once, on those weights. The split, the initialisation and the shuffling are fixed
by ``--seed``. ``--ablations`` repeats the run with ``--schedule constant`` (everything else
equal) and stores its numbers in the same record, so that the book can compare the two schedules
from one file. The data are the official MNIST IDX files found through ``$DLCOURSE_DATA``, the
cache, or a download.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._mnist import RESULTS, environment, mnist_split, write_record
from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.metrics import accuracy
from dlcourse.nn import MLP
from dlcourse.optim import Adam
from dlcourse.train import EarlyStopping, fit, predict

NAME = "lab2_mlp_mnist"
RESULT = RESULTS / f"{NAME}.json"
SIZES = [784, 512, 256, 10]


def cosine_schedule(lr: float, total_steps: int):
    """lr_at(step): half a cosine from ``lr`` (step 0) down to 0 (step ``total_steps``)."""

    def lr_at(step: int) -> float:
        return 0.5 * lr * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))

    return lr_at


def run(full: bool, epochs: int, batch_size: int, lr: float, schedule: str, seed: int) -> dict:
    """Train once and return the record (numbers, settings, environment)."""
    data = mnist_split(full, seed)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = data["train"], data["val"], data["test"]

    model = MLP(SIZES, activation="relu", rng=seed, dtype=np.float32)
    loss = CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=lr)
    loader = DataLoader(X_train, y_train, batch_size=batch_size, shuffle=True, rng=seed)
    if schedule == "cosine":
        opt.schedule = cosine_schedule(lr, epochs * len(loader))
    keep_best = EarlyStopping(patience=epochs, monitor="val_acc", restore_best=True)

    start = time.perf_counter()
    history = fit(model, loss, opt, loader, val=(X_val, y_val), epochs=epochs,
                  callbacks=[keep_best], quiet=True)
    wall = time.perf_counter() - start
    test_acc = accuracy(y_test, predict(model, X_test).argmax(axis=1))

    command = "python -m benchmarks.lab2_mlp_mnist" + (" --full" if full else "")
    return {
        "name": NAME,
        "command": command,
        "mode": "full" if full else "quick",
        "dataset": "MNIST",
        "model": "MLP([784, 512, 256, 10], activation='relu'), He-uniform init, float32",
        "n_parameters": int(sum(p.data.size for p in model.parameters())),
        "loss": "CrossEntropyLoss",
        "optimizer": "Adam(betas=(0.9, 0.999), eps=1e-8), no weight decay",
        "lr": lr,
        "lr_schedule": "cosine decay to 0 over all steps" if schedule == "cosine" else "constant",
        "n_train": int(len(X_train)),
        "n_val": int(len(X_val)),
        "n_test": int(len(X_test)),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "model_selection": "weights of the epoch with the best validation accuracy",
        "best_epoch": int(keep_best.best_epoch) + 1,
        "best_val_accuracy": round(float(keep_best.best), 4),
        "test_accuracy": round(float(test_acc), 4),
        "val_accuracy": [round(v, 4) for v in history.val_acc],
        "train_loss": [float(f"{v:.4g}") for v in history.train_loss],
        "train_accuracy": [round(v, 4) for v in history.train_acc],
        "wall_time_s": round(wall, 1),
        **environment(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


def _report(record: dict, epochs: int) -> None:
    print(f"{record['mode']}, {record['lr_schedule']}: test accuracy "
          f"{record['test_accuracy']:.4f} (best validation epoch {record['best_epoch']}/{epochs}, "
          f"{record['n_train']} training images, {record['wall_time_s']} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help=f"full run; writes {RESULT.relative_to(RESULT.parents[2])}")
    parser.add_argument("--epochs", type=int, default=None, help="default: 20 (full), 2 (quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ablations", action="store_true",
                        help="also train with the other learning-rate schedule (constant when "
                             "--schedule is cosine, and the reverse) and record its numbers "
                             "under 'ablations'")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the JSON (default: the book's file in full mode, "
                             "nowhere in quick mode)")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (20 if args.full else 2)

    record = run(args.full, epochs, args.batch_size, args.lr, args.schedule, args.seed)
    _report(record, epochs)
    if args.ablations:
        other = "constant" if args.schedule == "cosine" else "cosine"
        alt = run(args.full, epochs, args.batch_size, args.lr, other, args.seed)
        _report(alt, epochs)
        record["command"] += " --ablations"
        record["ablations"] = {
            f"{other}_lr": {
                "lr_schedule": alt["lr_schedule"],
                "command": alt["command"] + f" --schedule {other}",
                **{k: alt[k] for k in ("best_epoch", "best_val_accuracy", "test_accuracy",
                                       "val_accuracy", "wall_time_s")},
            }
        }
    write_record(record, args.out if args.out is not None else (RESULT if args.full else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
