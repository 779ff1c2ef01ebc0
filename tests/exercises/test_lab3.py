"""Graded tests of lab 3 (``solutions/lab3.py`` / ``exercises/lab3.py``).

Oracles: hand examples from the notes (the outline's max-pool figure -> [[20, 30], [112, 37]],
the chapter's shapes, pooling examples and two-channel [[56, 72], [104, 120]]), closed forms,
finite differences in float64, and the package's kernels, forbidden to the student (``forbid=``).
Speed: layers are timed against the package's in the same process (a ratio: a loaded machine
slows both), ``train_cnn`` against a time budget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from dlcourse import nn
from dlcourse.data import load_digits
from dlcourse.gradcheck import numerical_jacobian_vector
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_equal, assert_grad, expect_array
from dlcourse.nn import conv as ref_conv

exercise = pytest.mark.exercise

SIZE = dict(forbid=["dlcourse.nn.conv.conv_output_size"])
IM2COL = dict(depends=["lab3.output_size"], forbid=["dlcourse.nn.conv.im2col"])
COL2IM = dict(forbid=["dlcourse.nn.conv.col2im"])
CONV_FWD = dict(depends=["lab3.im2col"],
                forbid=["dlcourse.nn.Conv2d", "dlcourse.nn.conv.conv2d_forward"])
CONV_BWD = dict(depends=["lab3.col2im"],
                forbid=["dlcourse.nn.Conv2d", "dlcourse.nn.conv.conv2d_backward"])
MAXPOOL = dict(depends=["lab3.im2col", "lab3.col2im"],
               forbid=["dlcourse.nn.MaxPool2d", "dlcourse.nn.pool.maxpool2d_forward",
                       "dlcourse.nn.pool.maxpool2d_backward"])
AVG = dict(depends=["lab3.im2col", "lab3.col2im"],
           forbid=["dlcourse.nn.AvgPool2d", "dlcourse.nn.pool.avgpool2d_forward",
                   "dlcourse.nn.pool.avgpool2d_backward"])
TRAIN = dict(depends=["lab3.conv_forward", "lab3.conv_backward", "lab3.maxpool"],
             forbid=["dlcourse.nn.Conv2d", "dlcourse.nn.MaxPool2d", "dlcourse.train.fit"])

# (kernel_size, stride, padding): square and rectangular, overlapping and strided windows
GEOMETRIES = [(3, 1, 1), (2, 2, 0), ((3, 5), (3, 4), (0, 1)), (3, 2, 1), ((2, 3), 1, (1, 0))]

# The outline's max-pool figure (lesson 3, 池化): a 4×4 image, 2×2 windows, stride 2.
FIGURE = np.array([[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]], float)


@pytest.fixture
def lab3() -> ModuleType:
    return load_impl("lab3")


def _x(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread while timing (more make small products slower, much slower on a busy
    machine); a no-op without threadpoolctl (not a dependency of ``dlcourse[grade]``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _check_speed(mine: Callable[[], object], ref: Callable[[], object], what: str,
                 limit: float) -> None:
    """``mine`` at most ``limit`` times slower than ``ref``: best of 7 runs each, alternated so
    that both see the same load (the solution's ratios: ≈ 1–2.5 on a loaded machine)."""
    times: dict[object, list[float]] = {mine: [], ref: []}
    with _one_blas_thread():
        for _ in range(8):
            for fn, seen in times.items():
                start = time.perf_counter()
                fn()
                seen.append(time.perf_counter() - start)
    ratio = min(times[mine][1:]) / min(times[ref][1:])  # the first run warms up
    assert ratio <= limit, (
        f"{what}: {ratio:.0f}× slower than the package's layer (max {limit:g}×): no Python loop "
        "over pixels or batch elements (use sliding_window_view; loop over kernel offsets only)")


# ---------------------------------------------------------------- lab3.output_size
@exercise("lab3.output_size", points=1, **SIZE)
def test_output_size_notes_shapes(lab3: ModuleType) -> None:
    """The chapter's 8×8 experiment: k3 p1 -> 8; stride 2 -> 4; kernel (3, 5), padding (0, 1),
    stride (3, 4) -> 2×2 (needs the floor); and ⌊(7 − 2)/2⌋ + 1 = 3."""
    for args, want in [((8, 3, 1, 1), 8), ((8, 3, 2, 1), 4), ((8, 3, 3, 0), 2), ((8, 5, 4, 1), 2),
                       ((7, 2, 2, 0), 3)]:
        assert_equal(lab3.output_size(*args), want, f"output_size(size, kernel, stride, "
                     f"padding) = output_size{args}", "⌊(size − kernel + 2·padding)/stride⌋ + 1")


# ---------------------------------------------------------------- lab3.im2col
@exercise("lab3.im2col", points=1, **IM2COL)
def test_im2col_outline_figure(lab3: ModuleType) -> None:
    """2×2 windows, stride 2, of the outline's figure: one row per window, in row-major order."""
    want = [[12, 20, 8, 12], [30, 0, 2, 0], [34, 70, 112, 100], [37, 4, 25, 12]]
    assert_close(lab3.im2col(FIGURE[None, None], 2, 2), want, "im2col(figure, 2, stride=2)",
                 0, 0, hint="row (i·out_w + j) holds window (i, j), read row by row")


@exercise("lab3.im2col", points=2, **IM2COL)
def test_im2col_matches_package(lab3: ModuleType) -> None:
    x = _x((2, 3, 7, 9), 0)
    snap = Snapshot(x=x)
    for k, s, p in GEOMETRIES:
        assert_close(lab3.im2col(x, k, s, p), ref_conv.im2col(x, k, s, p),
                     f"im2col(x (2, 3, 7, 9), kernel_size={k}, stride={s}, padding={p})", 0, 0,
                     hint="rows (n, i, j), columns (c, u, v); zero padding")
        snap.assert_unchanged("im2col")


# ---------------------------------------------------------------- lab3.col2im
@exercise("lab3.col2im", points=1, **COL2IM)
def test_col2im_adds_overlaps(lab3: ModuleType) -> None:
    """All-ones columns of 2×2 windows, stride 1, on a 3×3 image: each pixel receives one 1
    per window covering it."""
    assert_close(lab3.col2im(np.ones((4, 4)), (1, 1, 3, 3), 2, 1),
                 [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]], "col2im(ones (4, 4), (1, 1, 3, 3), "
                 "kernel_size=2, stride=1)", 0, 0, hint="add (+=) where windows overlap")


