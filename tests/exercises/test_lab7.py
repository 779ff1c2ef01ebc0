"""Graded tests of lab 7's visualisation part (``solutions/lab7.py`` / ``exercises/lab7.py``).

Oracle: central finite differences of the class scores in float64 (independent of any
backward pass), on a small CNN with BatchNorm whose running statistics differ from the batch's
own (so a gradient taken in training mode is wrong) and a Dropout layer (so training mode is
also random). The package's ``dlcourse.viz.saliency_map`` is forbidden to the student.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from dlcourse import nn
from dlcourse.gradcheck import numerical_gradient
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_equal, assert_grad, expect_array

exercise = pytest.mark.exercise
FORBID = dict(forbid=["dlcourse.viz.saliency_map"])


@pytest.fixture
def lab7() -> ModuleType:
    return load_impl("lab7")


def trained_cnn(seed: int = 0) -> nn.Sequential:
    """A small CNN whose BatchNorm running statistics are far from any one batch's."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, rng=rng), nn.Tanh(), nn.Flatten(), nn.Dropout(0.5, rng=rng),
        nn.Linear(5 * 2 * 2, 3, rng=rng),
    )
    with nn.no_grad():
        for _ in range(4):
            model(2.0 + 3.0 * rng.standard_normal((8, 3, 8, 8)))
    model.train()
    return model


def score_gradient_fd(model: nn.Module, x: np.ndarray, c: np.ndarray,
                      eps: float = 1e-6) -> np.ndarray:
    """Central differences of Σ_n s_{c_n}(x_n) in eval mode, pixel by pixel."""
    model.eval()
    rows = np.arange(len(x))
    with nn.no_grad():
        g = numerical_gradient(lambda z: model(z)[rows, c].sum(), x, eps)
    model.train()
    return g


def images(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3, 3, 8, 8))


@exercise("lab7.score_gradient", points=3, **FORBID)
def test_score_gradient_matches_finite_differences(lab7: ModuleType) -> None:
    model = trained_cnn()
    x, c = images(1), np.array([0, 2, 1])
    snap = Snapshot(x=x, target=c)
    got = lab7.class_score_gradient(model, x, c)
    snap.assert_unchanged("class_score_gradient")
    assert_grad(got, score_gradient_fd(model, x, c), "class_score_gradient",
                hint="the gradient of the logit s_c (not of the softmax or the loss), in eval "
                     "mode")


@exercise("lab7.score_gradient", points=1, **FORBID)
def test_score_gradient_restores_the_mode(lab7: ModuleType) -> None:
    model = trained_cnn()
    lab7.class_score_gradient(model, images(2), np.array([1, 1, 1]))
    assert_equal(model.training, True, "model.training after class_score_gradient",
                 "leave the model in the mode you found it in")
    model.eval()
    lab7.class_score_gradient(model, images(2), np.array([1, 1, 1]))
    assert_equal(model.training, False, "model.training after class_score_gradient")


@exercise("lab7.saliency", points=2, depends=["lab7.score_gradient"], **FORBID)
def test_saliency_is_max_abs_over_channels(lab7: ModuleType) -> None:
    model = trained_cnn(3)
    x, c = images(4), np.array([2, 0, 2])
    got = expect_array(lab7.saliency_map(model, x, c), "saliency_map", (3, 8, 8))
    expected = np.abs(score_gradient_fd(model, x, c)).max(axis=1)
    assert_grad(got, expected, "saliency_map",
                hint="max over the channel axis of |∂s_c/∂x|")
