"""The course's networks, built from ``dlcourse.nn`` layers."""

from dlcourse.models.cifar import CifarNet
from dlcourse.models.lenet import LeNet5
from dlcourse.models.mlp import MLP
from dlcourse.models.resnet import ResidualBlock, ResNet

__all__ = ["CifarNet", "MLP", "LeNet5", "ResidualBlock", "ResNet"]