@exercise("lab3.col2im", points=2, **COL2IM)
def test_col2im_is_adjoint_of_im2col(lab3: ModuleType) -> None:
    """<im2col(x), c> = <x, col2im(c)> for every x and c (col2im is im2col's transpose),
    also with padding (dropped) and strides."""
    x = _x((2, 3, 7, 9), 1)
    for k, s, p in GEOMETRIES:
        cols = ref_conv.im2col(x, k, s, p)
        c = _x(cols.shape, 2)
        snap = Snapshot(c=c)
        what = f"col2im(c, (2, 3, 7, 9), kernel_size={k}, stride={s}, padding={p})"
        got = expect_array(lab3.col2im(c, x.shape, k, s, p), what, x.shape)
        snap.assert_unchanged("col2im")
        assert_close(np.sum(got * x), np.sum(cols * c), f"{what}: <x, col2im(c)> vs "
                     "<im2col(x), c>", 1e-10, 1e-10)
        assert_close(got, ref_conv.col2im(c, x.shape, k, s, p), what, 1e-10, 1e-12)


# ---------------------------------------------------------------- lab3.conv_forward
def _conv_pair(lab3: ModuleType, c: int, f: int, k: object, s: object, p: object,
               seed: int) -> tuple[object, nn.Conv2d]:
    """The student's Conv2d and the package's with the same (random) W and b."""
    mine, ref = lab3.Conv2d(c, f, k, s, p, rng=seed), nn.Conv2d(c, f, k, s, p)
    mine.b.data[...] = _x(mine.b.data.shape, seed + 1)
    ref.W.data[...], ref.b.data[...] = mine.W.data, mine.b.data
    return mine, ref


