"""The course's networks, built from ``dlcourse.nn`` layers."""

from dlcourse.models.alexnet import AlexNet
from dlcourse.models.cifar import CifarNet
from dlcourse.models.lenet import LeNet5
from dlcourse.models.lenet_original import LeNet5Original
from dlcourse.models.mlp import MLP
from dlcourse.models.resnet import ResidualBlock, ResNet

__all__ = ["AlexNet", "CifarNet", "LeNet5Original", "MLP", "LeNet5", "ResidualBlock", "ResNet"]
