"""The sweep's table of scalar arguments: constructors and functions, and the exclusions.

``ARG_CASES`` name the scalar arguments of a constructor or function and the kind of value each
one needs (a size, a learning rate, a probability, ...); ``EXCLUDED`` lists, with a reason, the
public names that take no input to corrupt. The array arguments are in ``_sweep_cases.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _sweep_cases import ArgCase, _img, _lenet, _params, _seq, _signs, _square, labels, randn

import dlcourse.functional as F
import dlcourse.gradcheck as G
import dlcourse.init as I
import dlcourse.losses as L
import dlcourse.metrics as M
import dlcourse.models as models
import dlcourse.nn as nn
import dlcourse.optim as optim
import dlcourse.optim.schedules as S
import dlcourse.regularization as R
import dlcourse.viz as viz
from dlcourse.data import DataLoader
from dlcourse.data import transforms as T


def _opt(cls: type, **valid: Any) -> Callable[..., Any]:
    return lambda **kw: cls(**{"params": _params(), **valid, **kw})


_SIZE2 = {"in_features": "size", "out_features": "size"}
_OPT = {"lr": "positive", "weight_decay": "nonneg", "params": "params"}
_ACT_KW = {"dlcourse.nn.LeakyReLU": "negative_slope", "dlcourse.nn.ELU": "alpha",
           "dlcourse.nn.Swish": "beta"}

#: name -> the scalar arguments to corrupt (one at a time, the others valid).
ARG_CASES: dict[str, ArgCase] = {
    # layers
    "dlcourse.nn.Linear": ArgCase(nn.Linear, {"in_features": 4, "out_features": 3},
                                  {**_SIZE2, "bias": "bool", "rng": "rng", "dtype": "dtype"}),
    "dlcourse.nn.WeightNormLinear": ArgCase(nn.WeightNormLinear,
                                            {"in_features": 4, "out_features": 3},
                                            {**_SIZE2, "bias": "bool", "dtype": "dtype"}),
    "dlcourse.nn.Maxout": ArgCase(nn.Maxout, {"in_features": 4, "out_features": 3, "pieces": 2},
                                  {**_SIZE2, "pieces": "size", "dtype": "dtype"}),
    "dlcourse.nn.PReLU": ArgCase(nn.PReLU, {"num_parameters": 3},
                                 {"num_parameters": "size", "init": "real", "dtype": "dtype"}),
    **{name: ArgCase(getattr(nn, name.rsplit(".", 1)[1]), {}, {kw: "real"})
       for name, kw in _ACT_KW.items()},
    "dlcourse.nn.GELU": ArgCase(nn.GELU, {}, {"approximate": "choice"}),
    "dlcourse.nn.Dropout": ArgCase(nn.Dropout, {"p": 0.5}, {"p": "prob_open", "rng": "rng"}),
    "dlcourse.nn.BatchNorm1d": ArgCase(nn.BatchNorm1d, {"num_features": 3},
                                       {"num_features": "size", "eps": "positive",
                                        "momentum": "prob", "affine": "bool", "dtype": "dtype"}),
    "dlcourse.nn.BatchNorm2d": ArgCase(nn.BatchNorm2d, {"num_features": 3},
                                       {"num_features": "size", "eps": "positive",
                                        "momentum": "prob", "affine": "bool"}),
    "dlcourse.nn.LayerNorm": ArgCase(nn.LayerNorm, {"normalized_shape": 4},
                                     {"normalized_shape": "size", "eps": "positive",
                                      "elementwise_affine": "bool", "dtype": "dtype"}),
    "dlcourse.nn.Conv2d": ArgCase(nn.Conv2d, {"in_channels": 3, "out_channels": 2,
                                              "kernel_size": 3},
                                  {"in_channels": "size", "out_channels": "size",
                                   "kernel_size": "size", "stride": "size", "padding": "count",
                                   "bias": "bool", "dtype": "dtype"}),
    "dlcourse.nn.Conv1d": ArgCase(nn.Conv1d, {"in_channels": 3, "out_channels": 2,
                                              "kernel_size": 3},
                                  {"in_channels": "size", "out_channels": "size",
                                   "kernel_size": "size", "stride": "size", "padding": "count",
                                   "bias": "bool"}),
    "dlcourse.nn.conv1d": ArgCase(lambda mode: nn.conv1d(randn(6), np.ones(3), mode),
                                  {"mode": "narrow"}, {"mode": "choice"}),
    **{f"dlcourse.nn.{name}": ArgCase(getattr(nn, name), {"kernel_size": 2},
                                      {"kernel_size": "size", "stride": "size",
                                       "padding": "count"})
       for name in ("MaxPool2d", "AvgPool2d", "MaxUnpool2d")},
    "dlcourse.nn.im2col": ArgCase(lambda **kw: nn.im2col(randn(*_img(h=5, w=5)), **kw),
                                  {"kernel_size": 3}, {"kernel_size": "size", "stride": "size",
                                                       "padding": "count"}),
    "dlcourse.nn.col2im": ArgCase(lambda **kw: nn.col2im(randn(18, 27), (2, 3, 5, 5), **kw),
                                  {"kernel_size": 3}, {"kernel_size": "size"}),
    "dlcourse.nn.AdaptiveAvgPool2d": ArgCase(nn.AdaptiveAvgPool2d, {"output_size": 2},
                                             {"output_size": "size"}),
    "dlcourse.nn.Upsample": ArgCase(nn.Upsample, {"scale_factor": 2},
                                    {"scale_factor": "positive", "mode": "choice"}),
    "dlcourse.nn.LocalResponseNorm": ArgCase(nn.LocalResponseNorm, {"size": 3},
                                             {"size": "size", "alpha": "nonneg",
                                              "beta": "nonneg", "k": "nonneg"}),
    "dlcourse.nn.Sequential": ArgCase(lambda m: nn.Sequential(nn.ReLU(), m),
                                      {"m": nn.ReLU()}, {"m": "module"},
                                      names={"m": "modules"}),
    # functional scalars
    **{f"dlcourse.functional.{name}": ArgCase(
        lambda name=name, **a: getattr(F, name)(randn(2, 3), **a), {}, {kw: "real"})
       for name, kw in (("leaky_relu", "negative_slope"), ("elu", "alpha"),
                        ("swish", "beta"))},
    "dlcourse.functional.gelu": ArgCase(lambda **a: F.gelu(randn(2, 3), **a), {},
                                        {"approximate": "choice"}),
    "dlcourse.functional.softmax": ArgCase(lambda **a: F.softmax(randn(2, 3), **a), {},
                                           {"axis": "axis"}),
    "dlcourse.functional.log_softmax": ArgCase(lambda **a: F.log_softmax(randn(2, 3), **a), {},
                                               {"axis": "axis"}),
    "dlcourse.functional.one_hot": ArgCase(lambda **a: F.one_hot(labels(4), **a),
                                           {"num_classes": 3}, {"num_classes": "size"}),
    # losses
    "dlcourse.losses.HingeLoss": ArgCase(L.HingeLoss, {}, {"lam": "nonneg"}),
    "dlcourse.losses.CrossEntropyLoss": ArgCase(L.CrossEntropyLoss, {},
                                                {"label_smoothing": "prob",
                                                 "ignore_index": "int"}),
    "dlcourse.losses.softmax_cross_entropy": ArgCase(
        lambda **a: L.softmax_cross_entropy(randn(4, 3), labels(4), **a), {},
        {"label_smoothing": "prob", "ignore_index": "int"}),
    "dlcourse.losses.hinge_loss": ArgCase(
        lambda **a: L.hinge_loss(randn(4), _signs(4), np.ones((2, 2)), **a), {},
        {"lam": "nonneg"}),
    # optimisers, clipping, schedules
    "dlcourse.optim.Optimizer": ArgCase(_opt(optim.SGD, lr=0.1), {},
                                        {"params": "params"}),
    "dlcourse.optim.SGD": ArgCase(_opt(optim.SGD, lr=0.1), {},
                                  {**_OPT, "momentum": "prob_open", "dampening": "prob",
                                   "nesterov": "bool"}),
    "dlcourse.optim.AdaGrad": ArgCase(_opt(optim.AdaGrad), {}, {**_OPT, "eps": "nonneg"}),
    "dlcourse.optim.RMSProp": ArgCase(_opt(optim.RMSProp), {},
                                      {**_OPT, "rho": "prob_open", "eps": "nonneg",
                                       "momentum": "prob_open", "nesterov": "bool"}),
    "dlcourse.optim.AdaDelta": ArgCase(_opt(optim.AdaDelta), {},
                                       {**_OPT, "rho": "prob_open", "eps": "positive"}),
    "dlcourse.optim.Adam": ArgCase(_opt(optim.Adam), {}, {**_OPT, "eps": "nonneg",
                                                          "betas": "betas"}),
    "dlcourse.optim.clip_grad_norm": ArgCase(
        lambda **a: optim.clip_grad_norm(**{"params": _params(), **a}), {"max_norm": 1.0},
        {"max_norm": "nonneg", "norm_type": "norm", "params": "param_items"}),
    "dlcourse.optim.clip_grad_value": ArgCase(
        lambda **a: optim.clip_grad_value(**{"params": _params(), **a}), {"clip_value": 1.0},
        {"clip_value": "positive", "params": "param_items"}),
    "dlcourse.optim.schedules.Schedule": ArgCase(lambda t: S.StepDecay(1.0, 2)(t), {"t": 0},
                                                 {"t": "count"}),
    "dlcourse.optim.schedules.PiecewiseConstant": ArgCase(
        S.PiecewiseConstant, {"lr0": 1.0, "milestones": [2, 4]},
        {"lr0": "positive", "factors": "positive"}),
    "dlcourse.optim.schedules.StepDecay": ArgCase(S.StepDecay, {"lr0": 1.0, "step_size": 2},
                                                  {"lr0": "positive", "step_size": "size",
                                                   "gamma": "positive"}),
    **{f"dlcourse.optim.schedules.{name}": ArgCase(getattr(S, name), {"lr0": 1.0, "beta": 0.5},
                                                   {"lr0": "positive", "beta": beta,
                                                    "every": "size"})
       for name, beta in (("InverseTimeDecay", "nonneg"), ("ExponentialDecay", "prob"),
                          ("NaturalExpDecay", "nonneg"))},
    "dlcourse.optim.schedules.CosineDecay": ArgCase(S.CosineDecay,
                                                    {"lr0": 1.0, "total_steps": 10},
                                                    {"lr0": "positive", "total_steps": "size",
                                                     "min_lr": "nonneg", "every": "size"}),
    "dlcourse.optim.schedules.GradualWarmup": ArgCase(S.GradualWarmup,
                                                      {"after": 1.0, "warmup_steps": 3},
                                                      {"warmup_steps": "size"}),
    "dlcourse.optim.schedules.TriangularCyclic": ArgCase(
        S.TriangularCyclic, {"min_lr": 0.1, "max_lr": 1.0, "half_cycle": 4},
        {"min_lr": "nonneg", "half_cycle": "size", "bound_decay": "positive",
         "amplitude_decay": "positive"}),
    # metrics
    **{f"dlcourse.metrics.{name}": ArgCase(
        lambda name=name, **a: getattr(M, name)(labels(4), randn(4, 3), **a), {"average": "macro"},
        {"average": "choice"}) for name in ("precision", "recall", "f1_score")},
    "dlcourse.metrics.confusion_matrix": ArgCase(
        lambda **a: M.confusion_matrix(labels(4), labels(4), **a), {"num_classes": 3},
        {"num_classes": "size"}),
    "dlcourse.metrics.binary_predictions": ArgCase(
        lambda **a: M.binary_predictions(randn(4), **a), {}, {"threshold": "real"}),
    # init
    "dlcourse.init.fans": ArgCase(I.fans, {"shape": (3, 2)}, {"shape": "shape"}),
    "dlcourse.init.zeros": ArgCase(I.zeros, {"shape": (3, 2)}, {"shape": "shape",
                                                                "dtype": "dtype"}),
    "dlcourse.init.constant": ArgCase(I.constant, {"shape": (3, 2), "value": 1.0},
                                      {"shape": "shape", "value": "real", "dtype": "dtype"}),
    "dlcourse.init.normal": ArgCase(I.normal, {"shape": (3, 2)},
                                    {"shape": "shape", "std": "nonneg", "mean": "real",
                                     "rng": "rng", "dtype": "dtype"}),
    "dlcourse.init.uniform": ArgCase(I.uniform, {"shape": (3, 2)},
                                     {"shape": "shape", "low": "real", "rng": "rng",
                                      "dtype": "dtype"}),
    **{f"dlcourse.init.{name}": ArgCase(getattr(I, name), {"shape": (3, 2)},
                                        {"shape": "shape", "gain": "nonneg", "rng": "rng",
                                         "dtype": "dtype"})
       for name in ("xavier_normal", "xavier_uniform", "orthogonal")},
    **{f"dlcourse.init.{name}": ArgCase(getattr(I, name), {"shape": (3, 2)},
                                        {"shape": "shape", "gain": "nonneg", "mode": "choice",
                                         "rng": "rng", "dtype": "dtype"})
       for name in ("kaiming_normal", "kaiming_uniform")},
    "dlcourse.init.initialize": ArgCase(I.initialize, {"init": "zeros", "shape": (3, 2)},
                                        {"init": "choice", "shape": "shape", "dtype": "dtype"}),
    # regularization
    **{f"dlcourse.regularization.{name}": ArgCase(
        lambda name=name, **a: getattr(R, name)(**{"params": _seq(), **a}), {"lam": 0.1},
        {"lam": "nonneg", "params": "param_items"})
       for name in ("penalized_parameters", "l2_penalty", "l1_penalty")},
    "dlcourse.regularization.Penalty": ArgCase(lambda **a: R.Penalty(**{"params": _seq(), **a}),
                                               {}, {"l2": "nonneg", "l1": "nonneg",
                                                    "params": "param_items"}),
    "dlcourse.regularization.PenalizedOptimizer": ArgCase(
        lambda **a: R.PenalizedOptimizer(**{"optimizer": optim.SGD(_params(), 0.1),
                                            "penalty": R.Penalty(_seq(), 0.1), **a}),
        {}, {"optimizer": "module", "penalty": "module"}),
    "dlcourse.regularization.bootstrap_indices": ArgCase(
        R.bootstrap_indices, {"n": 5, "k": 2}, {"n": "size", "k": "size", "size": "size",
                                                "rng": "rng"}),
    "dlcourse.regularization.bagging_predict": ArgCase(
        lambda **a: R.bagging_predict([_seq()], randn(2, 4), **a), {},
        {"batch_size": "size"}),
    # data
    "dlcourse.data.DataLoader": ArgCase(lambda **a: DataLoader(randn(4, 2), labels(4), **a), {},
                                        {"batch_size": "size", "shuffle": "bool",
                                         "drop_last": "bool", "rng": "rng"}),
    "dlcourse.data.transforms.RandomHorizontalFlip": ArgCase(T.RandomHorizontalFlip, {},
                                                             {"p": "prob", "rng": "rng"}),
    "dlcourse.data.transforms.RandomCrop": ArgCase(T.RandomCrop, {"size": 4},
                                                   {"size": "size", "padding": "count",
                                                    "fill": "real", "rng": "rng"}),
    "dlcourse.data.transforms.RandomRotation": ArgCase(T.RandomRotation, {"degrees": 30.0},
                                                       {"degrees": "nonneg",
                                                        "interpolation": "choice",
                                                        "fill": "real", "rng": "rng"}),
    "dlcourse.data.transforms.GaussianNoise": ArgCase(T.GaussianNoise, {"std": 0.1},
                                                      {"std": "nonneg", "mean": "real",
                                                       "rng": "rng"}),
    "dlcourse.data.transforms.Compose": ArgCase(lambda m: T.Compose([m]), {"m": np.flip},
                                                {"m": "module"}, names={"m": "transforms"}),
    # models
    "dlcourse.models.MLP": ArgCase(lambda **a: models.MLP(**{"sizes": [4, 3], **a}), {},
                                   {"activation": "choice", "rng": "rng", "dtype": "dtype"}),
    "dlcourse.models.LeNet5": ArgCase(models.LeNet5, {},
                                      {"activation": "choice", "pool": "choice",
                                       "in_channels": "size", "num_classes": "size",
                                       "image_size": "size", "batch_norm": "bool"}),
    "dlcourse.models.LeNet5Original": ArgCase(models.LeNet5Original, {},
                                              {"num_classes": "size",
                                               "trainable_centres": "bool"}),
    "dlcourse.models.AlexNet": ArgCase(models.AlexNet, {"channels": (2, 2, 2, 2, 2),
                                                        "hidden": 4},
                                       {"in_channels": "size", "num_classes": "size",
                                        "hidden": "size", "dropout": "prob_open",
                                        "lrn": "bool"}),
    "dlcourse.models.CifarNet": ArgCase(models.CifarNet, {"widths": (2, 2, 2, 2)},
                                        {"in_channels": "size", "num_classes": "size",
                                         "dtype": "dtype"}),
    "dlcourse.models.ResidualBlock": ArgCase(models.ResidualBlock,
                                             {"in_channels": 3, "out_channels": 2},
                                             {"in_channels": "size", "out_channels": "size",
                                              "stride": "size"}),
    "dlcourse.models.ResNet": ArgCase(models.ResNet, {"channels": (2, 2)},
                                      {"blocks_per_stage": "size", "in_channels": "size",
                                       "num_classes": "size"}),
    # gradcheck, viz
    **{f"dlcourse.gradcheck.{name}": ArgCase(
        lambda name=name, f=f, **a: getattr(G, name)(f, randn(3), **a), {}, {"eps": "positive"})
       for name, f in (("numerical_gradient", _square), ("numerical_derivative", np.tanh))},
    "dlcourse.gradcheck.check_gradient": ArgCase(
        lambda **a: G.check_gradient(_square, randn(3), 2 * randn(3), **a), {},
        {"tol": "positive", "eps": "positive"}),
    "dlcourse.gradcheck.relative_error": ArgCase(
        lambda **a: G.relative_error(randn(3), randn(3, seed=1), **a), {}, {"floor": "nonneg"}),
    "dlcourse.viz.feature_maps": ArgCase(
        lambda **a: viz.feature_maps(_lenet(), randn(2, 1, 16, 16), **a), {"layer": 0},
        {"layer": "int"}),
}

#: Choices that are invalid for each "choice" argument (the valid ones are documented).
BAD_CHOICES = ("", "tanhh", "NONE", "fan_everywhere")

#: name -> why it has no sweep entry. Loaders that read files are covered by tests/data/.
EXCLUDED: dict[str, str] = {
    "dlcourse.nn.Module": "abstract base: its subclasses are swept",
    "dlcourse.nn.no_grad": "a context manager without arguments",
    "dlcourse.nn.is_grad_enabled": "takes no arguments",
    "dlcourse.optim.schedules": "the submodule itself: its __all__ is swept",
    "dlcourse.data.load_digits": "reads a packaged file: split/normalize checked in tests/data",
    "dlcourse.data.load_mnist": "needs the dataset files (tests/data/test_datasets.py)",
    "dlcourse.data.load_fashion_mnist": "needs the dataset files (tests/data/test_datasets.py)",
    "dlcourse.data.load_dataset": "needs the dataset files (tests/data/test_fallback.py)",
    "dlcourse.data.load_cifar10": "needs the dataset files (tests/data/test_cifar.py)",
    "dlcourse.data.cifar10_label_names": "needs the dataset files (tests/data/test_cifar.py)",
    "dlcourse.data.load_airfoil": "needs the dataset files (tests/data/test_airfoil.py)",
    "dlcourse.data.ImageDataset": "a plain record built by load_dataset, not an entry point",
    "dlcourse.train.fit": "the training loop takes a model, a loader and callbacks; its inputs "
                          "are the swept layers, losses and DataLoader (tests/test_train.py)",
    "dlcourse.train.supervised_step": "returns a step function for fit (tests/test_train.py)",
    "dlcourse.train.evaluation_step": "returns a step function for fit (tests/test_train.py)",
    "dlcourse.train.History": "a dict of per-epoch lists (tests/test_history.py)",
    "dlcourse.train.EarlyStopping": "a callback of fit (tests/test_train.py)",
    "dlcourse.train.Callback": "a typing alias, not a callable",
}
