"""Chapter 4: the notes' LeNet on Fashion-MNIST (experiment 5.6.2), a ReLU + BatchNorm LeNet, and
a small AlexNet (exercise 12: time and accuracy against LeNet).

The book's notebook ``book/04_cnn/03_classic_cnns.ipynb`` runs a CI-sized version and displays
the numbers this script records in full mode.

Usage (from the repository root)::

    python -m benchmarks.lenet_fashion             # quick: 5,000 training / 2,000 test images,
                                                   # 2 epochs, seed 0
    python -m benchmarks.lenet_fashion --full --ablations --threads 1
                                                   # 60k / 10k images, 5 epochs, seeds 0-2, and
                                                   # both variants on the same seeds; writes
                                                   # book/results/lenet_fashion.json
    python -m benchmarks.lenet_fashion --check     # re-run the record's check seeds

Main configuration, as the notes: ``LeNet5()`` (sigmoid, max pooling, 256 → 120 → 84 → 10) with
PyTorch's default initialisation (weights and biases U(±1/√fan_in), ``--init pytorch``),
``CrossEntropyLoss``, ``Adam`` lr 0.001, batch 256, 5 epochs, pixels in [0, 1], float32.
After every epoch the whole test set is evaluated (the notes' "test acc" column; nothing is
selected on it), and the reported accuracy is that of the last epoch. Each seed fixes the
initialisation and the shuffling.

The loss column: the notes divide each epoch's sum of batch losses by ``batch_count``, which
their ``train_ch5`` never resets, so epoch e's printed loss is the epoch's mean batch loss
divided by e (勘误). Both are recorded: ``train_loss`` (the mean batch loss of the epoch) and
``train_loss_notes`` (the notes' formula).

Variants (``--ablations``, same seeds, compared per seed on the final test accuracy):
``relu_bn``: ``LeNet5(activation="relu", batch_norm=True)`` with the package's He init, Adam
lr 0.003 decayed to 0 along a half cosine (the chapter's better variant, target >= 0.89 in
5 epochs); ``relu_bn_constant``: the same network with the notes' optimiser (Adam 0.001,
constant); ``alexnet_small``: ``dlcourse.models.AlexNet()`` (5 conv with LRN after conv1/conv2,
3 max-pool, 3 FC with dropout; ``channels=(16, 32, 48, 48, 32)``, ``hidden=256``) at 28×28,
instead of the notes' 224×224 AlexNet (47 M parameters, 128 s per epoch on a GPU), trained for
the same 5 epochs as LeNet (an epoch costs several LeNet epochs).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import _record
from benchmarks.lab2_mlp_mnist import cosine_schedule
from dlcourse.data import DataLoader, load_fashion_mnist
from dlcourse.losses import CrossEntropyLoss
from dlcourse.models import AlexNet, LeNet5
from dlcourse.nn import Conv2d, Linear, Module
from dlcourse.optim import Adam
from dlcourse.train import evaluation_step, fit, supervised_step

NAME = "lenet_fashion"
MODELS = ("lenet", "lenet_relu_bn", "alexnet_small")
ALEXNET_CHANNELS = (16, 32, 48, 48, 32)
N_QUICK_TRAIN, N_QUICK_TEST = 5_000, 2_000


def build_model(name: str, seed: int) -> Module:
    """The model ``name`` (one of :data:`MODELS`) in float32, weights drawn with ``seed``."""
    if name == "lenet":
        return LeNet5(rng=seed, dtype=np.float32)
    if name == "lenet_relu_bn":
        return LeNet5(activation="relu", batch_norm=True, rng=seed, dtype=np.float32)
    if name == "alexnet_small":
        return AlexNet(channels=ALEXNET_CHANNELS, hidden=256, rng=seed, dtype=np.float32)
    raise ValueError(f"model: expected one of {MODELS}, got {name!r}")


def pytorch_init(model: Module, seed: int) -> None:
    """Re-draw every Conv2d / Linear weight and bias from U(±1/√fan_in), PyTorch's default
    (``kaiming_uniform_(a=√5)`` for weights, the same bound for biases)."""
    rng = np.random.default_rng([seed, 1])
    for m in model.modules():
        if isinstance(m, (Conv2d, Linear)):
            W = m.W.data
            fan_in = W.shape[0] if isinstance(m, Linear) else math.prod(W.shape[1:])
            bound = 1.0 / math.sqrt(fan_in)
            W[...] = rng.uniform(-bound, bound, size=W.shape)
            if m.b is not None:
                m.b.data[...] = rng.uniform(-bound, bound, size=m.b.data.shape)


def load(full: bool) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST (N, 1, 28, 28) float32 in [0, 1]; quick mode keeps the first images."""
    X, y = load_fashion_mnist("train")
    X_test, y_test = load_fashion_mnist("test")
    if not full:
        X, y, X_test, y_test = (X[:N_QUICK_TRAIN], y[:N_QUICK_TRAIN], X_test[:N_QUICK_TEST],
                                y_test[:N_QUICK_TEST])
    return (X, y), (X_test, y_test)