@exercise("lab3.conv_forward", points=1, **CONV_FWD)
def test_conv_forward_notes_examples(lab3: ModuleType) -> None:
    """Two input channels (the chapter's example): [[56, 72], [104, 120]]; and the chapter's
    output shapes on an 8×8 input."""
    layer = lab3.Conv2d(2, 1, 2)
    layer.W.data[...], layer.b.data[...] = [[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]], 0.0
    x = np.array([[[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]], float)
    assert_close(layer(x), [[[[56, 72], [104, 120]]]], "Conv2d(2, 1, 2) on the chapter's X, K",
                 1e-12, 1e-12)
    x8 = _x((1, 1, 8, 8), 3)
    for k, s, p, want in [(3, 1, 1, (8, 8)), (3, 2, 1, (4, 4)), ((3, 5), (3, 4), (0, 1), (2, 2))]:
        assert_equal(np.shape(lab3.Conv2d(1, 1, k, s, p, rng=0)(x8)), (1, 1, *want),
                     f"Conv2d(1, 1, {k}, stride={s}, padding={p}) on 8×8: output shape")


@exercise("lab3.conv_forward", points=2, **CONV_FWD)
def test_conv_forward_matches_package(lab3: ModuleType) -> None:
    x = _x((2, 3, 7, 9), 4)
    snap = Snapshot(x=x)
    for k, s, p in GEOMETRIES:
        mine, ref = _conv_pair(lab3, 3, 4, k, s, p, seed=5)
        assert_close(mine(x), ref(x), f"Conv2d(3, 4, {k}, stride={s}, padding={p}).forward",
                     1e-10, 1e-12, hint="cross-correlation plus b[f]; output (N, F, out_h, out_w)")
    snap.assert_unchanged("Conv2d.forward")


@exercise("lab3.conv_forward", points=1, **CONV_FWD)
def test_conv_forward_speed(lab3: ModuleType) -> None:
    """Forward on (16, 4, 28, 28) -> 8 channels, k3 p1: within 10× the package's."""
    x = _x((16, 4, 28, 28), 13)
    mine, ref = _conv_pair(lab3, 4, 8, 3, 1, 1, seed=14)
    with nn.no_grad():
        _check_speed(lambda: mine(x), lambda: ref(x), "Conv2d.forward on (16, 4, 28, 28)", 10.0)


# ---------------------------------------------------------------- lab3.conv_backward
def _conv_cached(lab3: ModuleType, x: np.ndarray, k: object, s: object, p: object,
                 seed: int) -> tuple[object, nn.Conv2d, np.ndarray]:
    """The student's Conv2d with its documented cache set from ``x`` (so its backward is graded
    without its forward), the package's twin after a forward, and a random dout."""
    mine, ref = _conv_pair(lab3, x.shape[1], 3, k, s, p, seed)
    mine.x_shape, mine.cols = x.shape, ref_conv.im2col(x, k, s, p)
    return mine, ref, _x(np.shape(ref(x)), seed + 2)


def _conv_fd(lab3: ModuleType, x: np.ndarray, k: object, s: object, p: object) -> None:
    """dx, dW, db of the student's backward against finite differences of the package's
    forward kernel (the oracle)."""
    layer, _, dout = _conv_cached(lab3, x, k, s, p, seed=6)
    W, b = layer.W.data.copy(), layer.b.data.copy()
    snap = Snapshot(dout=dout, W=W, cols=layer.cols)
    dx = layer.backward(dout)
    snap.assert_unchanged("Conv2d.backward")
    what = f"Conv2d(2, 3, {k}, stride={s}, padding={p}).backward"
    sp, pp = ref_conv.pair("stride", s), ref_conv.pair("padding", p)

    def conv(x_: np.ndarray, W_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        return ref_conv.conv2d_forward(x_, W_, b_, sp, pp)[0]

    assert_grad(dx, numerical_jacobian_vector(lambda z: conv(z, W, b), x, dout), f"{what}: dx",
                hint="dcols = dout as (N·out_h·out_w, F) times W as (F, C·kh·kw), then "
                     "col2im; no flipped kernel")
    assert_grad(layer.W.grad, numerical_jacobian_vector(lambda w: conv(x, w, b), W, dout),
                f"{what}: dW", hint="doutᵀ cols, reshaped to (F, C, kh, kw)")
    assert_grad(layer.b.grad, numerical_jacobian_vector(lambda c: conv(x, W, c), b, dout),
                f"{what}: db", hint="sum dout over the batch and both spatial axes")


@exercise("lab3.conv_backward", points=3, **CONV_BWD)
def test_conv_backward_finite_differences(lab3: ModuleType) -> None:
    x = _x((2, 2, 5, 6), 8)
    for k, s, p in [(3, 2, 1), ((2, 3), 1, (1, 0))]:
        _conv_fd(lab3, x, k, s, p)


@exercise("lab3.conv_backward", points=1, **CONV_BWD)
def test_conv_backward_accumulates_and_matches_package(lab3: ModuleType) -> None:
    x = _x((2, 3, 7, 9), 10)
    for k, s, p in GEOMETRIES:
        mine, ref, dout = _conv_cached(lab3, x, k, s, p, seed=11)
        what = f"Conv2d(3, 3, {k}, stride={s}, padding={p}).backward"
        dx = mine.backward(dout)
        mine.backward(dout)  # a second backward adds its gradients
        assert_close(dx, ref.backward(dout), f"{what}: dx", 1e-9, 1e-12)
        assert_close(mine.W.grad, 2 * ref.W.grad, f"{what}: W.grad after two backward calls",
                     1e-9, 1e-12, hint="add (+=) into W.grad and b.grad")
        assert_close(mine.b.grad, 2 * ref.b.grad, f"{what}: b.grad after two backward calls",
                     1e-9, 1e-12)


@exercise("lab3.conv_backward", points=1, **CONV_BWD)
def test_conv_backward_speed(lab3: ModuleType) -> None:
    """Backward, (16, 4, 28, 28) -> 3 channels, k3: within 10× the package's forward + backward."""
    x = _x((16, 4, 28, 28), 13)
    mine, ref, dout = _conv_cached(lab3, x, 3, 1, 1, seed=14)  # dout (16, 3, 28, 28)
    _check_speed(lambda: mine.backward(dout), lambda: (ref(x), ref.backward(dout)),
                 "Conv2d.backward on (16, 4, 28, 28)", 10.0)


# ---------------------------------------------------------------- lab3.maxpool
# The chapter's pooling examples on arange(16) as a 4×4 image (and arange(9) as 3×3).
POOL_EXAMPLES = [
    ((3, 3), (2, 1, 0), [[4, 5], [7, 8]]),
    ((4, 4), (3, None, 0), [[10]]),
    ((4, 4), (3, 2, 1), [[5, 7], [13, 15]]),
    ((4, 4), ((2, 4), (2, 3), (1, 2)), [[1, 3], [9, 11], [13, 15]]),
]


@exercise("lab3.maxpool", points=2, **MAXPOOL)
def test_maxpool_notes_examples(lab3: ModuleType) -> None:
    """Forward on the notes' examples; backward on the figure: dout to each window's maximum."""
    layer = lab3.MaxPool2d(2)
    assert_close(layer(FIGURE[None, None]), [[[[20, 30], [112, 37]]]],
                 "MaxPool2d(2) on the outline's figure", 0, 0)
    want = np.zeros((1, 1, 4, 4))
    want[0, 0, 0, 1], want[0, 0, 0, 2], want[0, 0, 3, 0], want[0, 0, 2, 2] = 1, 2, 3, 4
    assert_close(layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])), want,
                 "MaxPool2d(2).backward on the outline's figure, dout [[1, 2], [3, 4]]", 0, 0,
                 hint="each dout goes to its window's maximum only")
    for shape, (k, s, p), want in POOL_EXAMPLES:
        x = np.arange(float(np.prod(shape))).reshape(1, 1, *shape)
        got = lab3.MaxPool2d(k, s, p)(x)
        assert_close(got, [[want]], f"MaxPool2d({k}, stride={s}, padding={p}) on "
                     f"arange({x.size}) as {shape[0]}×{shape[1]}", 0, 0)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    two = np.concatenate([x, x + 1], axis=1)
    assert_close(lab3.MaxPool2d(3, 2, 1)(two), [[[[5, 7], [13, 15]], [[6, 8], [14, 16]]]],
                 "MaxPool2d(3, stride=2, padding=1) on two channels X, X + 1", 0, 0,
                 hint="pool each channel separately")


