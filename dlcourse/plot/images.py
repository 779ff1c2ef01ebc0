"""Image grids and confusion matrices."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dlcourse._validate import (
    as_array,
    as_float_array,
    check_int,
    check_ndim,
    check_shape,
)
from dlcourse.plot._common import (
    Axes,
    Figure,
    _single_axes,
    plt,
)

# ---- images -----------------------------------------------------------------------------------


def _as_image_stack(images: object, image_shape: Sequence[int] | None) -> np.ndarray:
    """``(N, H, W)`` or ``(N, H, W, 3)`` view of ``images`` (see :func:`show_images`)."""
    x = as_float_array("images", images)
    check_ndim("images", x, (2, 3, 4), "(N, H*W), (N, H, W) or (N, C, H, W)")
    if x.shape[0] == 0:
        raise ValueError(f"images: expected at least one image, got shape {x.shape}")
    if image_shape is not None:
        shape = tuple(image_shape)
        if x.ndim != 2 or len(shape) != 2 or math.prod(shape) != x.shape[1]:
            raise ValueError(
                f"image_shape: expected (H, W) with H*W = D for flat images (N, D), "
                f"got {shape!r} for images of shape {x.shape}"
            )
        return x.reshape(x.shape[0], *shape)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(
                f"image_shape: required for flat images (N, D) whose D is not a square, "
                f"got images of shape {x.shape} and image_shape None"
            )
        return x.reshape(x.shape[0], side, side)
    if x.ndim == 4:
        if x.shape[1] == 1:
            return x[:, 0]
        if x.shape[1] == 3:
            return np.moveaxis(x, 1, -1)
        raise ValueError(
            f"images: expected 1 or 3 channels in (N, C, H, W), got shape {x.shape}"
        )
    return x


def show_images(
    images: object,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    *,
    image_shape: Sequence[int] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    figsize: tuple[float, float] | None = None,
    suptitle: str | None = None,
    title_fontsize: float | None = None,
) -> Figure:
    """A grid of images (MNIST digits, weight templates, filters), one panel per image.

    Args:
        images: ``(N, H, W)``; ``(N, 1, H, W)`` or ``(N, 3, H, W)`` (RGB, ``cmap`` ignored);
            or flat ``(N, H*W)``, reshaped with ``image_shape`` (default: square images).
        titles: N panel titles, or None.
        ncols: panels per row (fewer if N is smaller); the rows follow.
        cmap: colour map of single-channel images, e.g. ``"gray_r"`` for dark digits on
            white, ``"RdBu_r"`` with ``vmin=-vmax`` for signed weights.
        image_shape: ``(H, W)`` of flat images.
        vmin, vmax: colour scale shared by all panels; default: each image its own range.
        figsize: default ``(1.25 * ncols, 1.4 * nrows)`` inches.
        suptitle: title of the whole figure.
        title_fontsize: font size of the panel titles.

    Returns:
        The Figure (its axes are switched off; the layout is tightened).

    Example:
        >>> fig = show_images(np.zeros((3, 28 * 28), dtype=np.float32), ncols=2)
        >>> len(fig.axes), len([a for a in fig.axes if a.images])
        (4, 3)
        >>> plt.close(fig)
    """
    stack = _as_image_stack(images, image_shape)
    N = stack.shape[0]
    if titles is not None:
        titles = list(titles)
        if len(titles) != N:
            raise ValueError(f"titles: expected {N} titles (one per image), got {len(titles)}")
    ncols = min(check_int("ncols", ncols, minimum=1), N)
    nrows = math.ceil(N / ncols)
    if figsize is None:
        figsize = (1.25 * ncols, 1.4 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= N:
            continue
        ax.imshow(stack[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            style = {} if title_fontsize is None else {"fontsize": title_fontsize}
            ax.set_title(titles[i], **style)                    # default: axes.titlesize
    if suptitle is not None:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


# ---- confusion matrix -------------------------------------------------------------------------


def plot_confusion_matrix(
    cm: object,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    normalize: bool = False,
    *,
    cmap: str = "Blues",
    colorbar: bool = True,
    hide_zeros: bool = False,
    fontsize: float | None = None,
) -> Axes:
    """Heat map of a confusion matrix with the count written in every cell.

    Rows are true classes, columns predicted classes, as returned by
    :func:`dlcourse.metrics.confusion_matrix`. A cell's text is white where the cell is
    darker than half the maximum, black elsewhere.

    Args:
        cm: ``(C, C)`` counts (non-negative).
        class_names: C tick labels; default ``"0", ..., "C-1"``.
        ax: the Axes to draw on; default a new figure.
        normalize: divide each row by its sum (the fraction of class i predicted as j;
            an empty row stays 0) and write the fractions with two decimals.
        cmap: colour map.
        colorbar: add a colour bar next to the matrix.
        hide_zeros: leave cells with value 0 blank (helps with 10 or more classes).
        fontsize: font size of the cell texts (default: matplotlib's).

    Returns:
        The Axes, labelled ``predicted class`` (x) and ``true class`` (y).
    """
    m = as_array("cm", cm)
    check_ndim("cm", m, 2, "(C, C)")
    C = m.shape[0]
    check_shape("cm", m, (C, C))
    if C == 0:
        raise ValueError(f"cm: expected at least one class, got shape {m.shape}")
    if not np.all(np.isfinite(m)) or m.min() < 0:
        raise ValueError("cm: expected finite counts >= 0")
    names = [str(i) for i in range(C)] if class_names is None else [str(n) for n in class_names]
    if len(names) != C:
        raise ValueError(f"class_names: expected {C} names (one per class), got {len(names)}")
    ax = _single_axes(ax, (0.5 * C + 2.5, 0.5 * C + 2))
    if normalize:
        rows = m.sum(axis=1, keepdims=True).astype(np.float64)
        values = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
        text = [[f"{v:.2f}" for v in row] for row in values]
        im = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=1.0)
    else:
        values = m
        integral = np.all(m == np.round(m))
        text = [[f"{v:.0f}" if integral else f"{v:.2f}" for v in row] for row in values]
        im = ax.imshow(values, cmap=cmap)
    half = values.max() / 2
    for i in range(C):
        for j in range(C):
            if hide_zeros and values[i, j] == 0:
                continue
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=fontsize,
                    color="white" if values[i, j] > half else "black")
    ax.set_xticks(range(C), names)
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if colorbar:
        ax.figure.colorbar(im, ax=ax)
    return ax
