"""Shared pieces of ``dlcourse.plot``: matplotlib import, axes helpers, colours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

try:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure  # noqa: F401  (re-exported to the plot modules)
    from matplotlib.ticker import MaxNLocator  # noqa: F401  (re-exported)
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dlcourse.plot needs matplotlib: pip install 'dlcourse[plot]'"
    ) from err


# plot_history: metric name -> suffix of the History monitor, y-axis label
_HISTORY_METRICS = {"loss": ("loss", "loss"), "accuracy": ("acc", "accuracy"),
                    "error": ("error", "error rate")}
_SPLITS = ("train", "val")
_SPLIT_LABELS = {"train": "train (running mean over the epoch)", "val": "validation"}

# light tints of matplotlib's default colours C0, C1, ..., used for decision regions
_REGION_COLORS = ("#cfe2f3", "#fce5cd", "#d9ead3", "#f4cccc", "#d9d2e9",
                  "#e6d8cf", "#f9d9ee", "#e0e0e0", "#ededc9", "#cdeff3")
_MARKERS = ("o", "x", "^", "s", "v", "D", "P", "*", "<", ">")


def _axes_list(ax: Axes | Sequence[Axes] | None, n: int, panel_size: tuple[float, float]
               ) -> list[Axes]:
    """``n`` axes: new ones side by side if ``ax`` is None, else the ones given."""
    if ax is None:
        _, axes = plt.subplots(1, n, figsize=(panel_size[0] * n, panel_size[1]), squeeze=False)
        return list(axes.ravel())
    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax: expected None or {n} matplotlib Axes (one per metric), got {ax!r}")
    return axes


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _fmt_label(value: object) -> str:
    """``2`` -> "2", ``-1.0`` -> "-1", ``0.5`` -> "0.5"."""
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
