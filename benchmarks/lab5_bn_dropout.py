"""Lab 5 (outline lesson 5): convergence with and without BatchNorm and Dropout on MNIST.

The book's notebook ``book/03_optimization/08_lab5_bn_dropout.ipynb`` runs a CI-sized version
of this experiment and displays the numbers that this script records in full mode.

Usage (from the repository root)::

    python -m benchmarks.lab5_bn_dropout           # quick: 10k training images, 2 epochs, seed 0
    python -m benchmarks.lab5_bn_dropout --full --ablations --threads 1
                                                   # 55k/5k split, 10 epochs, seeds 0-4, and the
                                                   # four other variants on the same seeds;
                                                   # writes book/results/lab5_bn_dropout.json
    python -m benchmarks.lab5_bn_dropout --check   # re-run the record's check seeds

One network, four variants: the plain MLP ``[784, 256, 256, 10]`` (the main run) and, as
``--ablations`` variants on the same seeds, the same MLP with ``BatchNorm1d`` after every
hidden ``Linear`` (``bn``), with ``Dropout(0.2)`` after every hidden ReLU (``dropout``), and
with both (``bn_dropout``). Everything else is equal: He-uniform init from the seed, float32,
``CrossEntropyLoss``, SGD with momentum 0.9 and a constant learning rate 0.01, batch 128; the
seed also fixes the validation split, the shuffling and the dropout masks. The drop
probability is 0.2 (the notes' value for input units): with the notes' 0.5 for hidden units,
one trial run (seed 0, 2026-12-02) stayed below 97 % validation accuracy for all 10 epochs
(96.7 % at best), so no epochs-to-97 % would have been measured; the notes' 0.5 is recorded as a
fifth variant (``dropout_p05``) so that the book can show it from the record. Per epoch the run
records the mean training loss (of the training-mode forward passes, so with dropout it is the
loss of the thinned networks) and the validation accuracy (eval mode). Convergence speed is the
first epoch whose validation accuracy reaches 97 % (``epochs_to_97``, None if none does) and
the wall-clock seconds of training and validation up to the end of that epoch
(``seconds_to_97``). The record format and the other options are described in
``benchmarks/_record.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import _record
from benchmarks._mnist import mnist_split, split_sizes
from dlcourse.data import DataLoader
from dlcourse.losses import CrossEntropyLoss
from dlcourse.metrics import accuracy
from dlcourse.nn import BatchNorm1d, Dropout, Linear, Module, ReLU, Sequential
from dlcourse.optim import SGD
from dlcourse.train import fit, predict

NAME = "lab5_bn_dropout"
SIZES = [784, 256, 256, 10]
TARGET = 0.97


def make_net(sizes: Sequence[int], batch_norm: bool, dropout: float, seed: int) -> Sequential:
    """``Linear, [BatchNorm1d], ReLU, [Dropout]`` per hidden layer, then ``Linear`` (float32).

    The same structure as ``build_net`` of ``solutions/lab5.py``, with the package's layers.
    One generator drawn from ``seed`` initialises every Linear in order and feeds every Dropout.
    """
    g = np.random.default_rng(seed)
    layers: list[Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Linear(fan_in, fan_out, rng=g, dtype=np.float32))
        if i == len(sizes) - 2:
            break
        if batch_norm:
            layers.append(BatchNorm1d(fan_out, dtype=np.float32))
        layers.append(ReLU())
        if dropout > 0.0:
            layers.append(Dropout(dropout, rng=g))
    return Sequential(*layers)


def first_epoch_at(values: Sequence[float], target: float) -> int | None:
    """First epoch (from 1) with ``values[epoch − 1] >= target``, else None."""
    return next((e for e, v in enumerate(values, start=1) if v >= target), None)


def run(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train one variant once with ``seed``: curves, epochs and seconds to the target."""
    data = mnist_split(config["full_data"], seed)
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = data["train"], data["val"], data["test"]
    model = make_net(config["sizes"], config["batch_norm"], config["dropout"], seed)
    opt = SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    loader = DataLoader(X_train, y_train, batch_size=config["batch_size"], shuffle=True, rng=seed)
    history = fit(model, CrossEntropyLoss(), opt, loader, val=(X_val, y_val),
                  epochs=config["epochs"], quiet=True)
    seconds = np.cumsum(history["time"])
    reached = first_epoch_at(history.val_acc, config["target"])
    test_acc = accuracy(y_test, predict(model, X_test).argmax(axis=1))
    return {
        "final_val_accuracy": round(float(history.val_acc[-1]), 4),
        "best_val_accuracy": round(float(max(history.val_acc)), 4),
        "test_accuracy": round(float(test_acc), 4),
        "epochs_to_97": reached,
        "seconds_to_97": None if reached is None else round(float(seconds[reached - 1]), 1),
        "val_accuracy": [round(float(v), 4) for v in history.val_acc],
        "train_loss": [float(f"{v:.4g}") for v in history.train_loss],
        "epoch_seconds": [round(float(t), 2) for t in history["time"]],
    }


