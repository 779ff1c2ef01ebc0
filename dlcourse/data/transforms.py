"""Data augmentation (chapter 3, 数据增强): random transforms of a batch of images.

A transform is a callable ``t(xb) -> xb'`` on a whole batch (N, ...) — for images
(N, C, H, W) float — vectorised over the N samples (no Python loop over samples), each sample
drawing its own random parameters. Give one to ``DataLoader(X, y, transform=t)`` and every
training batch is augmented as it is yielded; chain several with :class:`Compose`.

Randomness: each random transform holds its own ``np.random.Generator`` (its ``rng``
argument: a Generator, an int seed or None), separate from the loader's shuffling stream, so
a transform works the same inside or outside a loader and a seeded pipeline is reproducible.
Transforms never modify their input (a loader without shuffling yields views of ``X``); the
output has the input's dtype.

Not every transform suits every task: the notes warn that horizontal flips and 180°
rotations change the class of characters ("b"/"d", "6"/"9"), so for digits use small
rotations, scalings, crops and noise, not flips.

Geometry (:func:`rotate_scale`): angles in degrees, positive = counter-clockwise as the image
is displayed (row 0 at the top), about the image centre ((H − 1)/2, (W − 1)/2); ``scale > 1``
enlarges the content. Each output pixel is read from the input at the inverse-mapped point
(nearest or bilinear); points outside the input read ``fill``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlcourse import _validate as V

__all__ = [
    "Compose", "RandomHorizontalFlip", "RandomCrop", "RandomRotation", "GaussianNoise",
    "rotate_scale",
]


def _images(name: str, x: object) -> np.ndarray:
    """A finite float array of shape (N, C, H, W)."""
    arr = V.as_float_array(name, x)
    if arr.ndim != 4:
        raise ValueError(f"{name}: expected images of shape (N, C, H, W), got shape {arr.shape}")
    return arr


def _pair(name: str, value: object) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1, as (h, w)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected an int or a pair (h, w), got {value!r}")
        return (V.check_int(name, value[0], minimum=1), V.check_int(name, value[1], minimum=1))
    v = V.check_int(name, value, minimum=1)
    return v, v


def _range(name: str, value: object, symmetric: bool) -> tuple[float, float]:
    """``d`` -> (−d, d) when ``symmetric``, or a pair (lo, hi) with lo <= hi."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected a pair (low, high), got {value!r}")
        lo, hi = (V._check_real(name, v) for v in value)
        if lo > hi:
            raise ValueError(f"{name}: expected low <= high, got {value!r}")
        return lo, hi
    if not symmetric:
        raise TypeError(f"{name}: expected a pair (low, high), got {value!r}")
    d = V.check_nonnegative(name, value)
    return -d, d


def _per_sample(name: str, value: object, n: int) -> np.ndarray:
    """A scalar or an (N,) array of floats, as float64 (N,)."""
    arr = V.as_float_array(name, value).astype(np.float64)
    if arr.shape not in ((), (n,)):
        raise ValueError(f"{name}: expected a scalar or one value per sample ({n},), "
                         f"got shape {arr.shape}")
    return np.broadcast_to(arr, (n,))


