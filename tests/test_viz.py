"""dlcourse.viz: filters, feature maps and saliency maps (chapter 4, lab 7's visualisation)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import nn
from dlcourse.gradcheck import numerical_gradient
from dlcourse.models import CifarNet
from dlcourse.viz import feature_maps, filter_images, saliency_map


def small_cnn(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, rng=rng), nn.Tanh(), nn.Flatten(), nn.Linear(5 * 2 * 2, 3, rng=rng),
    )


def trained_bn_stats(model: nn.Sequential, rng: np.random.Generator) -> None:
    """A few training-mode passes so BatchNorm's running statistics are not the defaults."""
    model.train()
    with nn.no_grad():
        for _ in range(3):
            model(rng.standard_normal((6, 3, 8, 8)))


def test_filter_images_rgb_scaled_per_filter() -> None:
    W = np.zeros((2, 3, 2, 2))
    W[0, 0, 0, 0] = 4.0  # filter 0: one red pixel, the rest 0
    W[1] = -1.0  # filter 1 constant: shown as mid-grey
    img = filter_images(W)
    assert img.shape == (2, 2, 2, 3)
    assert img[0, 0, 0, 0] == 1.0 and img[0].sum() == 1.0
    np.testing.assert_array_equal(img[1], np.full((2, 2, 3), 0.5))


def test_filter_images_grey_channels_in_order() -> None:
    W = np.arange(2 * 2 * 1 * 3, dtype=float).reshape(2, 2, 1, 3)
    img = filter_images(W)
    assert img.shape == (4, 1, 3)
    for k in range(4):  # each row 0, 0.5, 1 after its own scaling
        np.testing.assert_allclose(img[k, 0], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="W: "):
        filter_images(np.zeros((3, 3)))


def test_feature_maps_equal_prefix_forward_in_eval_mode() -> None:
    rng = np.random.default_rng(1)
    model = small_cnn()
    trained_bn_stats(model, rng)
    model.train()
    x = rng.standard_normal((2, 3, 8, 8))
    got = feature_maps(model, x, 2)
    model.eval()
    expected = np.maximum(model[1](model[0](x)), 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert model.training is False  # we switched it; feature_maps restored what it found
    model.train()
    feature_maps(model, x, model[3])
    assert model.training is True and sum(m.num_cached_calls for m in model.modules()) == 0
    with pytest.raises(ValueError, match="layer: expected an index"):
        feature_maps(model, x, 8)
    with pytest.raises(ValueError, match="layer: expected one of"):
        feature_maps(model, x, nn.ReLU())


def numeric_input_gradient(model: nn.Module, x: np.ndarray, c: np.ndarray,
                           eps: float = 1e-6) -> np.ndarray:
    """Central differences of Σ_n s_{c_n}(x_n) with respect to every pixel (eval mode)."""
    model.eval()
    rows = np.arange(x.shape[0])
    with nn.no_grad():
        return numerical_gradient(lambda z: model(z)[rows, c].sum(), x, eps)


def test_saliency_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    model = small_cnn()
    trained_bn_stats(model, rng)
    x = rng.standard_normal((2, 3, 8, 8))
    c = np.array([2, 0])
    grad = saliency_map(model, x, c, return_gradient=True)
    expected = numeric_input_gradient(model, x.copy(), c)
    rel = np.abs(grad - expected).max() / np.abs(expected).max()
    assert rel < 1e-6, rel
    sal = saliency_map(model, x, c)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(sal, np.abs(expected).max(axis=1), atol=1e-6 * scale)


def test_saliency_leaves_parameters_mode_and_caches_alone() -> None:
    rng = np.random.default_rng(3)
    model = CifarNet((4, 4, 4, 4), rng=0, dtype=np.float64)
    model.train()
    params = model.parameters()
    for p in params:
        p.grad[...] = 7.0
    params[0].requires_grad = False
    sal = saliency_map(model, rng.standard_normal((3, 3, 32, 32)), 4)
    assert sal.shape == (3, 32, 32) and (sal >= 0).all() and sal.max() > 0
    assert model.training is True and sum(m.num_cached_calls for m in model.modules()) == 0
    assert all((p.grad == 7.0).all() for p in params)
    assert params[0].requires_grad is False and params[1].requires_grad is True


@pytest.mark.parametrize(("target", "err", "match"), [
    (np.array([0, 1]), ValueError, "target: expected 3 class indices"),
    (5, ValueError, r"target: expected classes in \[0, 3\)"),
    (1.5, TypeError, "target: expected an int"),
])
def test_saliency_rejects_bad_targets(target: object, err: type, match: str) -> None:
    x = np.zeros((3, 3, 8, 8))
    with pytest.raises(err, match=match):
        saliency_map(small_cnn(), x, target)
