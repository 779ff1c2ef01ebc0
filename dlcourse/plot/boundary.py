"""Decision regions and boundaries of classifiers on 2-D inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlcourse._validate import (
    as_array,
    as_float_array,
    check_int,
    check_ndim,
    check_nonnegative,
    check_shape,
)
from dlcourse.plot._common import (
    _MARKERS,
    _REGION_COLORS,
    Axes,
    _fmt_label,
    _single_axes,
)

# ---- decision regions of 2-D classifiers ------------------------------------------------------


def _check_limits(name: str, lim: object) -> tuple[float, float]:
    arr = as_float_array(name, lim)
    if arr.shape != (2,) or not arr[0] < arr[1]:
        raise ValueError(f"{name}: expected (low, high) with low < high, got {lim!r}")
    return float(arr[0]), float(arr[1])


def decision_regions(
    predict_fn: Callable[[np.ndarray], object],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    resolution: int = 200,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate a classifier on a ``resolution x resolution`` grid of the plane.

    Args:
        predict_fn: maps points ``(M, 2)`` (float64) to class labels ``(M,)``, binary scores
            ``(M,)`` or ``(M, 1)``, or class scores ``(M, C)``.
        xlim, ylim: ``(low, high)`` of the grid along x1 and x2.
        resolution: R, grid points per axis (>= 2).

    Returns:
        ``xx``, ``yy``: grid coordinates, (R, R) each (``np.meshgrid`` layout: row = x2);
        ``out``: ``predict_fn``'s output on the grid, (R, R) or (R, R, C).

    Example:
        >>> xx, yy, out = decision_regions(lambda p: p[:, 0] - p[:, 1], (-1, 1), (-1, 1), 5)
        >>> xx.shape, out.shape, float(out[0, -1])   # x1 = 1, x2 = -1
        ((5, 5), (5, 5), 2.0)
    """
    if not callable(predict_fn):
        raise TypeError(f"predict_fn: expected a callable, got {type(predict_fn).__name__}")
    x_lo, x_hi = _check_limits("xlim", xlim)
    y_lo, y_hi = _check_limits("ylim", ylim)
    R = check_int("resolution", resolution, minimum=2)
    xx, yy = np.meshgrid(np.linspace(x_lo, x_hi, R), np.linspace(y_lo, y_hi, R))
    points = np.column_stack([xx.ravel(), yy.ravel()])
    out = as_array("predict_fn", predict_fn(points))
    M = R * R
    if out.ndim == 2 and out.shape[0] == M and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape[:1] != (M,) or out.ndim not in (1, 2):
        raise ValueError(
            f"predict_fn: expected an output of shape ({M},) or ({M}, C) for {M} grid points, "
            f"got {out.shape}"
        )
    if not np.all(np.isfinite(out)):
        raise ValueError("predict_fn: expected finite outputs, found NaN or infinity")
    return xx, yy, out.reshape(R, R, *out.shape[1:])


