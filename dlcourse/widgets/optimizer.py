"""The optimiser explorer: 2-D trajectories of the ``dlcourse.optim`` rules on a quadratic.

The problem is the ill-conditioned quadratic of experiment 5.6.1,
``f(x) = 0.1 x1² + 2 x2²`` (Hessian eigenvalues 0.2 and 4), started at (−5, −2). Every rule
runs as the package runs it: one :class:`~dlcourse.nn.Parameter` holding ``(x1, x2)``, its
gradient written into ``p.grad``, then ``opt.step()``. The book's page:
``book/03_optimization/04_adaptive_optimizers.ipynb``.

- :func:`optimizer_trajectory` (pure, no matplotlib figure) returns the path, shape
  ``(steps + 1, 2)``;
- :func:`draw_optimizer_trajectory` draws it over the contours of f;
- :func:`optimizer_explorer` puts a learning-rate slider, a momentum slider and an optimiser
  dropdown above the drawing (ipywidgets, needs a kernel).

The one "momentum" control means, per rule (``MOMENTUM_MEANING``): SGD's and Nesterov's
momentum ρ, RMSProp's momentum μ (alg. 5.4's velocity without the look-ahead), Adam's β1 (the
momentum half of Adam: β1 = 0 leaves RMSProp with bias correction); AdaGrad and AdaDelta have
none and ignore it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from dlcourse import _validate as V
from dlcourse.nn.module import Parameter
from dlcourse.optim import SGD, AdaDelta, AdaGrad, Adam, Optimizer, RMSProp
from dlcourse.widgets._common import _new_axes, _show_in

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

#: the rules offered, in the order of the chapter.
OPTIMIZERS: tuple[str, ...] = ("SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam")

#: what the momentum argument sets for each rule (None: the rule has no momentum).
MOMENTUM_MEANING: dict[str, str | None] = {
    "SGD": "momentum ρ (heavy ball, 5.40)",
    "Nesterov": "momentum ρ (Nesterov look-ahead)",
    "AdaGrad": None,
    "RMSProp": "momentum μ",
    "AdaDelta": None,
    "Adam": "β1",
}

#: the quadratic of experiment 5.6.1: f(x) = a1 x1² + a2 x2² with (a1, a2) = COEFFS.
COEFFS: tuple[float, float] = (0.1, 2.0)
#: the starting point of experiment 5.6.1.
START: tuple[float, float] = (-5.0, -2.0)


def _check_pair(name: str, value: object, *, positive: bool = False) -> np.ndarray:
    """A pair of finite real numbers (each > 0 if ``positive``) as a float64 array of shape (2,)."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name}: expected a pair of real numbers, got {value!r}")
    out = np.array([float(v) for v in value])
    if not np.all(np.isfinite(out)) or (positive and not np.all(out > 0)):
        kind = "positive finite" if positive else "finite"
        raise ValueError(f"{name}: expected two {kind} numbers, got {value!r}")
    return out


def quadratic_loss(x: np.ndarray, coeffs: Sequence[float] = COEFFS) -> np.ndarray:
    """``f(x) = a1 x1² + a2 x2²`` for points ``x`` of shape ``(..., 2)``; returns ``(...)``."""
    a = _check_pair("coeffs", coeffs, positive=True)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"x: expected shape (..., 2), got {x.shape}")
    return a[0] * x[..., 0] ** 2 + a[1] * x[..., 1] ** 2


def quadratic_grad(x: np.ndarray, coeffs: Sequence[float] = COEFFS) -> np.ndarray:
    """``∇f(x) = (2 a1 x1, 2 a2 x2)`` for points ``x`` of shape ``(..., 2)`` (same shape out)."""
    a = _check_pair("coeffs", coeffs, positive=True)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"x: expected shape (..., 2), got {x.shape}")
    return 2.0 * a * x


