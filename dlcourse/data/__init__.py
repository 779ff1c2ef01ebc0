"""Inputs: datasets (download + checksum + cache) and mini-batch iteration.

- :class:`DataLoader`: ``(xb, yb)`` mini-batches of in-memory arrays, seeded shuffling.
- :func:`load_digits`: scikit-learn's 8×8 digits, offline, fixed train/test split.
- :func:`load_mnist`, :func:`load_fashion_mnist`: the official IDX files, found in
  ``root``, ``$DLCOURSE_DATA``, the cache, or downloaded (see :mod:`dlcourse.data.datasets`).
- :func:`load_dataset`: both splits of MNIST / Fashion-MNIST as an :class:`ImageDataset`, or,
  when they can be neither found nor downloaded, the 8×8 digits with a printed note (for pages
  that must run anywhere; see :mod:`dlcourse.data.fallback`).
"""

from dlcourse.data.airfoil import AIRFOIL_COLUMNS, load_airfoil
from dlcourse.data.cifar import CIFAR10_CLASSES, cifar10_label_names, load_cifar10
from dlcourse.data.datasets import (
    FASHION_MNIST_CLASSES,
    load_digits,
    load_fashion_mnist,
    load_mnist,
)
from dlcourse.data.fallback import ImageDataset, load_dataset
from dlcourse.data.loader import DataLoader

__all__ = [
    "DataLoader",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "FASHION_MNIST_CLASSES",
    "ImageDataset",
    "load_dataset",
    "load_cifar10",
    "cifar10_label_names",
    "CIFAR10_CLASSES",
    "load_airfoil",
    "AIRFOIL_COLUMNS",
]