@exercise("lab3.maxpool", points=1, **MAXPOOL)
def test_maxpool_backward_finite_differences(lab3: ModuleType) -> None:
    """Distinct values (no ties), overlapping windows and padding."""
    x = np.random.default_rng(17).permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 7.0
    for k, s, p in [(3, 1, 1), (3, 2, 1), ((2, 4), (2, 3), (1, 2))]:
        layer = lab3.MaxPool2d(k, s, p)
        dout = _x(expect_array(layer(x), "MaxPool2d.forward").shape, 18)
        assert_grad(layer.backward(dout), numerical_jacobian_vector(layer, x, dout, eps=1e-4),
                    f"MaxPool2d({k}, stride={s}, padding={p}).backward: dx",
                    hint="overlapping windows add their gradients; drop the padding")


@exercise("lab3.maxpool", points=1, **MAXPOOL)
def test_maxpool_matches_package_with_padding_and_ties(lab3: ModuleType) -> None:
    """Negative small integers: a zero pad would win border windows (pad with −∞), and many
    ties go to the first maximum of the window in row-major order, as in the package."""
    x = np.round(-1.0 - 2.0 * np.abs(_x((2, 3, 6, 7), 19)))
    snap = Snapshot(x=x)
    for k, s, p in [(2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 4), (2, 3), (1, 2))]:
        mine, ref = lab3.MaxPool2d(k, s, p), nn.MaxPool2d(k, s, p)
        what, want = f"MaxPool2d({k}, stride={s}, padding={p})", ref(x)
        assert_close(mine(x), want, f"{what}.forward on negative inputs", 0, 0,
                     hint="pad with −inf, which never wins a window")
        dout = _x(want.shape, 20)
        assert_close(mine.backward(dout), ref.backward(dout), f"{what}.backward with ties: dx",
                     0, 1e-12, hint="ties go to the first maximum in row-major order")
    snap.assert_unchanged("MaxPool2d")