def make_optimizer(
    optimizer: str, params: Sequence[Parameter], lr: float, momentum: float = 0.0
) -> Optimizer:
    """Build the rule named ``optimizer`` (one of ``OPTIMIZERS``) on ``params``.

    ``"SGD"`` is ``SGD(lr, momentum=ρ)``; ``"Nesterov"`` is ``SGD(lr, momentum=ρ,
    nesterov=True)`` (plain SGD when ρ = 0, where the two coincide); ``"RMSProp"`` is
    ``RMSProp(lr, momentum=μ)`` (ρ = 0.9, δ = 1e-6); ``"Adam"`` is ``Adam(lr, betas=(β1,
    0.999))`` with β1 = ``momentum`` in [0, 1). ``"AdaGrad"`` and ``"AdaDelta"`` (whose ``lr``
    only scales Δ) have no momentum and ignore it, so one set of controls serves every rule.

    Raises:
        ValueError: an unknown ``optimizer``, ``lr <= 0``, ``momentum < 0``, or ``momentum >= 1``
            for Adam.
    """
    V.check_choice("optimizer", optimizer, list(OPTIMIZERS))
    lr = V.check_positive("lr", lr)
    momentum = V.check_nonnegative("momentum", momentum)
    if optimizer == "SGD":
        return SGD(params, lr=lr, momentum=momentum)
    if optimizer == "Nesterov":
        return SGD(params, lr=lr, momentum=momentum, nesterov=momentum > 0)
    if optimizer == "AdaGrad":
        return AdaGrad(params, lr=lr)
    if optimizer == "RMSProp":
        return RMSProp(params, lr=lr, momentum=momentum)
    if optimizer == "AdaDelta":
        return AdaDelta(params, lr=lr)
    if momentum >= 1:
        raise ValueError(f"momentum: for Adam it is β1, expected a value in [0, 1), got {momentum}")
    return Adam(params, lr=lr, betas=(momentum, 0.999))


def optimizer_trajectory(
    optimizer: str = "SGD",
    lr: float = 0.4,
    momentum: float = 0.5,
    *,
    steps: int = 20,
    start: Sequence[float] = START,
    coeffs: Sequence[float] = COEFFS,
) -> np.ndarray:
    """Run ``steps`` updates of a ``dlcourse.optim`` rule on ``f = a1 x1² + a2 x2²``.

    Args:
        optimizer: one of ``OPTIMIZERS`` (see :func:`make_optimizer`).
        lr: the learning rate α > 0.
        momentum: ρ, μ or β1 depending on the rule (``MOMENTUM_MEANING``), >= 0.
        steps: the number of updates, an int >= 1.
        start: the starting point (x1, x2).
        coeffs: (a1, a2), both > 0; the default is experiment 5.6.1's (0.1, 2).

    Returns:
        The points visited, shape ``(steps + 1, 2)``, float64; row 0 is ``start``. A run that
        diverges keeps going (rows may grow huge or become inf).

    The defaults are experiment 5.6.1's momentum run, which ends at (−0.062843, 0.001202).
    """
    n = V.check_int("steps", steps, minimum=1)
    x0 = _check_pair("start", start)
    a = _check_pair("coeffs", coeffs, positive=True)
    p = Parameter(x0.copy())
    opt = make_optimizer(optimizer, [p], lr, momentum)
    path = np.empty((n + 1, 2))
    path[0] = x0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, n + 1):
            opt.zero_grad()
            p.grad[...] = 2.0 * a * p.data                # ∇f
            opt.step()
            path[t] = p.data
    return path


