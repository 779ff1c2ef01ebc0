"""Tests of dlcourse/widgets.py on the non-interactive Agg backend (no kernel needed)."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import dlcourse.functional as F  # noqa: E402
from dlcourse import widgets  # noqa: E402
from dlcourse.widgets import (  # noqa: E402
    ACTIVATION_PARAMETERS,
    ACTIVATIONS,
    UniversalApproximationFit,
    draw_activation,
    draw_universal_approximation,
    fit_universal_approximation,
    plot_universal_approximation,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture
def ipywidgets() -> Any:
    return pytest.importorskip("ipywidgets")


def _new_ax() -> Axes:
    return Figure().add_subplot()


def _curves(ax: Axes) -> dict[str, Any]:
    """The labelled lines of ``ax`` (helper lines such as axhline are unlabelled)."""
    return {
        line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")
    }


def _bumpy(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + 0.5 * np.sin(3 * x)


# ----------------------------------------------------------------------------- draw_activation


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_draw_activation_plots_f_and_its_derivative(name: str) -> None:
    ax = draw_activation(name, ax=_new_ax())
    curves = _curves(ax)
    assert list(curves) == ["f(x)", "f'(x)"]
    assert curves["f'(x)"].get_linestyle() == "--"
    x = np.asarray(curves["f(x)"].get_xdata())
    assert x[0] == -5.0 and x[-1] == 5.0
    f, df = ACTIVATIONS[name]
    params = dict([ACTIVATION_PARAMETERS[name]]) if name in ACTIVATION_PARAMETERS else {}
    np.testing.assert_allclose(curves["f(x)"].get_ydata(), f(x, **params))
    np.testing.assert_allclose(curves["f'(x)"].get_ydata(), df(x, **params))
    assert ax.get_title().startswith(name)
    assert ax.get_xlabel() == "x"


def test_draw_activation_uses_the_given_parameter_and_range() -> None:
    ax = draw_activation("swish", beta=4.0, x_range=(-2, 3), ax=_new_ax())
    curves = _curves(ax)
    x = np.asarray(curves["f(x)"].get_xdata())
    assert (x[0], x[-1]) == (-2.0, 3.0)
    np.testing.assert_allclose(curves["f(x)"].get_ydata(), F.swish(x, 4.0))
    np.testing.assert_allclose(curves["f'(x)"].get_ydata(), F.swish_grad(x, 4.0))
    assert ax.get_title() == "swish (beta=4)"

    ax = draw_activation("gelu", approximate="tanh", ax=_new_ax())
    np.testing.assert_allclose(
        _curves(ax)["f(x)"].get_ydata(), F.gelu(np.linspace(-5, 5, 1001), approximate="tanh")
    )
    assert ax.get_title() == "gelu (approximate='tanh')"


def test_draw_activation_without_ax_makes_a_pyplot_figure() -> None:
    ax = draw_activation("relu")
    assert isinstance(ax, Axes)
    assert plt.get_fignums() == [ax.figure.number]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"name": "ReLU"}, "name"),
        ({"name": "prelu"}, "name"),
        ({"name": "relu", "beta": 2.0}, "beta"),
        ({"name": "elu", "negative_slope": 0.1}, "negative_slope"),
        ({"name": "swish", "alpha": 1.0}, "alpha"),
        ({"name": "leaky_relu", "approximate": "tanh"}, "approximate"),
        ({"name": "swish", "beta": -1.0}, "beta"),
        ({"name": "elu", "alpha": float("nan")}, "alpha"),
        ({"name": "gelu", "approximate": "erf"}, "approximate"),
        ({"name": "tanh", "x_range": (1.0, -1.0)}, "x_range"),
        ({"name": "tanh", "x_range": (0.0, float("inf"))}, "x_range"),
    ],
)
def test_draw_activation_rejects_bad_arguments(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}:"):
        draw_activation(ax=_new_ax(), **kwargs)


def test_draw_activation_type_errors_name_the_argument() -> None:
    with pytest.raises(TypeError, match="^ax:"):
        draw_activation("relu", ax=plt)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^x_range:"):
        draw_activation("relu", x_range=(0.0, 1.0, 2.0), ax=_new_ax())
    with pytest.raises(TypeError, match="^beta:"):
        draw_activation("swish", beta="2", ax=_new_ax())  # type: ignore[arg-type]


# ------------------------------------------------------------------ universal approximation


def test_fit_universal_approximation_shapes_and_determinism() -> None:
    fit = fit_universal_approximation(4, _bumpy, n_points=32, steps=50, rng=3)
    assert isinstance(fit, UniversalApproximationFit)
    assert fit.x_train.shape == fit.y_train.shape == (32,)
    assert fit.x.shape == fit.y_target.shape == fit.y_pred.shape == (1001,)
    assert fit.y_pred.dtype == np.float64
    np.testing.assert_allclose(fit.y_target, _bumpy(fit.x))
    assert fit.mse == pytest.approx(np.mean((fit.y_pred - fit.y_target) ** 2))
    assert (fit.hidden_units, fit.activation) == (4, "tanh")
    again = fit_universal_approximation(4, _bumpy, n_points=32, steps=50, rng=3)
    np.testing.assert_array_equal(fit.y_pred, again.y_pred)


def test_wider_hidden_layer_fits_better() -> None:
    narrow = fit_universal_approximation(1, _bumpy)
    wide = fit_universal_approximation(32, _bumpy)
    assert wide.mse < 0.1 * narrow.mse
    assert wide.mse < 5e-3
    relu = fit_universal_approximation(64, np.sin, activation="relu")
    assert relu.mse < 1e-2


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"hidden_units": 0}, "hidden_units"),
        ({"activation": "step"}, "activation"),
        ({"steps": 0}, "steps"),
        ({"n_points": 1}, "n_points"),
        ({"lr": 0.0}, "lr"),
        ({"x_range": (2.0, 2.0)}, "x_range"),
        ({"target": lambda x: x[:-1]}, "target"),
        ({"target": lambda x: np.log(x)}, "target"),
    ],
)
def test_fit_universal_approximation_rejects_bad_arguments(
    kwargs: dict[str, Any], argument: str
) -> None:
    args = {"hidden_units": 2, "steps": 2, **kwargs}
    with np.errstate(invalid="ignore", divide="ignore"):
        with pytest.raises(ValueError, match=rf"^{argument}:"):
            fit_universal_approximation(**args)


def test_fit_universal_approximation_type_errors() -> None:
    with pytest.raises(TypeError, match="^target:"):
        fit_universal_approximation(2, target=3.0, steps=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^hidden_units:"):
        fit_universal_approximation(2.5, steps=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^fit:"):
        plot_universal_approximation("fit", ax=_new_ax())  # type: ignore[arg-type]


def test_draw_universal_approximation_plots_target_and_fit() -> None:
    ax = draw_universal_approximation(3, _bumpy, steps=20, n_points=16, ax=_new_ax())
    curves = _curves(ax)
    assert list(curves) == ["target f(x)", "network, H = 3"]
    x = np.asarray(curves["target f(x)"].get_xdata())
    np.testing.assert_allclose(curves["target f(x)"].get_ydata(), _bumpy(x))
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 16
    assert ax.get_title().startswith("1 -> 3 -> 1 tanh network, MSE = ")
    fit = fit_universal_approximation(3, _bumpy, steps=20, n_points=16)
    np.testing.assert_allclose(curves["network, H = 3"].get_ydata(), fit.y_pred)


def test_plot_universal_approximation_without_ax_makes_a_pyplot_figure() -> None:
    ax = plot_universal_approximation(fit_universal_approximation(2, steps=5))
    assert plt.get_fignums() == [ax.figure.number]


# ----------------------------------------------------------------------------- explorers


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _control(box: Any, description: str) -> Any:
    (found,) = [w for w in _walk(box) if getattr(w, "description", None) == description]
    return found


def _output(box: Any, ipywidgets: Any) -> Any:
    (out,) = [w for w in _walk(box) if isinstance(w, ipywidgets.Output)]
    return out


def _shown(out: Any) -> str:
    """The text/plain of the Output's single image output, after checking it is a PNG."""
    (item,) = out.outputs
    assert item["output_type"] == "display_data"
    assert base64.b64decode(item["data"]["image/png"]).startswith(b"\x89PNG")
    return item["data"]["text/plain"]


