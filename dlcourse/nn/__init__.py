"""Layers with explicit forward and backward passes (see ``dlcourse.nn.module`` for the rules
of caches, reuse within one forward pass, ``no_grad`` and frozen parameters).

Networks built from these layers (``MLP`` and the course's models) live in ``dlcourse.models``.
"""

from dlcourse.nn.activation import (
    ACTIVATIONS,
    ELU,
    GELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Swish,
    Tanh,
)
from dlcourse.nn.container import Sequential
from dlcourse.nn.conv import Conv2d, col2im, corr2d, im2col
from dlcourse.nn.conv1d import Conv1d, conv1d
from dlcourse.nn.dropout import Dropout
from dlcourse.nn.grad_mode import is_grad_enabled, no_grad
from dlcourse.nn.layer_norm import LayerNorm
from dlcourse.nn.linear import Linear
from dlcourse.nn.lrn import LocalResponseNorm
from dlcourse.nn.maxout import Maxout
from dlcourse.nn.module import Module, Parameter
from dlcourse.nn.norm import BatchNorm1d, BatchNorm2d
from dlcourse.nn.pool import AvgPool2d, MaxPool2d
from dlcourse.nn.shape import Flatten
from dlcourse.nn.upsample import AdaptiveAvgPool2d, MaxUnpool2d, Upsample
from dlcourse.nn.weight_norm import WeightNormLinear

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "no_grad",
    "is_grad_enabled",
    "Linear",
    "Flatten",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softplus",
    "Swish",
    "GELU",
    "Maxout",
    "ACTIVATIONS",
    "Dropout",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "WeightNormLinear",
    "Conv2d",
    "corr2d",
    "im2col",
    "col2im",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "MaxUnpool2d",
    "Upsample",
    "LocalResponseNorm",
    "Conv1d",
    "conv1d",
]