def draw_optimizer_trajectory(
    optimizer: str = "SGD",
    lr: float = 0.4,
    momentum: float = 0.5,
    *,
    steps: int = 20,
    reference: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Contours of ``f = 0.1 x1² + 2 x2²`` with the path of :func:`optimizer_trajectory`.

    Lines (labels): the path (``optimizer``, circles) and, if ``reference``, plain gradient
    descent with the same learning rate (``"GD, same lr"``, grey, dashed; drawn only until it
    leaves the window, then labelled ``"GD, same lr (leaves the window)"``); a star marks the
    minimum (0, 0). The window is fixed (x1 in [−5.5, 1.5], x2 in [−3, 3]) so that runs are
    comparable. The title's first line gives the settings; its second line the final point and
    f there, and says so if the path leaves the window. ``ax=None`` creates a new pyplot
    figure. Returns the axes.
    """
    path = optimizer_trajectory(optimizer, lr, momentum, steps=steps)
    reference = V.check_bool("reference", reference)
    ax = _new_axes(ax, (7.0, 4.0))
    g1, g2 = np.meshgrid(np.linspace(-5.5, 1.5, 241), np.linspace(-3.0, 3.0, 161))
    grid = np.stack([g1, g2], axis=-1)
    ax.contour(g1, g2, quadratic_loss(grid), levels=[0.05, 0.2, 0.5, 1, 2, 3, 5, 8, 12],
               colors="0.75", linewidths=0.8)
    if reference:
        gd = optimizer_trajectory("SGD", lr, 0.0, steps=steps)
        out = np.flatnonzero(np.any(np.abs(gd) > [5.5, 3.0], axis=1))
        label = "GD, same lr"
        if out.size:  # draw a diverging reference only until it leaves the window
            gd, label = gd[: out[0] + 1], "GD, same lr (leaves the window)"
        ax.plot(gd[:, 0], gd[:, 1], "--", color="0.45", lw=1, label=label)
    ax.plot(path[:, 0], path[:, 1], "-o", color="C1", markersize=3, label=optimizer)
    ax.plot([0.0], [0.0], "*", color="k", markersize=10)
    ax.set_xlim(-5.5, 1.5)
    ax.set_ylim(-3.0, 3.0)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    end = path[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        f_end = float(quadratic_loss(end)) if np.all(np.isfinite(end)) else math.inf
    inside = bool(np.all(np.abs(path) <= [5.5, 3.0]))
    where = f"end ({end[0]:.3g}, {end[1]:.3g}), f = {f_end:.3g}" + (
        "" if inside else ", leaves the window"
    )
    meaning = MOMENTUM_MEANING[optimizer]
    knob = f", {meaning.split(' (')[0]} = {momentum:g}" if meaning else ""
    ax.set_title(f"{optimizer}, lr = {lr:g}{knob}, {steps} steps\n{where}", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def optimizer_explorer(
    optimizer: str = "SGD", lr: float = 0.4, momentum: float = 0.5, steps: int = 20
) -> ipywidgets.VBox:
    """An optimiser dropdown and learning-rate, momentum and steps sliders above the trajectory.

    Controls (``description``): ``optimizer`` (``OPTIMIZERS``), ``learning rate`` (0.01–2),
    ``momentum`` (0–0.99; disabled for AdaGrad and AdaDelta, which have none), ``steps``
    (5–200). Each change redraws with :func:`draw_optimizer_trajectory`.
    Layout: ``VBox([controls (VBox), Output])``.
    """
    import ipywidgets as W

    # fail here, not inside a callback
    draw_optimizer_trajectory(optimizer, lr, momentum, steps=steps,
                              ax=_scratch_axes())
    style = {"description_width": "100px"}
    choose = W.Dropdown(options=list(OPTIMIZERS), value=optimizer, description="optimizer",
                        style=style)
    common = {"continuous_update": False, "style": style}
    rate = W.FloatSlider(value=lr, min=min(0.01, lr), max=max(2.0, lr), step=0.01,
                         description="learning rate", **common)
    mom = W.FloatSlider(value=momentum, min=0.0, max=max(0.99, momentum), step=0.01,
                        description="momentum", **common)
    n_steps = W.IntSlider(value=steps, min=min(5, steps), max=max(200, steps), step=5,
                          description="steps", **common)
    out = W.Output(layout=W.Layout(min_height="400px"))

    def update(_change: object = None) -> None:
        mom.disabled = MOMENTUM_MEANING[choose.value] is None

        def draw(ax: Axes) -> str:
            draw_optimizer_trajectory(choose.value, rate.value, mom.value, steps=n_steps.value,
                                      ax=ax)
            return f"<{choose.value} lr={rate.value} momentum={mom.value} steps={n_steps.value}>"

        _show_in(out, draw, (7.0, 4.0))

    for control in (choose, rate, mom, n_steps):
        control.observe(update, names="value")
    update()
    return W.VBox([W.VBox([choose, rate, mom, n_steps]), out])


def _scratch_axes() -> Axes:
    from matplotlib.figure import Figure

    return Figure().add_subplot()
