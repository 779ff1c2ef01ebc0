"""Shared helpers of ``dlcourse.widgets``: argument checks, axes, PNG output widgets."""

from __future__ import annotations

import base64
import io
import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets


def _check_range(name: str, value: object) -> tuple[float, float]:
    """Require a pair ``(lo, hi)`` of finite real numbers with ``lo < hi``."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name}: expected a pair (lo, hi) of real numbers, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name}: expected finite numbers with lo < hi, got {value!r}")
    return lo, hi


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new pyplot figure (shown inline in a notebook)."""
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax


def _png_output(fig: Figure, text: str) -> dict[str, Any]:
    """A Jupyter ``display_data`` output holding ``fig`` as PNG (for ``Output.outputs``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return {
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
            "text/plain": text,
        },
        "metadata": {},
    }


def _show_in(
    out: ipywidgets.Output, draw: Callable[[Axes], str], figsize: tuple[float, float]
) -> None:
    """Draw on a fresh (non-pyplot) figure and make its PNG the only content of ``out``."""
    fig = Figure(figsize=figsize, layout="tight")
    text = draw(fig.add_subplot())
    out.outputs = (_png_output(fig, text),)