@exercise("lab3.maxpool", points=1, **MAXPOOL)
def test_maxpool_speed(lab3: ModuleType) -> None:
    """Forward + backward on (16, 8, 28, 28), 2×2 windows: within 10× the package."""
    x, dout = _x((16, 8, 28, 28), 21), _x((16, 8, 14, 14), 22)
    mine, ref = lab3.MaxPool2d(2), nn.MaxPool2d(2)
    _check_speed(lambda: (mine(x), mine.backward(dout)), lambda: (ref(x), ref.backward(dout)),
                 "MaxPool2d(2) forward + backward on (16, 8, 28, 28)", 10.0)


# ---------------------------------------------------------------- lab3.avgpool
@exercise("lab3.avgpool", points=1, **AVG)
def test_avgpool_examples(lab3: ModuleType) -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    assert_close(lab3.AvgPool2d(2, 1)(x), [[[[2, 3], [5, 6]]]],
                 "AvgPool2d(2, stride=1) on arange(9) as 3×3", 1e-12, 1e-12)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    # padding counts in the divisor: window (0, 0) holds 0 + 1 + 4 + 5 and five zeros
    assert_close(lab3.AvgPool2d(3, 2, 1)(x), [[[[10 / 9, 24 / 9], [51 / 9, 90 / 9]]]],
                 "AvgPool2d(3, stride=2, padding=1) on arange(16) as 4×4", 1e-12, 1e-12,
                 hint="zero padding, divided by kh·kw also at the border")