def plot_decision_boundary(
    predict_fn: Callable[[np.ndarray], object],
    X: object,
    y: object,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.5,
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    margins: bool = False,
    region_colors: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
    markers: Sequence[str] | None = None,
    class_labels: Sequence[str] | None = None,
    point_size: float = 10,
) -> Axes:
    """Colour the plane by a classifier's prediction and scatter the data on top.

    What ``predict_fn`` returns on points ``(M, 2)`` decides how a point's class is read:

    - integer or bool labels ``(M,)``: the label itself;
    - class scores ``(M, C)`` with C >= 2: the arg-max (class 0, ..., C-1);
    - float scores ``(M,)`` or ``(M, 1)`` of a binary classifier: the larger label of ``y``
      where the score is >= 0, the smaller one elsewhere (works for {0, 1} and {-1, 1}).
      The boundary ``score = 0`` is drawn as a black line, and ``margins=True`` adds the
      dashed lines ``score = ±1`` (the SVM's margins).

    Classes are the sorted labels of ``y`` and of the predictions; the i-th class gets
    ``region_colors[i]``, ``colors[i]``, ``markers[i]`` and ``class_labels[i]``.

    Args:
        predict_fn: the classifier, see above.
        X: data points, (N, 2).
        y: their labels, (N,).
        ax: the Axes to draw on; default a new figure.
        resolution: grid points per axis (see :func:`decision_regions`).
        padding: margin around the data when ``xlim``/``ylim`` are not given.
        xlim, ylim: ``(low, high)`` of the coloured area.
        margins: draw ``score = ±1`` (binary scores only).
        region_colors: fill colour per class; default light tints of C0, C1, ...
        colors: point colour per class; default ``"C0"``, ``"C1"``, ...
        markers: point marker per class; default ``"o"``, ``"x"``, ``"^"``, ...
        class_labels: legend entry per class; default ``"class <label>"``.
        point_size: scatter marker size.

    Returns:
        The Axes, labelled ``x1`` and ``x2`` (call ``ax.legend()`` to show the classes).
    """
    X = as_float_array("X", X)
    check_ndim("X", X, 2, "(N, 2)")
    check_shape("X", X, (None, 2))
    N = X.shape[0]
    if N == 0:
        raise ValueError(f"X: expected at least one point, got shape {X.shape}")
    y = as_array("y", y)
    check_shape("y", y, (N,))
    padding = check_nonnegative("padding", padding)
    if xlim is None:
        xlim = (X[:, 0].min() - padding, X[:, 0].max() + padding)
    if ylim is None:
        ylim = (X[:, 1].min() - padding, X[:, 1].max() + padding)
    xx, yy, out = decision_regions(predict_fn, xlim, ylim, resolution)

    y_classes = np.unique(y)
    scores = None
    if out.ndim == 3:
        pred = out.argmax(axis=-1)
    elif np.issubdtype(out.dtype, np.integer) or np.issubdtype(out.dtype, np.bool_):
        pred = out.astype(np.int64) if out.dtype == np.bool_ else out
    else:
        if len(y_classes) != 2:
            raise ValueError(
                "y: binary scores from predict_fn need exactly 2 classes in y, "
                f"got {len(y_classes)} ({y_classes.tolist()})"
            )
        scores = out
        pred = np.where(scores >= 0, y_classes[1], y_classes[0])
    if margins and scores is None:
        raise ValueError("margins: only for a predict_fn that returns binary scores (M,)")
    classes = np.union1d(y_classes, np.unique(pred))
    K = len(classes)

    def per_class(name: str, given: Sequence[str] | None, default: Sequence[str]) -> list[str]:
        if given is None:
            return [default[k % len(default)] for k in range(K)]
        given = list(given)
        if len(given) < K:
            raise ValueError(f"{name}: expected {K} entries (one per class), got {len(given)}")
        return given

    fills = per_class("region_colors", region_colors, _REGION_COLORS)
    point_colors = per_class("colors", colors, [f"C{k}" for k in range(10)])
    point_markers = per_class("markers", markers, _MARKERS)
    labels = per_class("class_labels", class_labels,
                       [f"class {_fmt_label(c)}" for c in classes])

    ax = _single_axes(ax, (6.0, 5.0))
    region = np.searchsorted(classes, pred)                      # (R, R) class positions
    ax.contourf(xx, yy, region, levels=np.arange(K + 1) - 0.5, colors=fills[:K])
    if scores is not None:
        lo, hi = scores.min(), scores.max()
        if lo < 0.0 < hi:
            ax.contour(xx, yy, scores, levels=[0.0], colors="k", linewidths=1.5)
        lines = [v for v in (-1.0, 1.0) if lo < v < hi] if margins else []
        if lines:
            ax.contour(xx, yy, scores, levels=lines, colors="k", linewidths=0.8,
                       linestyles="--")
    for k, c in enumerate(classes):
        mask = y == c
        if np.any(mask):
            ax.scatter(X[mask, 0], X[mask, 1], s=point_size, color=point_colors[k],
                       marker=point_markers[k], label=labels[k])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return ax