class _Recorder:
    """Wraps a drawing function and records the arguments of every call."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.calls = fn, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.fn(*args, **kwargs)


def test_activation_explorer_redraws_on_every_change(
    ipywidgets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder(widgets.draw_activation)
    monkeypatch.setattr(widgets.activation, "draw_activation", recorder)
    box = widgets.activation_explorer()
    assert isinstance(box, ipywidgets.VBox)
    out = _output(box, ipywidgets)
    assert _shown(out) == "<activation swish {'beta': 1.0}>"
    assert recorder.calls[-1][0] == ("swish",) and recorder.calls[-1][1]["beta"] == 1.0
    first_png = out.outputs[0]["data"]["image/png"]

    def visible() -> list[str]:
        params = [param for param, _ in ACTIVATION_PARAMETERS.values()]
        return [p for p in params if _control(box, p).layout.display != "none"]

    assert visible() == ["beta"]
    _control(box, "beta").value = 5.0
    assert _shown(out) == "<activation swish {'beta': 5.0}>"
    assert recorder.calls[-1][1]["beta"] == 5.0
    assert out.outputs[0]["data"]["image/png"] != first_png

    _control(box, "activation").value = "elu"
    assert visible() == ["alpha"]
    _control(box, "alpha").value = 2.5
    assert _shown(out) == "<activation elu {'alpha': 2.5}>"
    assert recorder.calls[-1][0] == ("elu",)

    _control(box, "activation").value = "gelu"
    _control(box, "approximate").value = "sigmoid"
    assert _shown(out) == "<activation gelu {'approximate': 'sigmoid'}>"

    _control(box, "activation").value = "relu"
    assert visible() == []
    assert _shown(out) == "<activation relu {}>"
    assert "beta" not in recorder.calls[-1][1]
    assert plt.get_fignums() == []  # explorers draw on figures pyplot does not track


def test_activation_explorer_starting_value_and_validation(ipywidgets: Any) -> None:
    box = widgets.activation_explorer("leaky_relu")
    assert _shown(_output(box, ipywidgets)) == "<activation leaky_relu {'negative_slope': 0.1}>"
    with pytest.raises(ValueError, match="^name:"):
        widgets.activation_explorer("swishy")


def test_universal_approximation_explorer_retrains_on_change(
    ipywidgets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder(widgets.draw_universal_approximation)
    monkeypatch.setattr(widgets.approximation, "draw_universal_approximation", recorder)
    box = widgets.universal_approximation_explorer(_bumpy, hidden_units=2, steps=10)
    out = _output(box, ipywidgets)
    assert _shown(out) == "<universal approximation H=2 tanh>"
    slider = _control(box, "hidden units")
    assert (slider.min, slider.max, slider.value) == (1, 64, 2)
    assert slider.continuous_update is False  # retrain on release, not on every pixel

    slider.value = 16
    assert _shown(out) == "<universal approximation H=16 tanh>"
    args, kwargs = recorder.calls[-1]
    assert args[:2] == (16, _bumpy) and kwargs["steps"] == 10 and kwargs["activation"] == "tanh"

    _control(box, "activation").value = "relu"
    assert _shown(out) == "<universal approximation H=16 relu>"
    assert recorder.calls[-1][1]["activation"] == "relu"
    assert len(recorder.calls) == 3
    assert plt.get_fignums() == []


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"hidden_units": 65}, "hidden_units"),
        ({"hidden_units": 0}, "hidden_units"),
        ({"max_hidden_units": 0}, "max_hidden_units"),
        ({"activation": "gelu"}, "activation"),
        ({"steps": 0}, "steps"),
        ({"target": lambda x: x[:2]}, "target"),
    ],
)
def test_universal_approximation_explorer_validates_before_drawing(
    ipywidgets: Any, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}:"):
        widgets.universal_approximation_explorer(**kwargs)


def test_import_dlcourse_does_not_import_matplotlib_or_ipywidgets() -> None:
    code = (
        "import sys, dlcourse\n"
        "dlcourse.functional, dlcourse.nn\n"
        "assert 'matplotlib' not in sys.modules and 'ipywidgets' not in sys.modules\n"
        "import dlcourse.widgets\n"
        "assert 'matplotlib' in sys.modules and 'ipywidgets' not in sys.modules\n"
        "assert dlcourse.widgets.__file__.startswith(sys.argv[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
