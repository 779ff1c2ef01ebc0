"""Tests of dlcourse/plot.py on the non-interactive Agg backend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from dlcourse.plot import (  # noqa: E402
    decision_regions,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    plot_layer_norms,
    show_images,
)
from dlcourse.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _history(val: bool = True) -> History:
    h = History(train_loss=[1.0, 0.6, 0.4], train_acc=[0.5, 0.7, 0.8], time=[1.0] * 3)
    if val:
        h.val_loss, h.val_acc = [1.1, 0.7, 0.5], [0.4, 0.6, 0.75]
    return h


def _images(n: int, side: int = 28, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, side, side)).astype(np.float32)


def _n_images(fig: Figure) -> int:
    return sum(isinstance(a, AxesImage) for ax in fig.axes for a in ax.get_children())


# ---- import ---------------------------------------------------------------------------------


def test_import_dlcourse_does_not_import_matplotlib() -> None:
    code = "import sys, dlcourse, dlcourse.nn, dlcourse.train; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_is_a_lazy_submodule() -> None:
    import dlcourse

    assert dlcourse.plot.show_images is show_images


# ---- plot_history ---------------------------------------------------------------------------


def test_plot_history_draws_train_and_val_per_metric() -> None:
    axes = plot_history(_history())
    assert len(axes) == 2 and all(isinstance(a, Axes) for a in axes)
    assert axes[0].figure is axes[1].figure
    for ax, metric, train, val in zip(
        axes, ("loss", "accuracy"), ([1.0, 0.6, 0.4], [0.5, 0.7, 0.8]),
        ([1.1, 0.7, 0.5], [0.4, 0.6, 0.75]), strict=True,
    ):
        lines = ax.get_lines()
        assert len(lines) == 2
        np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(lines[0].get_ydata(), train)
        np.testing.assert_array_equal(lines[1].get_ydata(), val)
        assert ax.get_title() == metric and ax.get_xlabel() == "epoch"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "train (running mean over the epoch)", "validation"]


def test_plot_history_error_is_one_minus_accuracy_and_skips_missing_val() -> None:
    (ax,) = plot_history(_history(val=False), metrics="error")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.5, 0.3, 0.2])
    assert ax.get_ylabel() == "error rate"


def test_plot_history_compares_runs_on_given_axes() -> None:
    _, ax = plt.subplots()
    for name in ("relu", "tanh"):
        out = plot_history(_history(), ax=ax, metrics=("accuracy",), splits=["val"], label=name)
        assert out == [ax]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["relu", "tanh"]
    _, ax = plt.subplots()
    plot_history(_history(), ax=ax, metrics="loss", label="run")
    assert [line.get_label() for line in ax.get_lines()] == [
        "run, train (running mean over the epoch)", "run, validation"]


def test_plot_history_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="history: expected a dlcourse.train.History or a dict"):
        plot_history([1.0, 0.5])
    with pytest.raises(ValueError, match=r"metrics: expected one of \['loss', 'accuracy', "
                       r"'error', 'acc'\], got 'f1'"):
        plot_history(_history(), metrics=("f1",))
    with pytest.raises(ValueError, match="splits: expected one of"):
        plot_history(_history(), splits=("test",))
    with pytest.raises(ValueError, match="no val_loss values"):
        plot_history(_history(val=False), splits=("val",))
    with pytest.raises(ValueError, match="history: expected at least one recorded epoch"):
        plot_history(History())
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax: expected None or 2 matplotlib Axes"):
        plot_history(_history(), ax=ax)


def test_plot_history_of_a_step_run_and_of_a_plain_dict() -> None:
    """A GAN-like run records train_d_loss / train_g_loss; a NaN epoch leaves a gap."""
    h = {"train_d_loss": [1.4, 1.2, 1.3], "train_g_loss": [0.7, float("nan"), 0.9],
         "time": [1.0] * 3}
    axes = plot_history(h, metrics=("d_loss", "g_loss"))
    assert [a.get_title() for a in axes] == ["d_loss", "g_loss"]
    assert [a.get_ylabel() for a in axes] == ["d_loss", "g_loss"]
    (line,) = axes[1].get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [0.7, np.nan, 0.9])
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "train (running mean over the epoch)"]
    with pytest.raises(ValueError, match=r"history: expected at least one recorded epoch of "
                       r"\['loss', 'accuracy'\], got keys \['train_d_loss'"):
        plot_history(h)


# ---- show_images ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "images, kwargs",
    [
        (_images(10), {}),                                      # (N, H, W)
        (_images(10)[:, None], {}),                             # (N, 1, H, W)
        (_images(10).reshape(10, -1), {}),                      # (N, H*W), square
        (_images(10, side=6).reshape(10, -1)[:, :30], {"image_shape": (5, 6)}),
        (_images(10).astype(np.float64), {}),
        ((_images(10) * 255).astype(np.uint8), {}),
    ],
    ids=["NHW", "N1HW", "flat-square", "flat-shape", "float64", "uint8"],
)
def test_show_images_draws_one_image_per_panel(images: np.ndarray, kwargs: dict) -> None:
    before = images.copy()
    fig = show_images(images, ncols=4, **kwargs)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 12                                  # 3 rows of 4, 2 left empty
    assert _n_images(fig) == 10
    assert not any(ax.axison for ax in fig.axes)
    np.testing.assert_array_equal(images, before)


def test_show_images_titles_colour_scale_and_layout() -> None:
    W = np.random.default_rng(1).normal(size=(784, 10)).astype(np.float32)
    fig = show_images(W.T, titles=[f"digit {j}" for j in range(10)], ncols=5, cmap="RdBu_r",
                      image_shape=(28, 28), vmin=-2.0, vmax=2.0, figsize=(10, 4.4),
                      suptitle="templates", title_fontsize=9)
    assert [ax.get_title() for ax in fig.axes] == [f"digit {j}" for j in range(10)]
    assert fig.axes[0].title.get_fontsize() == 9
    img = fig.axes[3].images[0]
    assert img.get_clim() == (-2.0, 2.0) and img.get_cmap().name == "RdBu_r"
    np.testing.assert_array_equal(img.get_array(), W[:, 3].reshape(28, 28))
    assert tuple(fig.get_size_inches()) == (10, 4.4)
    assert fig.get_suptitle() == "templates"


def test_show_images_default_title_size_is_the_axes_title_size() -> None:
    fig = show_images(_images(2), titles=["a", "b"])
    _, ax = plt.subplots()
    assert fig.axes[0].title.get_fontsize() == ax.set_title("ref").get_fontsize()


def test_show_images_rgb_and_fewer_images_than_columns() -> None:
    fig = show_images(np.random.default_rng(2).random((3, 3, 5, 5)))
    assert len(fig.axes) == 3 and _n_images(fig) == 3
    assert fig.axes[0].images[0].get_array().shape == (5, 5, 3)


@pytest.mark.parametrize(
    "images, kwargs, error, match",
    [
        (np.zeros(5), {}, ValueError, r"images: expected a 2-D or 3-D or 4-D .*got shape \(5,\)"),
        (np.zeros((2, 30)), {}, ValueError, r"image_shape: required .*\(2, 30\)"),
        (np.zeros((2, 30)), {"image_shape": (5, 5)}, ValueError, r"image_shape: expected \(H, W\)"),
        (np.zeros((2, 2, 4, 4)), {}, ValueError, r"images: expected 1 or 3 channels"),
        (np.zeros((0, 4, 4)), {}, ValueError, r"images: expected at least one image"),
        (np.zeros((2, 4, 4)), {"titles": ["a"]}, ValueError, r"titles: expected 2 titles"),
        (np.zeros((2, 4, 4)), {"ncols": 0}, ValueError, r"ncols: expected an integer >= 1"),
        (np.full((2, 4, 4), np.nan), {}, ValueError, r"images: expected finite values"),
        (np.array([["a"]]), {}, TypeError, r"images: expected a numeric array"),
    ],
)
def test_show_images_rejects_bad_input(images, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        show_images(images, **kwargs)


# ---- plot_confusion_matrix ------------------------------------------------------------------


M3 = np.array([[4, 1, 0], [2, 3, 1], [0, 1, 3]])


def test_confusion_matrix_annotates_every_cell() -> None:
    before = M3.copy()
    ax = plot_confusion_matrix(M3, class_names=["cat", "dog", "bird"])
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    assert [t.get_text() for t in ax.texts] == [str(v) for v in M3.ravel()]
    colours = [t.get_color() for t in ax.texts]
    assert colours[0] == "white" and colours[1] == "black"          # 4 > 4/2, 1 < 4/2
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert len(ax.figure.axes) == 2                                  # matrix + colour bar
    np.testing.assert_array_equal(ax.images[0].get_array(), M3)
    np.testing.assert_array_equal(M3, before)


def test_confusion_matrix_default_names_hide_zeros_no_colorbar() -> None:
    cm = np.diag(np.arange(1, 11))
    _, ax = plt.subplots()
    out = plot_confusion_matrix(cm, ax=ax, hide_zeros=True, fontsize=7, colorbar=False)
    assert out is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
    assert len(ax.texts) == 10 and all(t.get_fontsize() == 7 for t in ax.texts)
    assert len(ax.figure.axes) == 1


def test_confusion_matrix_normalize_rows() -> None:
    cm = np.array([[3, 1], [0, 0]], dtype=np.float32)
    ax = plot_confusion_matrix(cm, normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 0.0]])
    assert ax.images[0].get_clim() == (0.0, 1.0)
    np.testing.assert_array_equal(cm, [[3, 1], [0, 0]])


@pytest.mark.parametrize(
    "cm, names, error, match",
    [
        (np.zeros((2, 3)), None, ValueError, r"cm: expected shape \(2, 2\), got \(2, 3\)"),
        (np.zeros(4), None, ValueError, r"cm: expected a 2-D array \(C, C\), got shape \(4,\)"),
        (-np.eye(2), None, ValueError, r"cm: expected finite counts >= 0"),
        (np.eye(3), ["a", "b"], ValueError, r"class_names: expected 3 names .*got 2"),
        ([["x"]], None, TypeError, r"cm: expected a numeric array"),
    ],
)
def test_confusion_matrix_rejects_bad_input(cm, names, error, match) -> None:
    with pytest.raises(error, match=match):
        plot_confusion_matrix(cm, class_names=names)


# ---- decision regions -----------------------------------------------------------------------


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    return X, np.where(X[:, 0] + X[:, 1] >= 0, 1.0, -1.0)


def test_decision_regions_grid_and_output_shapes() -> None:
    xx, yy, out = decision_regions(lambda p: p[:, 0] + p[:, 1], (-1, 1), (0, 2), resolution=7)
    assert xx.shape == yy.shape == out.shape == (7, 7)
    assert xx[0, 0] == -1 and xx[0, -1] == 1 and yy[0, 0] == 0 and yy[-1, 0] == 2
    np.testing.assert_allclose(out, xx + yy)
    _, _, scores = decision_regions(lambda p: np.zeros((len(p), 3)), (0, 1), (0, 1), 5)
    assert scores.shape == (5, 5, 3)
    _, _, col = decision_regions(lambda p: np.zeros((len(p), 1)), (0, 1), (0, 1), 5)
    assert col.shape == (5, 5)


def test_decision_boundary_binary_scores_with_margins() -> None:
    X, y = _blobs()
    X_before, y_before = X.copy(), y.copy()
    _, ax = plt.subplots()
    out = plot_decision_boundary(lambda p: p[:, 0] + p[:, 1], X, y, ax=ax, resolution=50,
                                 padding=1.0, margins=True, colors=["C3", "C0"],
                                 markers=["x", "o"], class_labels=["y = -1", "y = +1"])
    assert out is ax
    # filled regions, boundary, margins and one scatter per class
    assert len(ax.collections) == 5
    regions = ax.collections[0]
    assert len(regions.levels) == 3                                # 2 classes: -0.5, 0.5, 1.5
    assert list(ax.collections[1].levels) == [0.0]
    assert list(ax.collections[2].levels) == [-1.0, 1.0]
    ax.legend()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = -1", "y = +1"]
    assert ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    lo = X.min(axis=0) - 1.0
    x0, x1 = ax.get_xlim()[0], ax.get_ylim()[0]
    assert np.isclose(x0, lo[0]) and np.isclose(x1, lo[1])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_decision_boundary_class_scores_and_labels() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2))
    y = np.repeat(np.arange(3), 30)
    W = rng.normal(size=(2, 3))
    ax = plot_decision_boundary(lambda p: p @ W, X, y, resolution=40, xlim=(-3, 3), ylim=(-2, 4))
    assert len(ax.collections) == 1 + 3                            # regions + 3 scatters
    assert len(ax.collections[0].levels) == 4
    assert [c.get_label() for c in ax.collections[1:]] == ["class 0", "class 1", "class 2"]
    assert ax.get_xlim() == (-3.0, 3.0)
    ax2 = plot_decision_boundary(lambda p: (p @ W).argmax(axis=1), X, y, resolution=40)
    assert len(ax2.collections) == 4


def test_decision_boundary_constant_prediction_draws_no_line_and_no_warning() -> None:
    X, y = _blobs()
    ax = plot_decision_boundary(lambda p: np.ones(len(p)), X, y, margins=True)
    assert len(ax.collections) == 3                                # regions + 2 scatters


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"X": np.zeros((5, 3))}, ValueError, r"X: expected shape \(\*, 2\), got \(5, 3\)"),
        ({"X": np.zeros(5)}, ValueError, r"X: expected a 2-D array \(N, 2\), got shape \(5,\)"),
        ({"y": np.zeros(4)}, ValueError, r"y: expected shape \(60,\), got \(4,\)"),
        ({"y": np.arange(60) % 3}, ValueError, r"y: binary scores .* exactly 2 classes"),
        ({"predict_fn": lambda p: p[:5, 0]}, ValueError, r"predict_fn: expected an output"),
        ({"predict_fn": lambda p: p[:, 0] * np.nan}, ValueError, r"predict_fn: expected finite"),
        ({"predict_fn": "model"}, TypeError, r"predict_fn: expected a callable"),
        ({"predict_fn": lambda p: (p[:, 0] > 0).astype(int), "margins": True}, ValueError,
         r"margins: only for"),
        ({"resolution": 1}, ValueError, r"resolution: expected an integer >= 2"),
        ({"padding": -1.0}, ValueError, r"padding: expected a value >= 0"),
        ({"xlim": (1.0, 0.0)}, ValueError, r"xlim: expected \(low, high\) with low < high"),
        ({"colors": ["C0"]}, ValueError, r"colors: expected 2 entries"),
    ],
)
def test_decision_boundary_rejects_bad_input(kwargs, error, match) -> None:
    X, y = _blobs()
    args = {"predict_fn": lambda p: p[:, 0], "X": X, "y": y} | kwargs
    with pytest.raises(error, match=match):
        plot_decision_boundary(**args)


# ---- plot_layer_norms -----------------------------------------------------------------------


def test_layer_norms_log_scale_one_line_per_curve() -> None:
    norms = {"sigmoid": np.geomspace(1e-6, 1e-1, 11).astype(np.float32),
             "relu": np.ones(11)}
    before = norms["sigmoid"].copy()
    ax = plot_layer_norms(norms)
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["sigmoid", "relu"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), np.arange(1, 12))
    np.testing.assert_array_equal(ax.get_xticks(), np.arange(1, 12))
    assert ax.get_xlabel().startswith("layer l") and ax.get_ylabel() == "||dL/dW^(l)||_F"
    np.testing.assert_array_equal(norms["sigmoid"], before)


def test_layer_norms_single_curve_with_a_zero_has_no_legend() -> None:
    ax = plot_layer_norms([1e-3, 0.0, 1.0], ylabel="norm")
    assert len(ax.get_lines()) == 1 and ax.get_legend() is None and ax.get_ylabel() == "norm"


@pytest.mark.parametrize(
    "norms, match",
    [
        ({}, r"norms: expected at least one curve"),
        (np.ones((2, 3)), r"norms: expected a 1-D array \(L,\), got shape \(2, 3\)"),
        ({"relu": [1.0, -1.0]}, r"norms\['relu'\]: expected at least one value, all >= 0"),
        ([np.inf], r"norms: expected finite values"),
    ],
)
def test_layer_norms_rejects_bad_input(norms, match) -> None:
    with pytest.raises(ValueError, match=match):
        plot_layer_norms(norms)
