"""Tests of dlcourse/data/transforms.py.

References: numpy's own flips and ``np.rot90``, brute-force windows of the padded image,
closed forms of a scaled affine ramp (bilinear interpolation is exact on it), and sampling
statistics with tolerances of 6 standard errors over several seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data.transforms import (
    Compose,
    GaussianNoise,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    rotate_scale,
)


def images(seed: int = 0, n: int = 6, c: int = 2, h: int = 5, w: int = 7,
           dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def ramp(n: int, h: int, w: int, a: float = 0.3, b: float = -0.7, c: float = 2.0) -> np.ndarray:
    """Images whose pixel (i, j) is a·i + b·j + c (an affine function of the position)."""
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.broadcast_to(a * i + b * j + c, (n, 1, h, w)).copy()


# ---- horizontal flip -------------------------------------------------------------------------


def test_flip_with_p_one_and_zero() -> None:
    x = images()
    before = x.copy()
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0, rng=0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0, rng=0)(x), x)
    np.testing.assert_array_equal(x, before)  # the input is not modified


@pytest.mark.parametrize("seed", range(5))
def test_flip_each_sample_independently_with_probability_p(seed: int) -> None:
    n, p = 4000, 0.3
    x = images(seed, n=n, c=1, h=2, w=3)
    out = RandomHorizontalFlip(p=p, rng=seed)(x)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept)  # every sample is one or the other, whole
    se = np.sqrt(p * (1 - p) / n)
    assert abs(flipped.mean() - p) < 6 * se


def test_flip_keeps_float32() -> None:
    assert RandomHorizontalFlip(rng=0)(images(dtype=np.float32)).dtype == np.float32


# ---- random crop -----------------------------------------------------------------------------


def test_crop_without_padding_to_full_size_is_identity() -> None:
    x = images()
    np.testing.assert_array_equal(RandomCrop((5, 7), rng=0)(x), x)


def test_crop_outputs_are_windows_of_the_padded_image_and_cover_every_offset() -> None:
    n, pad, fill = 3000, 2, -1.0
    x = images(1, n=n, c=2, h=4, w=4)
    out = RandomCrop(4, padding=pad, fill=fill, rng=1)(x)
    assert out.shape == (n, 2, 4, 4)
    padded = np.full((n, 2, 8, 8), fill)
    padded[:, :, pad:pad + 4, pad:pad + 4] = x
    found = np.full(n, -1)
    for oy in range(5):  # brute force over the 25 windows
        for ox in range(5):
            match = np.all(out == padded[:, :, oy:oy + 4, ox:ox + 4], axis=(1, 2, 3))
            found[match & (found < 0)] = oy * 5 + ox
    assert np.all(found >= 0)  # every output is one of the windows
    counts = np.bincount(found, minlength=25)
    expected = n / 25  # uniform offsets: 120 each, sd ≈ 10.8
    assert np.all(np.abs(counts - expected) < 6 * np.sqrt(expected))


def test_crop_rejects_a_window_larger_than_the_padded_image() -> None:
    with pytest.raises(ValueError, match=r"x: RandomCrop\(size=\(8, 8\), padding=1\)"):
        RandomCrop(8, padding=1, rng=0)(images(h=5, w=5))


# ---- rotation and scaling --------------------------------------------------------------------


@pytest.mark.parametrize(("angle", "k"), [(90.0, 1), (180.0, 2), (270.0, 3), (-90.0, 3)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_right_angles_equal_rot90(angle: float, k: int, interpolation: str) -> None:
    x = images(2, h=6, w=6)
    out = rotate_scale(x, angle, interpolation=interpolation)
    np.testing.assert_allclose(out, np.rot90(x, k, axes=(2, 3)), atol=1e-12)


def test_zero_angle_and_unit_scale_is_identity() -> None:
    x = images(3)
    np.testing.assert_allclose(rotate_scale(x, 0.0, 1.0), x, atol=1e-15)


def test_scaling_a_ramp_is_exact_with_bilinear() -> None:
    # Scaling by s about the centre c reads the input at c + (p − c)/s; on an affine image
    # f(i, j) bilinear interpolation reproduces f at any point inside the image.
    h, w, s = 9, 11, 1.7
    x = ramp(2, h, w)
    out = rotate_scale(x, 0.0, s)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    np.testing.assert_allclose(out[0, 0], 0.3 * (cy + (i - cy) / s) - 0.7 * (cx + (j - cx) / s)
                               + 2.0, atol=1e-12)


def test_rotations_compose_on_a_ramp_inside_the_image() -> None:
    # R(20°) then R(25°) = R(45°) where every source point stays inside (a central disc).
    h = w = 21
    x = ramp(1, h, w)
    two = rotate_scale(rotate_scale(x, 20.0), 25.0)
    one = rotate_scale(x, 45.0)
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    centre = (i - 10) ** 2 + (j - 10) ** 2 <= 8 ** 2
    np.testing.assert_allclose(two[0, 0][centre], one[0, 0][centre], atol=1e-12)


def test_points_outside_read_fill() -> None:
    x = np.ones((1, 1, 9, 9))
    out = rotate_scale(x, 0.0, 0.5, interpolation="nearest", fill=-3.0)  # content shrinks
    assert out[0, 0, 0, 0] == -3.0 and out[0, 0, 4, 4] == 1.0


def test_per_sample_angles() -> None:
    x = images(4, n=3, h=6, w=6)
    out = rotate_scale(x, np.array([0.0, 90.0, 180.0]), interpolation="nearest")
    for n, k in enumerate((0, 1, 2)):
        np.testing.assert_allclose(out[n], np.rot90(x[n], k, axes=(1, 2)), atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_random_rotation_draws_angles_in_range(seed: int) -> None:
    # A single bright pixel at distance 4 right of the centre moves to angle θ (counter-
    # clockwise): the mass-weighted angle of the output is θ, and θ ∈ [−30°, 30°].
    n = 400
    x = np.zeros((n, 1, 15, 15))
    x[:, 0, 7, 11] = 1.0
    out = RandomRotation(30.0, rng=seed)(x)
    i, j = np.meshgrid(np.arange(15), np.arange(15), indexing="ij")
    m = out[:, 0]
    u = (m * (j - 7)).sum(axis=(1, 2))
    v = (m * (7 - i)).sum(axis=(1, 2))
    theta = np.degrees(np.arctan2(v, u))
    assert np.all(np.abs(theta) < 30.0 + 2.0)  # bilinear smears the pixel a little
    assert theta.min() < -20.0 and theta.max() > 20.0  # the range is used, both ways


def test_rotation_keeps_float32_and_input() -> None:
    x = images(5, dtype=np.float32)
    before = x.copy()
    out = RandomRotation(15.0, scale=(0.9, 1.1), rng=0)(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_array_equal(x, before)


# ---- noise and composition ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_noise_statistics(seed: int) -> None:
    x = np.full((200, 1, 10, 10), 0.5)
    out = GaussianNoise(0.1, mean=0.02, rng=seed)(x)
    noise = (out - x).ravel()  # 20,000 draws
    assert abs(noise.mean() - 0.02) < 6 * 0.1 / np.sqrt(noise.size)
    assert abs(noise.std() - 0.1) < 6 * 0.1 / np.sqrt(2 * noise.size)


def test_gaussian_noise_clip_zero_std_and_dtype() -> None:
    x = images(6, dtype=np.float32)
    np.testing.assert_array_equal(GaussianNoise(0.0, rng=0)(x), x)
    out = GaussianNoise(2.0, clip=(0.0, 1.0), rng=0)(x)
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0


def test_compose_applies_in_order() -> None:
    x = images(7)
    t = Compose([lambda a: a + 1.0, lambda a: a * 2.0])
    np.testing.assert_array_equal(t(x), (x + 1.0) * 2.0)


def test_seeded_transforms_are_reproducible() -> None:
    x = images(8)

    def pipe(seed: int) -> Compose:
        return Compose([RandomCrop(5, padding=1, rng=seed), RandomHorizontalFlip(rng=seed + 1),
                        RandomRotation(10.0, rng=seed + 2), GaussianNoise(0.05, rng=seed + 3)])

    np.testing.assert_array_equal(pipe(0)(x), pipe(0)(x))
    assert not np.array_equal(pipe(0)(x), pipe(10)(x))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: RandomHorizontalFlip(p=1.5), ValueError, r"p: expected a value in \[0, 1\]"),
        (lambda: RandomHorizontalFlip(rng=0)(np.zeros((2, 3, 4))), ValueError,
         r"x: expected images of shape \(N, C, H, W\), got shape \(2, 3, 4\)"),
        (lambda: RandomCrop(0), ValueError, "size: expected an integer >= 1"),
        (lambda: RandomCrop(3, padding=-1), ValueError, "padding: expected an integer >= 0"),
        (lambda: RandomRotation(-5.0), ValueError, "degrees: expected a value >= 0"),
        (lambda: RandomRotation(5.0, scale=(0.0, 1.0)), ValueError, "scale: expected factors > 0"),
        (lambda: rotate_scale(np.zeros((2, 1, 3, 3)), [1.0, 2.0, 3.0]), ValueError,
         r"angle: expected a scalar or one value per sample \(2,\), got shape \(3,\)"),
        (lambda: rotate_scale(np.zeros((1, 1, 3, 3)), 0.0, interpolation="cubic"), ValueError,
         "interpolation: expected one of"),
        (lambda: GaussianNoise(-1.0), ValueError, "std: expected a value >= 0"),
        (lambda: Compose([1]), TypeError, r"transforms\[0\]: expected a callable"),
    ],
)
def test_bad_arguments_raise_naming_them(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()
