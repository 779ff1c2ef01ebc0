"""Figures the book draws again and again: training curves, image grids, confusion matrices,
decision regions of 2-D classifiers and per-layer gradient norms.

Every function draws on an ``Axes`` it is given (or makes a new figure) and returns what it
drew on, so a notebook can still change a title or a label afterwards. Nothing here calls
``plt.show()`` or edits matplotlib's global settings (``rcParams``), and no input array is
modified.

matplotlib is an optional dependency (``pip install dlcourse[plot]``): ``import dlcourse``
does not import it, only ``import dlcourse.plot`` (or ``dlcourse.plot``) does. This module is
the presentation layer; no other module of the package imports it.

Shapes: ``N`` samples, ``H``/``W`` image height/width, ``C`` classes or channels, ``R`` grid
resolution, ``L`` layers.
"""

from dlcourse.plot.boundary import decision_regions, plot_decision_boundary
from dlcourse.plot.curves import plot_history, plot_layer_norms
from dlcourse.plot.images import plot_confusion_matrix, show_images

__all__ = [
    "plot_history",
    "show_images",
    "plot_confusion_matrix",
    "decision_regions",
    "plot_decision_boundary",
    "plot_layer_norms",
]
