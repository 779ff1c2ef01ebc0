"""Lab 2 (outline lesson 2): a ReLU multilayer perceptron trained with Adam on MNIST.

The book's notebook ``book/02_feedforward/06_lab2_mlp_mnist.ipynb`` runs a CI-sized version of
this experiment and displays the numbers that this script records in full mode.

Usage (from the repository root)::

    python -m benchmarks.lab2_mlp_mnist            # quick: 10k training images, 2 epochs, seed 0
    python -m benchmarks.lab2_mlp_mnist --full --ablations --threads 1
                                                   # 55k/5k split, 20 epochs, seeds 0-4, and the
                                                   # constant-lr ablation on the same seeds;
                                                   # writes book/results/lab2_mlp_mnist.json
    python -m benchmarks.lab2_mlp_mnist --check    # re-run the record's check seeds

The model is ``MLP([784, 512, 256, 10], activation="relu")`` (He-uniform weights, float32)
with ``CrossEntropyLoss`` and ``Adam`` (lr 1e-3, batch 128). With ``--schedule cosine`` (the
default) the learning rate decays from ``--lr`` to 0 along a half cosine over all steps. The
validation split (5,000 training images) selects the epoch whose weights are kept; the test set
is evaluated once, on those weights. Each seed fixes the split, the initialisation and the
shuffling. ``--ablations`` repeats every seed with ``--schedule constant`` (everything else
equal) and stores it under ``variants`` with the per-seed difference, so that the book can say
whether the schedule matters more than the seed. The record format, the seed loop and the other
options are described in ``benchmarks/_record.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks import _record
from benchmarks._mnist import mnist_split, split_sizes
from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.metrics import accuracy
from dlcourse.models import MLP
from dlcourse.optim import Adam
from dlcourse.train import EarlyStopping, fit, predict

NAME = "lab2_mlp_mnist"
SIZES = [784, 512, 256, 10]


def cosine_schedule(lr: float, total_steps: int) -> Callable[[int], float]:
    """lr_at(step): half a cosine from ``lr`` (step 0) down to 0 (step ``total_steps``)."""

    def lr_at(step: int) -> float:
        return 0.5 * lr * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))

    return lr_at


def run(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train once with ``seed``; test accuracy of the best validation epoch, and the curves."""
    data = mnist_split(config["full_data"], seed)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = data["train"], data["val"], data["test"]

    epochs = config["epochs"]
    model = MLP(config["sizes"], activation="relu", rng=seed, dtype=np.float32)
    loss = CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=config["lr"])
    loader = DataLoader(X_train, y_train, batch_size=config["batch_size"], shuffle=True, rng=seed)
    if config["schedule"] == "cosine":
        opt.schedule = cosine_schedule(config["lr"], epochs * len(loader))
    keep_best = EarlyStopping(patience=epochs, monitor="val_acc", restore_best=True)
    history = fit(model, loss, opt, loader, val=(X_val, y_val), epochs=epochs,
                  callbacks=[keep_best], quiet=True)
    test_acc = accuracy(y_test, predict(model, X_test).argmax(axis=1))
    return {
        "test_accuracy": round(float(test_acc), 4),
        "best_val_accuracy": round(float(keep_best.best), 4),
        "best_epoch": int(keep_best.best_epoch) + 1,
        "val_accuracy": [round(v, 4) for v in history.val_acc],
        "train_loss": [float(f"{v:.4g}") for v in history.train_loss],
        "train_accuracy": [round(v, 4) for v in history.train_acc],
    }


def describe(config: dict[str, Any]) -> dict[str, Any]:
    """Static facts of the configuration, for the book's table."""
    sizes = config["sizes"]
    return {
        "dataset": "MNIST",
        **split_sizes(config["full_data"]),
        "model": f"MLP({sizes}, activation='relu'), He-uniform init, float32",
        "n_parameters": sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)),
        "loss": "CrossEntropyLoss",
        "optimizer": "Adam(betas=(0.9, 0.999), eps=1e-8), no weight decay",
        "lr_schedule": ("cosine decay to 0 over all steps" if config["schedule"] == "cosine"
                        else "constant"),
        "model_selection": "weights of the epoch with the best validation accuracy",
    }


EXPERIMENT = _record.Experiment(
    name=NAME,
    title="Lab 2: ReLU MLP with Adam on MNIST",
    run=run,
    describe=describe,
    metrics=("test_accuracy", "best_val_accuracy", "best_epoch"),
    full_seeds=tuple(range(5)),
    quick_seeds=(0,),
    variants={"constant_lr": {"schedule": "constant"}},
    check=_record.CheckSpec(
        metric="test_accuracy",
        kind="spread",
        tolerance_sd=2.0,
        tolerance_min=0.001,
        seeds=(0, 1),
        reason=("not deterministic across machines: float32 sums depend on the BLAS kernel and "
                "thread count and 20 epochs amplify them (seed 0 gave 0.9852, 0.9838, 0.9827 on "
                "three set-ups, issue 12), so a re-run is a fresh draw from the seed-to-seed "
                "distribution. The range of n recorded seeds misses a fresh draw with "
                "probability about 2/(n+1); widened by 2 standard deviations (at least 10 test "
                "images) a correct re-run fails rarely, while a real regression (a wrong "
                "gradient, a broken schedule) lands far outside"),
    ),
)
RESULT = EXPERIMENT.default_path


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """The settings ``run`` reads, from the command line."""
    return {
        "full_data": bool(args.full),
        "sizes": list(SIZES),
        "epochs": args.epochs if args.epochs is not None else (20 if args.full else 2),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "schedule": args.schedule,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit code."""
    parser = _record.make_parser(EXPERIMENT, __doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default: 20 (full), 2 (quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    return _record.main(EXPERIMENT, argv, parser, make_config)


if __name__ == "__main__":
    sys.exit(main())