class Compose:
    """Apply ``transforms`` in order: ``Compose([t1, t2])(x) == t2(t1(x))``.

    Args:
        transforms: a sequence of callables ``t(xb) -> xb'``.
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]) -> None:
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Sequence):
            raise TypeError(f"transforms: expected a list of callables, got "
                            f"{type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}]: expected a callable, got {type(t).__name__}")
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class RandomHorizontalFlip:
    """Mirror each image left–right with probability ``p`` (independently per sample).

    Args:
        p: flip probability in [0, 1]. rng: Generator, seed or None.

    ``t(x)``: x (N, C, H, W) -> (N, C, H, W), sample n being ``x[n, :, :, ::-1]`` or ``x[n]``.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        self.p = V.check_probability("p", p)
        self.rng = V.as_rng(rng)

    def __call__(self, x: object) -> np.ndarray:
        arr = _images("x", x)
        flip = self.rng.random(arr.shape[0]) < self.p  # (N,)
        return np.where(flip[:, None, None, None], arr[..., ::-1], arr)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad each image by ``padding`` pixels of ``fill``, then cut a random ``size`` window.

    Args:
        size: output (h, w), an int or a pair; at most the padded size.
        padding: pixels added on every side (>= 0; CIFAR's usual recipe is 32 with padding 4,
            a random shift of up to 4 pixels).
        fill: value of the padded pixels.
        rng: Generator, seed or None.

    ``t(x)``: x (N, C, H, W) -> (N, C, h, w); sample n's window starts at a uniform offset
    (oy_n, ox_n) in [0, H + 2·padding − h] × [0, W + 2·padding − w].
    """

    def __init__(self, size: int | tuple[int, int], padding: int = 0, fill: float = 0.0,
                 rng: np.random.Generator | int | None = None) -> None:
        self.size = _pair("size", size)
        self.padding = V.check_int("padding", padding, minimum=0)
        self.fill = V._check_real("fill", fill)
        self.rng = V.as_rng(rng)

    def __call__(self, x: object) -> np.ndarray:
        arr = _images("x", x)
        N, C, H, W = arr.shape
        h, w = self.size
        p = self.padding
        if h > H + 2 * p or w > W + 2 * p:
            raise ValueError(
                f"x: RandomCrop(size={self.size}, padding={p}) needs images of at least "
                f"({h - 2 * p}, {w - 2 * p}) pixels, got (H, W) = ({H}, {W})"
            )
        if p:
            arr = np.pad(arr, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        oy = self.rng.integers(0, H + 2 * p - h + 1, size=N)
        ox = self.rng.integers(0, W + 2 * p - w + 1, size=N)
        windows = sliding_window_view(arr, (h, w), axis=(2, 3))  # (N, C, H', W', h, w), a view
        return windows[np.arange(N), :, oy, ox]  # (N, C, h, w), a copy

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, fill={self.fill})"


def rotate_scale(x: object, angle: object, scale: object = 1.0, *,
                 interpolation: str = "bilinear", fill: float = 0.0) -> np.ndarray:
    """Rotate each image by ``angle`` degrees (counter-clockwise) and scale it about its centre.

    Args:
        x: images (N, C, H, W).
        angle: degrees, a scalar or one per sample (N,).
        scale: factor > 0, a scalar or (N,); > 1 enlarges the content.
        interpolation: ``"bilinear"`` (weights of the 4 neighbours; exact for images that are
            affine functions of the pixel position) or ``"nearest"``.
        fill: value read outside the input image.

    Returns:
        (N, C, H, W) in x's dtype. Output pixel (i, j) at displayed coordinates
        (u, v) = (j − cx, cy − i) reads the input at (1/s)·R(−θ)(u, v), i.e. row
        cy − (−sinθ·u + cosθ·v)/s and column cx + (cosθ·u + sinθ·v)/s. A multiple of 90° on a
        square image with ``"nearest"`` equals ``np.rot90``.
    """
    arr = _images("x", x)
    N, C, H, W = arr.shape
    V.check_choice("interpolation", interpolation, ("bilinear", "nearest"))
    fill = V._check_real("fill", fill)
    theta = np.deg2rad(_per_sample("angle", angle, N))
    s = _per_sample("scale", scale, N)
    if np.any(s <= 0):
        raise ValueError(f"scale: expected factors > 0, got minimum {s.min():g}")
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    u = (np.arange(W) - cx)[None, None, :]  # (1, 1, W)
    v = (cy - np.arange(H))[None, :, None]  # (1, H, 1)
    cos, sin = (np.cos(theta) / s)[:, None, None], (np.sin(theta) / s)[:, None, None]
    src_i = cy - (-sin * u + cos * v)  # (N, H, W)
    src_j = cx + (cos * u + sin * v)
    xt = arr.transpose(0, 2, 3, 1)  # (N, H, W, C): gather whole pixels
    n = np.arange(N)[:, None, None]

    def read(ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
        """Pixels at integer (ii, jj) (N, H, W) -> (N, H, W, C); ``fill`` outside."""
        inside = (ii >= 0) & (ii < H) & (jj >= 0) & (jj < W)
        vals = xt[n, np.clip(ii, 0, H - 1), np.clip(jj, 0, W - 1)]
        return np.where(inside[..., None], vals, fill)

    if interpolation == "nearest":
        out = read(np.rint(src_i).astype(np.int64), np.rint(src_j).astype(np.int64))
    else:
        i0, j0 = np.floor(src_i), np.floor(src_j)
        di, dj = (src_i - i0)[..., None], (src_j - j0)[..., None]
        i0, j0 = i0.astype(np.int64), j0.astype(np.int64)
        out = ((1 - di) * (1 - dj) * read(i0, j0) + (1 - di) * dj * read(i0, j0 + 1)
               + di * (1 - dj) * read(i0 + 1, j0) + di * dj * read(i0 + 1, j0 + 1))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)).astype(arr.dtype, copy=False)


class RandomRotation:
    """Rotate (and optionally scale) each image by a random angle and factor.

    Args:
        degrees: d >= 0 for angles uniform in [−d, d], or a pair (low, high).
        scale: (low, high) with 0 < low <= high: factors uniform in it (default no scaling).
        interpolation, fill: as :func:`rotate_scale`.
        rng: Generator, seed or None.

    ``t(x)``: x (N, C, H, W) -> (N, C, H, W), one angle and factor per sample.
    """

    def __init__(self, degrees: float | tuple[float, float],
                 scale: tuple[float, float] = (1.0, 1.0), interpolation: str = "bilinear",
                 fill: float = 0.0, rng: np.random.Generator | int | None = None) -> None:
        self.degrees = _range("degrees", degrees, symmetric=True)
        self.scale = _range("scale", scale, symmetric=False)
        if self.scale[0] <= 0:
            raise ValueError(f"scale: expected factors > 0, got {scale!r}")
        V.check_choice("interpolation", interpolation, ("bilinear", "nearest"))
        self.interpolation = interpolation
        self.fill = V._check_real("fill", fill)
        self.rng = V.as_rng(rng)

    def __call__(self, x: object) -> np.ndarray:
        arr = _images("x", x)
        N = arr.shape[0]
        angle = self.rng.uniform(*self.degrees, size=N)
        scale = self.rng.uniform(*self.scale, size=N)
        return rotate_scale(arr, angle, scale, interpolation=self.interpolation, fill=self.fill)

    def __repr__(self) -> str:
        return (f"RandomRotation(degrees={self.degrees}, scale={self.scale}, "
                f"interpolation={self.interpolation!r})")


class GaussianNoise:
    """Add independent N(mean, std²) noise to every input value (noise injection).

    Args:
        std: standard deviation σ >= 0. mean: its mean (default 0).
        clip: None, or (low, high) to clip the result to (e.g. (0, 1) for pixel values).
        rng: Generator, seed or None.

    ``t(x)``: any (N, ...) -> same shape and dtype.
    """

    def __init__(self, std: float, mean: float = 0.0,
                 clip: tuple[float, float] | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        self.std = V.check_nonnegative("std", std)
        self.mean = V._check_real("mean", mean)
        self.clip = None if clip is None else _range("clip", clip, symmetric=False)
        self.rng = V.as_rng(rng)

    def __call__(self, x: object) -> np.ndarray:
        arr = V.as_float_array("x", x)
        if arr.ndim < 1:
            raise ValueError(f"x: expected a batch of shape (N, ...), got shape {arr.shape}")
        out = arr + self.rng.normal(self.mean, self.std, size=arr.shape).astype(arr.dtype)
        if self.clip is not None:
            out = np.clip(out, *self.clip)
        return out.astype(arr.dtype, copy=False)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std}, mean={self.mean}, clip={self.clip})"
