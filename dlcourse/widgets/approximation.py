"""The universal-approximation demo: fit a 1-hidden-layer network, draw it, explore H."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes

from dlcourse import _validate as V
from dlcourse.losses import MSELoss
from dlcourse.models.mlp import MLP
from dlcourse.nn.activation import ACTIVATIONS
from dlcourse.optim import Adam
from dlcourse.optim.schedules import CosineDecay
from dlcourse.widgets._common import _check_range, _new_axes, _show_in

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

#: hidden-layer activations offered by the universal-approximation explorer.
UA_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")


@dataclass
class UniversalApproximationFit:
    """Result of :func:`fit_universal_approximation` (all 1-D arrays).

    Attributes:
        x_train, y_train: the ``n_points`` training inputs and targets.
        x, y_target, y_pred: a fine grid (1001 points) over the same interval, the target and
            the trained network's prediction on it.
        mse: mean squared error ``mean((y_pred - y_target)**2)`` on the fine grid.
        hidden_units: H of the ``1 -> H -> 1`` network.
        activation: its hidden-layer activation.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x: np.ndarray
    y_target: np.ndarray
    y_pred: np.ndarray
    mse: float
    hidden_units: int
    activation: str


def _evaluate_target(target: Callable[[np.ndarray], object], x: np.ndarray) -> np.ndarray:
    if not callable(target):
        raise TypeError(f"target: expected a callable f(x) -> y, got {type(target).__name__}")
    y = np.asarray(target(x), dtype=float)
    if y.shape != x.shape:
        raise ValueError(
            f"target: expected f(x) to return an array of the input's shape {x.shape}, "
            f"got shape {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("target: expected finite values on x_range, got NaN or infinity")
    return y


def fit_universal_approximation(
    hidden_units: int,
    target: Callable[[np.ndarray], object] = np.sin,
    *,
    activation: str = "tanh",
    x_range: tuple[float, float] = (-math.pi, math.pi),
    n_points: int = 128,
    steps: int = 1000,
    lr: float = 0.1,
    rng: np.random.Generator | int | None = 0,
) -> UniversalApproximationFit:
    """Train a ``1 -> H -> 1`` MLP (Eq. (ff-uat) of the book) to fit ``target`` on ``x_range``.

    Full-batch Adam on the squared loss (``MSELoss``) with the learning rate decayed from
    ``lr`` to 0 along a cosine; the first layer's weights and biases are drawn from
    U(-3, 3) so that the hidden units' centres -b/w spread over the interval (as in the
    chapter's notebook). The network works in float32 (numpy's tanh is several times faster
    than in float64); about 0.5 s for H = 64 and the default 1000 steps.

    Args:
        hidden_units: H >= 1.
        target: vectorised f(x) for a 1-D array x, returning an array of the same shape.
        activation: hidden-layer activation, a name of the registry ``dlcourse.nn.ACTIVATIONS``.
        x_range: the interval ``(lo, hi)``.
        n_points: number of evenly spaced training points (>= 2).
        steps: number of gradient steps (>= 1).
        lr: initial learning rate (> 0).
        rng: Generator, seed or None (the same seed gives the same fit).
    """
    H = V.check_int("hidden_units", hidden_units, minimum=1)
    V.check_choice("activation", activation, list(ACTIVATIONS))
    lo, hi = _check_range("x_range", x_range)
    n = V.check_int("n_points", n_points, minimum=2)
    n_steps = V.check_int("steps", steps, minimum=1)
    lr0 = V.check_positive("lr", lr)
    gen = V.as_rng(rng)

    x_train = np.linspace(lo, hi, n)
    y_train = _evaluate_target(target, x_train)
    x = np.linspace(lo, hi, 1001)
    y_target = _evaluate_target(target, x)

    net = MLP([1, H, 1], activation=activation, rng=gen, dtype=np.float32)
    net[0].W.data[...] = gen.uniform(-3.0, 3.0, size=(1, H))
    net[0].b.data[...] = gen.uniform(-3.0, 3.0, size=H)
    opt = Adam(net.parameters(), lr=lr0)
    opt.schedule = CosineDecay(lr0, n_steps)
    loss_fn = MSELoss()
    xb = x_train[:, None].astype(np.float32)
    yb = y_train[:, None].astype(np.float32)
    for _ in range(n_steps):
        opt.zero_grad()
        loss_fn(net(xb), yb)
        net.backward(loss_fn.backward())
        opt.step()
    y_pred = net(x[:, None].astype(np.float32)).ravel().astype(np.float64)
    mse = float(np.mean((y_pred - y_target) ** 2))
    return UniversalApproximationFit(x_train, y_train, x, y_target, y_pred, mse, H, activation)


def plot_universal_approximation(
    fit: UniversalApproximationFit, *, ax: Axes | None = None
) -> Axes:
    """Plot a :class:`UniversalApproximationFit`: target, network and training points.

    Lines (labels): ``"target f(x)"`` (solid black) and ``"network, H = ..."`` (dashed); the
    training points are a scatter (``"training points"``). The title gives H, the activation
    and the MSE. ``ax=None`` creates a new pyplot figure.
    """
    if not isinstance(fit, UniversalApproximationFit):
        raise TypeError(
            f"fit: expected a UniversalApproximationFit, got {type(fit).__name__}"
        )
    ax = _new_axes(ax, (7.0, 3.6))
    ax.plot(fit.x, fit.y_target, "k", lw=2, label="target f(x)")
    ax.plot(fit.x, fit.y_pred, "--", color="C1", lw=2, label=f"network, H = {fit.hidden_units}")
    ax.scatter(fit.x_train, fit.y_train, s=6, color="C0", alpha=0.5, label="training points")
    ax.set_title(f"1 -> {fit.hidden_units} -> 1 {fit.activation} network, MSE = {fit.mse:.2e}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def draw_universal_approximation(
    hidden_units: int,
    target: Callable[[np.ndarray], object] = np.sin,
    *,
    activation: str = "tanh",
    steps: int = 1000,
    rng: np.random.Generator | int | None = 0,
    ax: Axes | None = None,
    **fit_kwargs: Any,
) -> Axes:
    """:func:`fit_universal_approximation` followed by :func:`plot_universal_approximation`.

    ``fit_kwargs`` go to :func:`fit_universal_approximation` (``x_range``, ``n_points``, ``lr``).
    ``ax=None`` creates a new pyplot figure. Returns the axes.
    """
    fit = fit_universal_approximation(
        hidden_units, target, activation=activation, steps=steps, rng=rng, **fit_kwargs
    )
    return plot_universal_approximation(fit, ax=ax)


def universal_approximation_explorer(
    target: Callable[[np.ndarray], object] = np.sin,
    *,
    hidden_units: int = 8,
    max_hidden_units: int = 64,
    activation: str = "tanh",
    steps: int = 1000,
) -> ipywidgets.VBox:
    """A hidden-units slider and an activation dropdown above the fitted curve.

    Controls (``description``): ``hidden units`` (1 .. ``max_hidden_units``, redraws on
    release) and ``activation`` (``UA_ACTIVATIONS``). Each change retrains the network with
    :func:`draw_universal_approximation` (well under a second for H <= 64).
    Layout: ``VBox([controls (HBox), Output])``.
    """
    import ipywidgets as W

    top = V.check_int("max_hidden_units", max_hidden_units, minimum=1)
    H = V.check_int("hidden_units", hidden_units, minimum=1)
    if H > top:
        raise ValueError(f"hidden_units: expected a value <= max_hidden_units={top}, got {H}")
    V.check_choice("activation", activation, list(UA_ACTIVATIONS))
    n_steps = V.check_int("steps", steps, minimum=1)
    _evaluate_target(target, np.linspace(-math.pi, math.pi, 5))  # fail now, not in a callback

    units = W.IntSlider(value=H, min=1, max=top, step=1, description="hidden units",
                        continuous_update=False)
    act = W.Dropdown(options=list(UA_ACTIVATIONS), value=activation, description="activation")
    out = W.Output(layout=W.Layout(min_height="370px"))

    def update(_change: object = None) -> None:
        def draw(ax: Axes) -> str:
            draw_universal_approximation(units.value, target, activation=act.value,
                                         steps=n_steps, ax=ax)
            return f"<universal approximation H={units.value} {act.value}>"

        _show_in(out, draw, (7.0, 3.6))

    units.observe(update, names="value")
    act.observe(update, names="value")
    update()
    return W.VBox([W.HBox([units, act]), out])