def run(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train once with ``seed``; final test accuracy, per-epoch curves and seconds."""
    (X, y), (X_test, y_test) = load(config["full_data"])
    model = build_model(config["model"], seed)
    if config["init"] == "pytorch":
        pytorch_init(model, seed)
    loss = CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=config["lr"])
    loader = DataLoader(X, y, batch_size=config["batch_size"], shuffle=True, rng=seed)
    if config["schedule"] == "cosine":
        opt.schedule = cosine_schedule(config["lr"], config["epochs"] * len(loader))
    inner = supervised_step(model, loss, opt)
    batch_losses: list[float] = []

    def step(batch: Any) -> dict[str, float]:
        values = inner(batch)
        batch_losses.append(values["loss"])
        return values

    history = fit(model=model, train_loader=loader, step=step, val=(X_test, y_test),
                  val_step=evaluation_step(model, None), epochs=config["epochs"], quiet=True)
    per_epoch = len(loader)
    sums = [sum(batch_losses[e * per_epoch:(e + 1) * per_epoch]) for e in range(config["epochs"])]
    notes_loss = [s / ((e + 1) * per_epoch) for e, s in enumerate(sums)]  # batch_count not reset
    seconds = [round(t, 1) for t in history["time"]]
    return {
        "test_accuracy": round(float(history["val_acc"][-1]), 4),
        "train_accuracy": round(float(history["train_acc"][-1]), 4),
        "seconds_per_epoch": round(float(np.mean(history["time"])), 1),
        "test_accuracy_curve": [round(float(v), 4) for v in history["val_acc"]],
        "train_accuracy_curve": [round(float(v), 4) for v in history["train_acc"]],
        "train_loss": [round(float(v), 4) for v in history["train_loss"]],
        "train_loss_batch_mean": [round(s / per_epoch, 4) for s in sums],
        "train_loss_notes": [round(v, 4) for v in notes_loss],
        "epoch_seconds": seconds,
        "n_parameters": int(sum(p.data.size for p in model.parameters())),
    }


def describe(config: dict[str, Any]) -> dict[str, Any]:
    """Static facts of the configuration, for the book's table."""
    n_train, n_test = (60_000, 10_000) if config["full_data"] else (N_QUICK_TRAIN, N_QUICK_TEST)
    models = {
        "lenet": "LeNet5(): sigmoid, max pooling, 256-120-84-10 (the notes' experiment)",
        "lenet_relu_bn": "LeNet5(activation='relu', batch_norm=True)",
        "alexnet_small": f"AlexNet(channels={ALEXNET_CHANNELS}, hidden=256), 28x28, LRN, "
                         "dropout 0.5",
    }
    return {
        "dataset": "Fashion-MNIST",
        "n_train": n_train,
        "n_test": n_test,
        "model": models[config["model"]],
        "init": ("PyTorch default: U(+-1/sqrt(fan_in)) for weights and biases"
                 if config["init"] == "pytorch" else "dlcourse default for the activation"),
        "loss": "CrossEntropyLoss",
        "optimizer": f"Adam(lr={config['lr']}), batch {config['batch_size']}",
        "lr_schedule": ("cosine decay to 0 over all steps" if config["schedule"] == "cosine"
                        else "constant"),
        "epochs": config["epochs"],
        "evaluation": "whole test set after every epoch; the last epoch is reported",
        "notes_log": {
            "test_accuracy": [0.581, 0.687, 0.718, 0.736, 0.758],
            "train_accuracy": [0.333, 0.634, 0.711, 0.739, 0.754],
            "loss": [1.8024, 0.4725, 0.2605, 0.1743, 0.1290],
            "seconds_per_epoch": [29.3, 30.3, 30.4, 30.3, 32.4],
        },
        "notes_alexnet_log": {
            "test_accuracy": [0.865, 0.889, 0.901, 0.900, 0.902],
            "train_accuracy": [0.770, 0.879, 0.898, 0.908, 0.913],
            "seconds_per_epoch": [128.3, 128.8, 130.4, 131.4, 129.9],
            "setting": "224x224 inputs, batch 128, Adam 1e-3, on a GPU",
        },
    }


EXPERIMENT = _record.Experiment(
    name=NAME,
    title="LeNet (sigmoid, as the notes), ReLU+BN LeNet and a small AlexNet on Fashion-MNIST",
    run=run,
    describe=describe,
    metrics=("test_accuracy", "train_accuracy", "seconds_per_epoch"),
    full_seeds=(0, 1, 2),
    quick_seeds=(0,),
    variants={
        "relu_bn": {"model": "lenet_relu_bn", "init": "default", "lr": 0.003,
                    "schedule": "cosine"},
        "relu_bn_constant": {"model": "lenet_relu_bn", "init": "default"},
        "alexnet_small": {"model": "alexnet_small", "init": "default"},
    },
    check=_record.CheckSpec(
        metric="test_accuracy",
        kind="spread",
        tolerance_sd=2.0,
        tolerance_min=0.01,
        seeds=(0,),
        reason=("float32 sums depend on the BLAS kernel and thread count, so a re-run elsewhere "
                "is a fresh draw from the seed-to-seed distribution; the sigmoid LeNet after 5 "
                "epochs is still on the steep part of its learning curve, where seeds differ by "
                "points, not tenths. Widened by 2 std (at least 1 point) a correct re-run passes "
                "while a broken gradient or optimiser (accuracy near 0.1) fails"),
    ),
)
RESULT = EXPERIMENT.default_path


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """The settings ``run`` reads, from the command line."""
    return {
        "full_data": bool(args.full),
        "model": args.model,
        "init": args.init,
        "epochs": args.epochs if args.epochs is not None else (5 if args.full else 2),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "schedule": args.schedule,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit code."""
    parser = _record.make_parser(EXPERIMENT, __doc__)
    parser.add_argument("--model", choices=MODELS, default="lenet")
    parser.add_argument("--init", choices=("pytorch", "default"), default="pytorch")
    parser.add_argument("--epochs", type=int, default=None, help="default: 5 (full), 2 (quick)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant")
    return _record.main(EXPERIMENT, argv, parser, make_config)


if __name__ == "__main__":
    sys.exit(main())