def describe(config: dict[str, Any]) -> dict[str, Any]:
    """Static facts of the configuration, for the book's table."""
    sizes = config["sizes"]
    parts = ["Linear"] + (["BatchNorm1d"] if config["batch_norm"] else []) + ["ReLU"] + (
        [f"Dropout({config['dropout']})"] if config["dropout"] else [])
    return {
        "dataset": "MNIST",
        **split_sizes(config["full_data"]),
        "model": f"MLP {sizes}, hidden block {' -> '.join(parts)}, He-uniform init, float32",
        "loss": "CrossEntropyLoss",
        "optimizer": (f"SGD(lr={config['lr']}, momentum={config['momentum']}), constant lr, "
                      "no weight decay"),
        "target": config["target"],
        "convergence": ("epochs_to_97: first epoch with validation accuracy >= target; "
                        "seconds_to_97: training + validation wall time up to that epoch"),
    }


EXPERIMENT = _record.Experiment(
    name=NAME,
    title="Lab 5: MLP on MNIST with/without BatchNorm and Dropout",
    run=run,
    describe=describe,
    metrics=("final_val_accuracy", "best_val_accuracy", "test_accuracy"),
    full_seeds=tuple(range(5)),
    quick_seeds=(0,),
    variants={
        "bn": {"batch_norm": True},
        "dropout": {"dropout": 0.2},
        "bn_dropout": {"batch_norm": True, "dropout": 0.2},
        "dropout_p05": {"dropout": 0.5},
    },
    check=_record.CheckSpec(
        metric="final_val_accuracy",
        kind="spread",
        tolerance_sd=2.0,
        tolerance_min=0.002,
        seeds=(0,),
        reason=("float32 training over 10 epochs is not reproducible bit for bit across BLAS "
                "kernels and thread counts (lab 2's record, issue 12), so a re-run is a fresh "
                "draw from the seed-to-seed distribution; with 5 recorded seeds the range misses "
                "a fresh draw with probability about 1/3, hence the widening by 2 standard "
                "deviations, at least 10 of the 5,000 validation images"),
    ),
)
RESULT = EXPERIMENT.default_path


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """The settings ``run`` reads, from the command line."""
    return {
        "full_data": bool(args.full),
        "sizes": list(SIZES),
        "epochs": args.epochs if args.epochs is not None else (10 if args.full else 2),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "batch_norm": bool(args.batch_norm),
        "dropout": float(args.dropout),
        "target": TARGET,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit code."""
    parser = _record.make_parser(EXPERIMENT, __doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 (full), 2 (quick)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--batch-norm", type=lambda s: s.lower() in ("1", "true", "yes"),
                        default=False, help="the main run's BatchNorm (variants override it)")
    parser.add_argument("--dropout", type=float, default=0.0,
                        help="the main run's drop probability (variants override it)")
    return _record.main(EXPERIMENT, argv, parser, make_config)


if __name__ == "__main__":
    sys.exit(main())
