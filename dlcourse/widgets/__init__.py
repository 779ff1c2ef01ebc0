"""Interactive demos for the book (ipywidgets), each backed by a plain drawing function.

Every demo comes in two parts:

- a **drawing function** (``draw_activation``, ``draw_universal_approximation``) that needs only
  matplotlib and draws one figure for fixed arguments. The book calls it with the default
  values, so the static HTML page (where widgets cannot run: they need a kernel, and offline
  the widget JavaScript from a CDN is missing) still shows a figure;
- an **explorer** (``activation_explorer``, ``universal_approximation_explorer``) that returns an
  ipywidgets ``VBox`` of controls above an ``Output`` widget; changing a control calls the
  drawing function again and replaces the picture. This needs a running kernel (Binder or a
  local Jupyter).

The explorers draw on a ``matplotlib.figure.Figure`` that is not registered with pyplot and
put its PNG into the ``Output`` widget's ``outputs``, so they work the same in a kernel and in
a test, leave no open pyplot figures behind and never call ``plt.show``.

This is the presentation layer: nothing else in ``dlcourse`` imports it, and ``import dlcourse``
does not import matplotlib or ipywidgets. ipywidgets is imported only when an explorer is built.
"""

from dlcourse.widgets.activation import (
    ACTIVATION_PARAMETERS,
    ACTIVATIONS,
    activation_explorer,
    draw_activation,
)
from dlcourse.widgets.approximation import (
    UA_ACTIVATIONS,
    UniversalApproximationFit,
    draw_universal_approximation,
    fit_universal_approximation,
    plot_universal_approximation,
    universal_approximation_explorer,
)

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_PARAMETERS",
    "draw_activation",
    "activation_explorer",
    "UniversalApproximationFit",
    "fit_universal_approximation",
    "plot_universal_approximation",
    "draw_universal_approximation",
    "universal_approximation_explorer",
    "UA_ACTIVATIONS",
]