@exercise("lab3.avgpool", points=2, **AVG)
def test_avgpool_matches_package_and_finite_differences(lab3: ModuleType) -> None:
    x = _x((2, 3, 5, 6), 23)
    snap = Snapshot(x=x)
    for k, s, p in [(2, None, 0), (3, 1, 1), ((2, 4), (2, 3), (1, 2))]:
        layer, what = lab3.AvgPool2d(k, s, p), f"AvgPool2d({k}, stride={s}, padding={p})"
        out = layer(x)
        assert_close(out, nn.AvgPool2d(k, s, p)(x), f"{what}.forward", 1e-12, 1e-12)
        dout = _x(np.shape(out), 24)
        assert_grad(layer.backward(dout), numerical_jacobian_vector(layer, x, dout),
                    f"{what}.backward: dx", hint="dout/(kh·kw) to every element of its window")
    snap.assert_unchanged("AvgPool2d")


# ---------------------------------------------------------------- lab3.train_cnn
# Floor and budget from the reference solution on the 8×8 digits (1,438 train / 359 test), 8
# epochs, batch 32, lr 3e-3, one BLAS thread, seeds 0–19, while a CIFAR-10 run loaded both
# cores: test accuracy 0.928–0.969 (seed 0: 0.944), 1.5–4.2 s per run (9.4 s once, graded at
# a load of 9). Floor = lowest seed − 0.02, rounded down: the reference never fails; budget
# 25 s, under the grader's 30 s per test. A per-pixel loop (every n, f, i, j) takes minutes.
ACC_FLOOR, TIME_BUDGET = 0.90, 25.0


@exercise("lab3.train_cnn", points=3, **TRAIN)
def test_train_cnn_digits(lab3: ModuleType) -> None:
    X, y = load_digits("train", flatten=False)
    X_test, y_test = load_digits("test", flatten=False)
    snap = Snapshot(X=X, y=y)
    start = time.perf_counter()
    with _one_blas_thread():
        model = lab3.train_cnn(X, y, epochs=8, lr=3e-3, batch_size=32, rng=0)
    seconds = time.perf_counter() - start
    snap.assert_unchanged("train_cnn")
    assert_equal(type(model).__name__, "Sequential", "train_cnn: type of the model returned")
    kinds = [(type(m).__module__ == lab3.__name__, type(m).__name__) for m in model]
    assert_equal([f"your {k}" if own else f"nn.{k}" for own, k in kinds],
                 ["your Conv2d", "nn.ReLU", "your MaxPool2d"] * 2 + ["nn.Flatten", "nn.Linear"],
                 "train_cnn: layers")
    scores = expect_array(model(X_test), "model(X_test)", (len(y_test), 10))
    acc = float(np.mean(scores.argmax(1) == y_test))
    assert acc >= ACC_FLOOR, f"train_cnn: test accuracy {acc:.3f} < {ACC_FLOOR} after 8 epochs"
    assert seconds <= TIME_BUDGET, (
        f"train_cnn: {seconds:.0f} s for 8 epochs (budget {TIME_BUDGET:g} s): vectorise your "
        "layers (no Python loop over pixels or batch elements)")


@exercise("lab3.train_cnn", points=1, **TRAIN)
def test_train_cnn_uses_rng_for_everything(lab3: ModuleType) -> None:
    """The same seed gives the same network; another seed another network."""
    X, y = (a[:200] for a in load_digits("train", flatten=False))

    def weights(rng: object) -> list[np.ndarray]:
        model = lab3.train_cnn(X, y, epochs=1, lr=3e-3, batch_size=32, rng=rng)
        return [p.data.copy() for p in model.parameters()]

    first, again, other = weights(0), weights(0), weights(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True)), (
        "train_cnn: two runs with rng=0 gave different weights: draw the initial weights and "
        "every shuffle from g = np.random.default_rng(rng) (never numpy's global random state)")
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True)), (
        "train_cnn: rng=0 and rng=1 gave the same weights: use rng")
