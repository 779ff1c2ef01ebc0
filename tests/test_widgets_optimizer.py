"""Tests of dlcourse/widgets/optimizer.py (the optimiser explorer) on the Agg backend.

Expected values come from closed forms (gradient descent on a quadratic, each rule's first
step written out by hand), the numbers printed by the notes' experiment 5.6.1, finite
differences, and torch.optim (test-only reference).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dlcourse.gradcheck import numerical_gradient  # noqa: E402
from dlcourse.widgets.optimizer import (  # noqa: E402
    MOMENTUM_MEANING,
    OPTIMIZERS,
    draw_optimizer_trajectory,
    optimizer_explorer,
    optimizer_trajectory,
    quadratic_grad,
    quadratic_loss,
)

START = np.array([-5.0, -2.0])
G0 = np.array([2 * 0.1 * -5.0, 2 * 2.0 * -2.0])     # ∇f at the start: (−1, −8)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _new_ax() -> Axes:
    return Figure().add_subplot()


def _curves(ax: Axes) -> dict[str, Any]:
    return {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


# ------------------------------------------------------------------------------- the problem


def test_quadratic_loss_and_gradient() -> None:
    x = np.array([[-5.0, -2.0], [1.0, 3.0]])
    np.testing.assert_allclose(quadratic_loss(x), [0.1 * 25 + 2 * 4, 0.1 + 18])
    point = np.array([0.7, -1.3])
    num = numerical_gradient(lambda z: float(quadratic_loss(z, (0.3, 1.5))), point)
    np.testing.assert_allclose(quadratic_grad(point, (0.3, 1.5)), num, rtol=1e-7)


# ------------------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("lr", [0.1, 0.4, 0.6])
def test_gradient_descent_follows_the_closed_form(lr: float) -> None:
    # x_t = (1 − 2 a_i lr)^t x_0 along each axis
    path = optimizer_trajectory("SGD", lr, 0.0, steps=20)
    t = np.arange(21)[:, None]
    np.testing.assert_allclose(path, (1 - 2 * np.array([0.1, 2.0]) * lr) ** t * START,
                               rtol=1e-12)


@pytest.mark.parametrize(
    ("lr", "printed"), [(0.4, ("-0.062843", "0.001202")), (0.6, ("0.007188", "0.002553"))]
)
def test_momentum_reproduces_the_notes_experiment(lr: float, printed: tuple[str, str]) -> None:
    # experiment 5.6.1: momentum γ = 0.5 on 0.1 x1² + 2 x2² from (−5, −2), 20 steps
    path = optimizer_trajectory("SGD", lr, 0.5, steps=20)
    assert path.shape == (21, 2)
    assert (f"{path[-1, 0]:f}", f"{path[-1, 1]:f}") == printed


def test_defaults_are_the_notes_momentum_run() -> None:
    np.testing.assert_array_equal(optimizer_trajectory(), optimizer_trajectory("SGD", 0.4, 0.5))


def test_first_steps_by_hand() -> None:
    lr, g = 0.3, G0
    first = {name: optimizer_trajectory(name, lr, 0.5, steps=1)[1] - START
             for name in OPTIMIZERS}
    np.testing.assert_allclose(first["SGD"], -lr * g, rtol=1e-12)
    np.testing.assert_allclose(first["Nesterov"], -lr * (1 + 0.5) * g, rtol=1e-12)
    np.testing.assert_allclose(first["AdaGrad"], -lr * g / (np.abs(g) + 1e-7), rtol=1e-12)
    np.testing.assert_allclose(first["RMSProp"], -lr * g / (np.sqrt(0.1) * np.abs(g) + 1e-6),
                               rtol=1e-12)
    np.testing.assert_allclose(
        first["AdaDelta"], -lr * np.sqrt(1e-6) / np.sqrt(0.1 * g * g + 1e-6) * g, rtol=1e-12
    )
    # Adam's first step: M̂ = g, Ĝ = g², so Δθ = −lr g / (|g| + ε) ≈ −lr sign(g)
    np.testing.assert_allclose(first["Adam"], -lr * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(first["Adam"], -lr * np.sign(g), rtol=1e-8)


def test_adam_with_beta1_zero_is_rmsprop_with_bias_correction() -> None:
    # written out: r = 0.999 r + 0.001 g², x <- x − lr g / (√(r / (1 − 0.999^t)) + 1e-8)
    x, r, lr = START.copy(), np.zeros(2), 0.05
    for t in range(1, 31):
        g = 2 * np.array([0.1, 2.0]) * x
        r = 0.999 * r + 0.001 * g * g
        x = x - lr * g / (np.sqrt(r / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(optimizer_trajectory("Adam", lr, 0.0, steps=30)[-1], x,
                               rtol=1e-10)


def _torch_path(name: str, lr: float, momentum: float, steps: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    w = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([0.1, 2.0], dtype=torch.float64)
    make = {
        "SGD": lambda: torch.optim.SGD([w], lr=lr, momentum=momentum),
        "Nesterov": lambda: torch.optim.SGD([w], lr=lr, momentum=momentum, nesterov=True),
        "AdaGrad": lambda: torch.optim.Adagrad([w], lr=lr, eps=1e-7),
        "RMSProp": lambda: torch.optim.RMSprop([w], lr=lr, alpha=0.9, eps=1e-6,
                                               momentum=momentum),
        "AdaDelta": lambda: torch.optim.Adadelta([w], lr=lr, rho=0.9, eps=1e-6),
        "Adam": lambda: torch.optim.Adam([w], lr=lr, betas=(momentum, 0.999), eps=1e-8),
    }
    opt = make[name]()
    path = [START.copy()]
    for _ in range(steps):
        opt.zero_grad()
        (a * w * w).sum().backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_trajectories_agree_with_torch(name: str) -> None:
    lr = 1.0 if name == "AdaDelta" else 0.05
    ours = optimizer_trajectory(name, lr, 0.7, steps=40)
    np.testing.assert_allclose(ours, _torch_path(name, lr, 0.7, 40), rtol=1e-10, atol=1e-12)


def test_a_diverging_run_is_returned_not_raised() -> None:
    path = optimizer_trajectory("SGD", 0.6, 0.0, steps=20)
    assert path[-1, 1] == pytest.approx(-2 * (-1.4) ** 20, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": "LBFGS"}, ValueError, "optimizer"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"optimizer": "Adam", "momentum": 1.0}, ValueError, "momentum"),
        ({"steps": 0}, ValueError, "steps"),
        ({"start": (1.0,)}, TypeError, "start"),
        ({"start": (1.0, float("nan"))}, ValueError, "start"),
        ({"coeffs": (0.1, -2.0)}, ValueError, "coeffs"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        optimizer_trajectory(**kwargs)


def test_bad_points_for_the_loss() -> None:
    with pytest.raises(ValueError, match="x: expected shape"):
        quadratic_loss(np.zeros(3))


# ------------------------------------------------------------------------------- drawing


def test_draw_shows_the_trajectory_and_the_reference() -> None:
    ax = draw_optimizer_trajectory("Adam", 0.3, 0.9, steps=25, ax=_new_ax())
    curves = _curves(ax)
    assert list(curves) == ["GD, same lr", "Adam"]
    path = optimizer_trajectory("Adam", 0.3, 0.9, steps=25)
    np.testing.assert_array_equal(curves["Adam"].get_xdata(), path[:, 0])
    np.testing.assert_array_equal(curves["Adam"].get_ydata(), path[:, 1])
    gd = optimizer_trajectory("SGD", 0.3, 0.0, steps=25)
    np.testing.assert_array_equal(curves["GD, same lr"].get_ydata(), gd[:, 1])
    assert ax.collections, "expected the contours of f"
    title = ax.get_title()
    assert title.startswith("Adam, lr = 0.3, β1 = 0.9, 25 steps")
    assert "leaves the window" not in title


def test_draw_without_reference_and_a_run_that_leaves_the_window() -> None:
    ax = draw_optimizer_trajectory("SGD", 0.6, 0.0, reference=False, ax=_new_ax())
    assert list(_curves(ax)) == ["SGD"]
    assert ax.get_title().split("\n")[1].endswith("leaves the window")


def test_a_diverging_reference_is_cut_where_it_leaves_the_window() -> None:
    # GD with lr = 0.6: x2 is multiplied by −1.4 per step, −2 → 2.8 → −3.92 (out at step 2)
    ax = draw_optimizer_trajectory("Adam", 0.6, 0.9, ax=_new_ax())
    ref = _curves(ax)["GD, same lr (leaves the window)"]
    np.testing.assert_allclose(ref.get_ydata(), [-2.0, 2.8, -3.92])
    ax = draw_optimizer_trajectory("AdaGrad", 0.5, 0.3, ax=_new_ax())
    assert "momentum" not in ax.get_title() and "β1" not in ax.get_title()


def test_draw_rejects_a_non_axes() -> None:
    with pytest.raises(TypeError, match="ax"):
        draw_optimizer_trajectory(ax="not axes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- explorer


def _png(box: Any) -> bytes:
    (output,) = box.children[1].outputs
    return base64.b64decode(output["data"]["image/png"])


def test_explorer_redraws_on_every_control() -> None:
    W = pytest.importorskip("ipywidgets")
    box = optimizer_explorer()
    assert isinstance(box, W.VBox)
    controls = {c.description: c for c in box.children[0].children}
    assert list(controls) == ["optimizer", "learning rate", "momentum", "steps"]
    assert controls["optimizer"].value == "SGD" and controls["learning rate"].value == 0.4
    assert controls["momentum"].value == 0.5 and controls["steps"].value == 20
    before = _png(box)
    assert before.startswith(b"\x89PNG")
    for name, value in [("learning rate", 0.2), ("momentum", 0.9), ("steps", 40),
                        ("optimizer", "RMSProp")]:
        controls[name].value = value
        after = _png(box)
        assert after != before, name
        before = after
    assert "RMSProp lr=0.2 momentum=0.9 steps=40" in box.children[1].outputs[0]["data"][
        "text/plain"]


def test_explorer_disables_momentum_for_rules_without_it() -> None:
    pytest.importorskip("ipywidgets")
    box = optimizer_explorer("AdaGrad")
    controls = {c.description: c for c in box.children[0].children}
    assert controls["momentum"].disabled
    controls["optimizer"].value = "Adam"
    assert not controls["momentum"].disabled
    assert {k for k, v in MOMENTUM_MEANING.items() if v is None} == {"AdaGrad", "AdaDelta"}


def test_explorer_checks_its_arguments_before_building() -> None:
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_explorer("Momentum")
    assert not plt.get_fignums()
