"""The activation-function demo: ``draw_activation`` and ``activation_explorer``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from dlcourse import _validate as V
from dlcourse.nn.activation import ACTIVATIONS as REGISTRY
from dlcourse.widgets._common import _check_range, _new_axes, _show_in

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

#: activation name -> (f, f') taking ``(x, **params)``: a view of the registry
#: ``dlcourse.nn.ACTIVATIONS`` (learnable ones such as PReLU are left out: they need γ).
ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    name: (spec.f, spec.grad) for name, spec in REGISTRY.items() if not spec.learnable
}

#: Drawing defaults that differ from the registry's: LeakyReLU is drawn with slope 0.1 (not
#: the default 0.01) so that its negative part is visible.
_DRAWING_DEFAULTS: dict[str, float | str] = {"negative_slope": 0.1}

#: activation name -> (its parameter, the default used for drawing); parameter-free ones absent.
ACTIVATION_PARAMETERS: dict[str, tuple[str, float | str]] = {
    name: (param, _DRAWING_DEFAULTS.get(param, default))
    for name, spec in REGISTRY.items()
    if not spec.learnable
    for param, default in spec.params.items()
}


def _activation_params(
    name: str, negative_slope: float | None, alpha: float | None, beta: float | None,
    approximate: str | None,
) -> dict[str, float | str]:
    """Validate the parameters given for activation ``name``; return ``{param: value}``."""
    given = {
        "negative_slope": negative_slope,
        "alpha": alpha,
        "beta": beta,
        "approximate": approximate,
    }
    own = ACTIVATION_PARAMETERS.get(name)
    for param, value in given.items():
        if value is not None and (own is None or own[0] != param):
            owner = next(a for a, (p, _) in ACTIVATION_PARAMETERS.items() if p == param)
            raise ValueError(
                f"{param}: only applies to activation {owner!r}, got name={name!r}"
            )
    if own is None:
        return {}
    param, default = own
    value = given[param] if given[param] is not None else default
    if param == "approximate":
        V.check_choice("approximate", value, ("none", "tanh", "sigmoid"))
        return {param: value}
    return {param: V.check_nonnegative(param, value)}


def draw_activation(
    name: str = "swish",
    *,
    negative_slope: float | None = None,
    alpha: float | None = None,
    beta: float | None = None,
    approximate: str | None = None,
    x_range: tuple[float, float] = (-5.0, 5.0),
    ax: Axes | None = None,
) -> Axes:
    """Plot an activation f (solid, label ``"f(x)"``) and its derivative f' (dashed, ``"f'(x)"``).

    Args:
        name: one of ``ACTIVATIONS`` (the ``dlcourse.functional`` names).
        negative_slope: γ of ``leaky_relu`` (default 0.1 here, to make it visible), >= 0.
        alpha: γ of ``elu`` (default 1), >= 0.
        beta: β of ``swish`` (default 1), >= 0; 0 gives x/2, large β approaches ReLU.
        approximate: ``gelu``'s form: ``"none"`` (exact, default), ``"tanh"`` or ``"sigmoid"``.
        x_range: the interval ``(lo, hi)`` drawn, 1001 points.
        ax: axes to draw on; None creates a new pyplot figure (close it with
            ``plt.close(ax.figure)`` when it is not shown by a notebook).

    A parameter given for an activation that has no such parameter (e.g. ``beta`` with
    ``"relu"``) is a ``ValueError`` rather than silently ignored.

    Returns:
        The axes; ``ax.get_lines()[:2]`` are f and f' (then two unlabelled lines at 0).

    >>> import matplotlib.figure
    >>> ax = matplotlib.figure.Figure().add_subplot()
    >>> [line.get_label() for line in draw_activation("elu", alpha=0.5, ax=ax).get_lines()][:2]
    ['f(x)', "f'(x)"]
    """
    V.check_choice("name", name, list(ACTIVATIONS))
    params = _activation_params(name, negative_slope, alpha, beta, approximate)
    lo, hi = _check_range("x_range", x_range)
    ax = _new_axes(ax, (6.0, 3.6))

    f, df = ACTIVATIONS[name]
    xs = np.linspace(lo, hi, 1001)
    ax.plot(xs, f(xs, **params), label="f(x)")
    ax.plot(xs, df(xs, **params), "--", label="f'(x)")
    ax.axhline(0.0, color="gray", lw=0.5, zorder=0)
    ax.axvline(0.0, color="gray", lw=0.5, zorder=0)
    detail = ", ".join(
        f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" for k, v in params.items()
    )
    ax.set_title(f"{name} ({detail})" if detail else name)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x), f'(x)")
    ax.legend(loc="upper left")
    return ax


def activation_explorer(name: str = "swish") -> ipywidgets.VBox:
    """An activation dropdown, a slider or dropdown for its parameter, and the figure below.

    Controls (``description``): ``activation``, ``negative_slope``, ``alpha``, ``beta``,
    ``approximate``; only the parameter of the chosen activation is visible. Each change
    redraws with :func:`draw_activation`. Layout: ``VBox([controls (VBox), Output])``.
    """
    import ipywidgets as W

    V.check_choice("name", name, list(ACTIVATIONS))
    style = {"description_width": "110px"}
    choose = W.Dropdown(options=list(ACTIVATIONS), value=name, description="activation",
                        style=style)
    params: dict[str, W.ValueWidget] = {
        "negative_slope": W.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01,
                                        description="negative_slope", style=style),
        "alpha": W.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.1, description="alpha",
                               style=style),
        "beta": W.FloatSlider(value=1.0, min=0.0, max=10.0, step=0.1, description="beta",
                              style=style),
        "approximate": W.Dropdown(options=["none", "tanh", "sigmoid"], value="none",
                                  description="approximate", style=style),
    }
    out = W.Output(layout=W.Layout(min_height="370px"))

    def update(_change: object = None) -> None:
        own = ACTIVATION_PARAMETERS.get(choose.value)
        kwargs = {own[0]: params[own[0]].value} if own else {}
        for param, control in params.items():
            control.layout.display = None if own and own[0] == param else "none"

        def draw(ax: Axes) -> str:
            draw_activation(choose.value, ax=ax, **kwargs)
            return f"<activation {choose.value} {kwargs}>"

        _show_in(out, draw, (6.0, 3.6))

    for control in (choose, *params.values()):
        control.observe(update, names="value")
    update()
    return W.VBox([W.VBox([choose, *params.values()]), out])
