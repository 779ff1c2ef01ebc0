"""Graded tests of chapter 2's exercises (``solutions/ch02.py`` / ``exercises/ch02.py``).

Oracles: closed forms, ``dlcourse.functional``, the package's own layers
(``dlcourse.nn.Linear`` + activation modules + ``dlcourse.losses.softmax_cross_entropy``)
and ``dlcourse.gradcheck``; never another answer of the student. The exercises that ask for
back-propagation by hand forbid the student's module those same layers, the loss and the
automatic differentiation of ``dlcourse.autograd`` (``forbid=``, see
:mod:`dlcourse.grading.forbid`); the oracles here still use them.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from dlcourse import functional as F
from dlcourse import gradcheck, losses, nn
from dlcourse.grading import load_impl
from dlcourse.grading.checks import Snapshot, assert_close, assert_equal, assert_grad, expect_array

exercise = pytest.mark.exercise

LOSS = ["dlcourse.losses.softmax_cross_entropy", "dlcourse.losses.CrossEntropyLoss"]
LAYER = ["dlcourse.nn.Linear", "dlcourse.nn.linear.linear_backward"]
SINGLE_NEURON = dict(forbid=["dlcourse.autograd.Value", "dlcourse.autograd.Dual"])
LAYER_BACKWARD = dict(forbid=LAYER)
BACKPROP = dict(forbid=[*LAYER, *LOSS, "dlcourse.models.MLP"])
SOFTMAX_GD = dict(forbid=LOSS)


@pytest.fixture
def ch02() -> ModuleType:
    return load_impl("ch02")


ACT_FN = {
    "sigmoid": (F.sigmoid, F.sigmoid_grad, nn.Sigmoid),
    "tanh": (F.tanh, F.tanh_grad, nn.Tanh),
    "relu": (F.relu, F.relu_grad, nn.ReLU),
    "leaky_relu": (F.leaky_relu, F.leaky_relu_grad, nn.LeakyReLU),
    "elu": (F.elu, F.elu_grad, nn.ELU),
}


# --------------------------------------------------------------------------- oracles
def oracle_mlp(weights, biases, X, y, activation):
    """Loss and gradients from dlcourse's layers: Linear, activation, ..., Linear, CE loss."""
    layers = []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        lin = nn.Linear(W.shape[0], W.shape[1], rng=0)
        lin.W.data[...] = W
        lin.b.data[...] = b
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(ACT_FN[activation][2]())
    model = nn.Sequential(*layers)
    loss, dlogits = losses.softmax_cross_entropy(model(X), y)
    model.zero_grad()
    model.backward(dlogits)
    lins = [m for m in model if isinstance(m, nn.Linear)]
    return loss, [m.W.grad.copy() for m in lins], [m.b.grad.copy() for m in lins]


def random_net(rng, sizes, scale=1.0):
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    weights = [scale * rng.normal(size=(a, b)) / np.sqrt(a) for a, b in pairs]
    biases = [0.1 * rng.normal(size=b) for b in sizes[1:]]
    return weights, biases


def blobs(seed, n_per=20, classes=3, D=2, spread=0.4):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.normal(size=(classes, D))
    X = np.concatenate([c + spread * rng.normal(size=(n_per, D)) for c in centres])
    y = np.repeat(np.arange(classes), n_per)
    return X, y


# --------------------------------------------------------------------------- single neuron
def check_single_neuron(got: object, x: float, w: float, b: float, t: float) -> None:
    what = f"backprop_single_neuron(x={x:.4g}, w={w:.4g}, b={b:.4g}, y_gt={t:.4g})"
    if not isinstance(got, tuple) or len(got) != 3:
        raise AssertionError(f"{what}: expected a tuple (L, dL_dw, dL_db), got {got!r}")
    y = w * x + b
    for name, value, want, hint in (
        ("L", got[0], 0.5 * (y - t) ** 2, "L = ½ (y − y_gt)² with y = w x + b"),
        ("∂L/∂w", got[1], (y - t) * x, "∂L/∂w = ∂L/∂y · ∂y/∂w = (y − y_gt) · x"),
        ("∂L/∂b", got[2], y - t, "∂L/∂b = ∂L/∂y · ∂y/∂b = (y − y_gt) · 1"),
    ):
        assert_close(value, want, f"{what}: {name}", rtol=1e-9, atol=1e-12, hint=hint)


@exercise("ch02.single_neuron", points=1, **SINGLE_NEURON)
def test_single_neuron_slides_example(ch02: ModuleType) -> None:
    # y = 0.8·1.5 + 0.2 = 1.4; L = ½(1.4 − 0.8)² = 0.18; ∂L/∂y = 0.6; ∂L/∂w = 0.6·1.5; ∂L/∂b = 0.6
    got = ch02.backprop_single_neuron(1.5, 0.8, 0.2, 0.8)
    check_single_neuron(got, 1.5, 0.8, 0.2, 0.8)
    assert_close(got[0], 0.18, "the slides' example: L")
    rng = np.random.default_rng(0)
    for x, w, b, t in rng.normal(size=(20, 4)):
        check_single_neuron(ch02.backprop_single_neuron(x, w, b, t), x, w, b, t)


# --------------------------------------------------------------------------- 4-3 dying ReLU
def dead_layer(seed):
    """A layer of 6 units on N(0, 1) data; units 1 and 4 have a bias of −30: never active."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 4))
    W = rng.normal(size=(4, 6))
    b = 0.1 * rng.normal(size=6)
    b[[1, 4]] = -30.0
    return X, W, b


@exercise("ch02.dead_relu", points=2)
def test_dead_units(ch02: ModuleType) -> None:
    for seed in range(3):
        X, W, b = dead_layer(seed)
        snap = Snapshot(X=X, W=W, b=b)
        mask = expect_array(ch02.dead_units(W, b, X, "relu"), "dead_units (ReLU)", (6,))
        snap.assert_unchanged("dead_units")
        want = np.all(F.relu_grad(X @ W + b) == 0, axis=0)
        assert want[[1, 4]].all(), "test data: units 1 and 4 must be dead"
        assert_equal(mask != 0, want, f"dead_units (ReLU) on 40 samples (seed {seed})",
                     hint="a unit is dead when f'(z) = 0 for every sample")
        for act in ("leaky_relu", "elu", "sigmoid"):
            m = expect_array(ch02.dead_units(W, b, X, act), f"dead_units ({act})", (6,))
            assert not m.any(), f"dead_units ({act}): f'(z) > 0 everywhere, no unit can be dead"
    # a unit that is active on a single sample is alive
    X = np.array([[1.0], [-1.0], [-2.0]])
    mask = expect_array(
        ch02.dead_units(np.array([[1.0, -1.0]]), np.array([-0.5, -3.0]), X, "relu"),
        "dead_units", (2,),
    )
    assert_equal(mask != 0, [False, True], "dead_units with unit 0 active on one sample of 3",
                 hint="a unit active on a single sample is not dead")


@exercise("ch02.dead_relu_fix", points=1, **LAYER_BACKWARD)
def test_layer_backward_gradcheck(ch02: ModuleType) -> None:
    rng = np.random.default_rng(1)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), 0.1 * rng.normal(size=4)
    dA = rng.normal(size=(5, 4))
    for act in ACT_FN:
        f = ACT_FN[act][0]
        snap = Snapshot(X=X, W=W, b=b, dA=dA)
        dX, dW, db = ch02.layer_backward(W, b, X, dA, act)
        snap.assert_unchanged("layer_backward")
        num = {
            "dX": gradcheck.numerical_jacobian_vector(lambda x, f=f: f(x @ W + b), X, dA),
            "dW": gradcheck.numerical_jacobian_vector(lambda w, f=f: f(X @ w + b), W, dA),
            "db": gradcheck.numerical_jacobian_vector(lambda c, f=f: f(X @ W + c), b, dA),
        }
        for name, got in (("dX", dX), ("dW", dW), ("db", db)):
            assert_grad(got, num[name], f"layer_backward ({act}): {name}")


@exercise("ch02.dead_relu_fix", points=2, **LAYER_BACKWARD)
def test_dead_unit_gets_no_gradient_but_leaky_relu_and_elu_do(ch02: ModuleType) -> None:
    rng = np.random.default_rng(2)
    X, W, b = dead_layer(2)
    dA = rng.normal(size=(40, 6))
    _, dW, db = ch02.layer_backward(W, b, X, dA, "relu")
    dW, db = expect_array(dW, "dW", (4, 6)), expect_array(db, "db", (6,))
    assert np.all(dW[:, [1, 4]] == 0) and np.all(db[[1, 4]] == 0), (
        "ReLU: a dead unit must receive exactly zero gradient"
    )
    for act in ("leaky_relu", "elu"):
        _, dW, db = ch02.layer_backward(W, b, X, dA, act)
        db = expect_array(db, f"layer_backward ({act}): db", (6,))
        assert np.all(np.abs(db[[1, 4]]) > 0), f"{act}: a unit with z < 0 still gets gradient"

    # one oversized update kills a healthy unit, which then never changes again
    X = rng.normal(size=(30, 3))
    W = rng.normal(size=(3, 2))
    b = np.zeros(2)
    _, _, db = ch02.layer_backward(W, b, X, np.ones((30, 2)), "relu")
    b_bad = b - 100.0 * expect_array(db, "layer_backward: db", (2,))  # "一次不恰当的更新"
    assert np.all(F.relu_grad(X @ W + b_bad) == 0), "the large step must have killed both units"
    W_relu, b_relu = W.copy(), b_bad.copy()
    W_leaky, b_leaky = W.copy(), b_bad.copy()
    for _ in range(20):
        dA = rng.normal(size=(30, 2))
        _, dW, db = ch02.layer_backward(W_relu, b_relu, X, dA, "relu")
        W_relu, b_relu = W_relu - 0.5 * np.asarray(dW), b_relu - 0.5 * np.asarray(db)
        _, dW, db = ch02.layer_backward(W_leaky, b_leaky, X, dA, "leaky_relu")
        W_leaky, b_leaky = W_leaky - 0.5 * np.asarray(dW), b_leaky - 0.5 * np.asarray(db)
    assert np.array_equal(W_relu, W), "ReLU: a dead unit's weights must never move again"
    assert np.abs(W_leaky - W).max() > 1e-3, "LeakyReLU: the unit's weights must keep learning"


# --------------------------------------------------------------------------- backprop
@exercise("ch02.backprop", points=2, **BACKPROP)
def test_mlp_backprop_matches_dlcourse_layers(ch02: ModuleType) -> None:
    rng = np.random.default_rng(3)
    configs = [([4, 3], "sigmoid"), ([4, 6, 3], "sigmoid"), ([5, 7, 6, 4], "tanh"),
               ([3, 8, 8, 2], "relu"), ([4, 5, 3], "elu")]
    for sizes, act in configs:
        weights, biases = random_net(rng, sizes)
        X = rng.normal(size=(9, sizes[0]))
        y = rng.integers(0, sizes[-1], size=9)
        snap = Snapshot(X=X, **{f"weights[{i}]": w for i, w in enumerate(weights)},
                        **{f"biases[{i}]": b for i, b in enumerate(biases)})
        loss, dWs, dbs = ch02.mlp_backprop(weights, biases, X, y, act)
        snap.assert_unchanged("mlp_backprop")
        want_loss, want_dW, want_db = oracle_mlp(weights, biases, X, y, act)
        assert_close(loss, want_loss, f"mlp_backprop {sizes} {act}: loss", rtol=1e-10,
                     hint="mean over the N samples of −log softmax(Z⁽ᴸ⁾)[y]")
        assert_equal((len(dWs), len(dbs)), (len(weights), len(biases)),
                     f"mlp_backprop {sizes}: numbers of (dWs, dbs)")
        for l, (got, want) in enumerate(zip(dWs, want_dW, strict=True)):
            assert_close(got, want, f"mlp_backprop {sizes} {act}: dWs[{l}]", 1e-8, 1e-12)
        for l, (got, want) in enumerate(zip(dbs, want_db, strict=True)):
            assert_close(got, want, f"mlp_backprop {sizes} {act}: dbs[{l}]", 1e-8, 1e-12)


@exercise("ch02.backprop", points=1, **BACKPROP)
def test_mlp_backprop_gradcheck(ch02: ModuleType) -> None:
    rng = np.random.default_rng(4)
    weights, biases = random_net(rng, [3, 4, 4, 3])
    X = rng.normal(size=(6, 3))
    y = np.array([0, 1, 2, 2, 1, 0])
    _, dWs, dbs = ch02.mlp_backprop(weights, biases, X, y, "leaky_relu")
    for l in range(3):
        def loss_w(w, l=l):
            ws = [w if i == l else weights[i] for i in range(3)]
            return oracle_mlp(ws, biases, X, y, "leaky_relu")[0]

        def loss_b(c, l=l):
            bs = [c if i == l else biases[i] for i in range(3)]
            return oracle_mlp(weights, bs, X, y, "leaky_relu")[0]

        checks = (("dW", dWs[l], loss_w, weights[l]), ("db", dbs[l], loss_b, biases[l]))
        for name, got, f, x in checks:
            num = gradcheck.numerical_gradient(f, x)
            assert_grad(got, num, f"mlp_backprop (leaky_relu), layer {l}: {name}")


# --------------------------------------------------------------------------- 4-9
@exercise("ch02.grad_norms", points=2, depends=["ch02.backprop"])
def test_layer_gradient_norms_show_vanishing_gradients(ch02: ModuleType) -> None:
    rng = np.random.default_rng(5)
    sizes = [16, 32, 32, 32, 32, 32, 32, 4]
    weights, biases = random_net(rng, sizes)
    X = rng.normal(size=(64, 16))
    y = rng.integers(0, 4, size=64)
    snap = Snapshot(X=X, **{f"weights[{i}]": w for i, w in enumerate(weights)})
    norms = ch02.layer_gradient_norms(weights, biases, X, y, "sigmoid")
    snap.assert_unchanged("layer_gradient_norms")
    _, want_dW, _ = oracle_mlp(weights, biases, X, y, "sigmoid")
    want = np.array([np.linalg.norm(g) for g in want_dW])
    assert_close(norms, want, "layer_gradient_norms", rtol=1e-8, atol=1e-14)
    norms = np.asarray(norms, dtype=np.float64)
    # the network really shows the effect 4-9 asks about (over 100 random nets of this shape
    # the ratio stays below 1e-3); a larger learning rate multiplies every layer's step
    # lr·‖∂L/∂W⁽ˡ⁾‖ by the same factor and leaves this ratio unchanged
    assert norms[0] < 0.01 * norms[-1], (
        f"layer_gradient_norms: the first layer's norm {norms[0]:.3g} should be far below the "
        f"last one's {norms[-1]:.3g} in this 7-layer sigmoid network"
    )


# --------------------------------------------------------------------------- 4-8
def oracle_train(weights, biases, X, y, lr, steps, act):
    Ws, bs, hist = [w.copy() for w in weights], [b.copy() for b in biases], []
    for _ in range(steps):
        loss, dW, db = oracle_mlp(Ws, bs, X, y, act)
        hist.append(loss)
        Ws = [w - lr * g for w, g in zip(Ws, dW, strict=True)]
        bs = [b - lr * g for b, g in zip(bs, db, strict=True)]
    return Ws, bs, hist


@exercise("ch02.symmetry", points=1, depends=["ch02.backprop"])
def test_train_gd_matches_gradient_descent(ch02: ModuleType) -> None:
    rng = np.random.default_rng(6)
    X, y = blobs(6)
    weights, biases = random_net(rng, [2, 5, 3])
    snap = Snapshot(**{f"weights[{i}]": w for i, w in enumerate(weights)},
                    **{f"biases[{i}]": b for i, b in enumerate(biases)})
    Ws, bs, hist = ch02.train_gd(weights, biases, X, y, 0.5, 15, "sigmoid")
    snap.assert_unchanged("train_gd")
    want_W, want_b, want_hist = oracle_train(weights, biases, X, y, 0.5, 15, "sigmoid")
    assert_equal(len(hist), 15, "train_gd: number of losses returned for 15 steps")
    assert_close(hist, want_hist, "train_gd: losses", rtol=1e-8)
    names = [f"weights[{i}]" for i in range(len(want_W))] + [f"biases[{i}]" for i in range(2)]
    for name, got, want in zip(names, [*Ws, *bs], [*want_W, *want_b], strict=True):
        assert_close(got, want, f"train_gd: trained {name}", rtol=1e-7, atol=1e-10)


@exercise("ch02.symmetry", points=2, depends=["ch02.backprop"])
def test_constant_init_keeps_hidden_units_identical(ch02: ModuleType) -> None:
    X, y = blobs(7)
    keep = np.r_[0:20, 20:32, 40:46]  # unequal class sizes: with balanced classes and W = 0
    X, y = X[keep], y[keep]  # the very first gradient is 0 and nothing would move at all
    H = 6
    for value in (0.0, 0.3):
        weights = [np.full((2, H), value), np.full((H, 3), value)]
        biases = [np.full(H, value), np.full(3, value)]
        Ws, bs, hist = ch02.train_gd(weights, biases, X, y, 1.0, 40, "sigmoid")
        W1 = expect_array(Ws[0], "train_gd: weights[0]", (2, H))
        b1 = expect_array(bs[0], "train_gd: biases[0]", (H,))
        W2 = expect_array(Ws[1], "train_gd: weights[1]", (H, 3))
        assert np.abs(W1 - value).max() > 1e-3, (
            f"init {value}: after 40 steps W1 must have moved away from its initial value"
        )
        assert_close(W1, np.repeat(W1[:, :1], H, axis=1),
                     f"init {value}: hidden units (columns of W1) stay identical", 1e-10, 1e-12)
        assert_close(b1, np.full(H, b1[0]), f"init {value}: hidden biases", 1e-10, 1e-12)
        assert_close(W2, np.repeat(W2[:1], H, axis=0), f"init {value}: rows of W2", 1e-10, 1e-12)
    rng = np.random.default_rng(8)
    weights, biases = random_net(rng, [2, H, 3], scale=0.1)
    Ws, _, hist = ch02.train_gd(weights, biases, X, y, 1.0, 40, "sigmoid")
    W1 = expect_array(Ws[0], "train_gd: weights[0]", (2, H))
    gaps = np.abs(W1[:, :, None] - W1[:, None, :]).max(axis=0) + np.eye(H)
    assert gaps.min() > 1e-3, "random init: every pair of hidden units must differ"
    assert hist[-1] < hist[0], (
        f"train_gd from a random init: the loss must fall in 40 steps ({hist[0]:.4g} -> "
        f"{hist[-1]:.4g})"
    )


# --------------------------------------------------------------------------- exercise 8
@exercise("ch02.equal_init_softmax", points=2, **SOFTMAX_GD)
def test_softmax_regression_learns_from_equal_weights(ch02: ModuleType) -> None:
    for seed in range(3):
        X, y = blobs(10 + seed, n_per=15)
        W0, b0 = np.full((2, 3), 0.7), np.zeros(3)
        snap = Snapshot(X=X, y=y, W=W0, b=b0)
        W, b = ch02.softmax_regression_gd(X, y, W0, b0, 0.5, 100)
        snap.assert_unchanged("softmax_regression_gd")
        Wo, bo = W0.copy(), b0.copy()
        for _ in range(100):
            _, G = losses.softmax_cross_entropy(X @ Wo + bo, y)
            Wo, bo = Wo - 0.5 * X.T @ G, bo - 0.5 * G.sum(axis=0)
        assert_close(W, Wo, "softmax_regression_gd: W", rtol=1e-8, atol=1e-10)
        assert_close(b, bo, "softmax_regression_gd: b", rtol=1e-8, atol=1e-10)
        W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64)
        gap = np.abs(W[:, :, None] - W[:, None, :]).max(axis=0)[np.triu_indices(3, 1)].min()
        assert gap > 0.05, (
            f"softmax_regression_gd from equal weights: the class columns of W must become "
            f"different (closest pair differs by {gap:.3g})"
        )
        acc = np.mean(np.argmax(X @ W + b, axis=1) == y)
        assert acc > 0.9, f"softmax regression from equal weights should learn (accuracy {acc})"


# --------------------------------------------------------------------------- exercise 9
def edge_responses(img):
    return np.concatenate([np.diff(img, axis=1).ravel(), np.diff(img, axis=0).ravel()])


@exercise("ch02.edge_fc", points=2)
def test_edge_detector_weights(ch02: ModuleType) -> None:
    rng = np.random.default_rng(9)
    for h, w in ((2, 2), (4, 4), (3, 5), (6, 2)):
        want_shape = (h * w, h * (w - 1) + (h - 1) * w)
        W = expect_array(ch02.edge_detector_weights(h, w), f"edge_detector_weights({h}, {w})",
                         want_shape)
        imgs = rng.normal(size=(5, h, w))
        out = imgs.reshape(5, -1) @ W
        for n in range(5):
            assert_close(out[n], edge_responses(imgs[n]),
                         f"responses of edge_detector_weights({h}, {w}) on a random image")
    # a step edge between columns 2 and 3 of a 5×6 image: only vertical-edge units at j = 2 fire
    img = np.zeros((5, 6))
    img[:, 3:] = 1.0
    out = img.reshape(-1) @ expect_array(ch02.edge_detector_weights(5, 6), "W", (30, 49))
    vert, horiz = out[: 5 * 5].reshape(5, 5), out[5 * 5 :].reshape(4, 6)
    assert_equal(vert != 0, np.arange(5)[None, :].repeat(5, 0) == 2,
                 "edge_detector_weights(5, 6) on a step between columns 2 and 3: vertical units "
                 "that fire")
    assert_equal(np.count_nonzero(horiz), 0, "the same image: horizontal units that fire")
    const = np.full(16, 3.7) @ expect_array(ch02.edge_detector_weights(4, 4), "W", (16, 24))
    assert np.allclose(const, 0.0), "a flat image has no edge: every response must be 0"


@exercise("ch02.edge_maps", points=1, depends=["ch02.edge_fc"])
def test_edge_maps_find_rectangle_borders(ch02: ModuleType) -> None:
    rng = np.random.default_rng(10)
    N, h, w = 4, 8, 9
    imgs = 0.1 * rng.random(size=(N, h, w))  # faint noise, below the threshold
    for n in range(N):
        r0, c0 = rng.integers(1, 4, size=2)
        imgs[n, r0 : r0 + 3, c0 : c0 + 4] += 1.0
    snap = Snapshot(images=imgs)
    vert, horiz = ch02.edge_maps(imgs, threshold=0.5)
    snap.assert_unchanged("edge_maps")
    vert = expect_array(vert, "edge_maps: vertical", (N, h, w - 1)) != 0
    horiz = expect_array(horiz, "edge_maps: horizontal", (N, h - 1, w)) != 0
    for name, got, want in (("vertical", vert, np.abs(np.diff(imgs, axis=2)) > 0.5),
                            ("horizontal", horiz, np.abs(np.diff(imgs, axis=1)) > 0.5)):
        wrong = np.argwhere(got != want)
        if len(wrong):
            first = tuple(int(i) for i in wrong[0])
            raise AssertionError(
                f"edge_maps: {name} edges wrong at {len(wrong)} of {want.size} places, first at "
                f"[n, i, j] = {list(first)}: expected {bool(want[first])}, got {bool(got[first])}"
                " (an edge is where |response| > threshold)"
            )
    assert_equal((int(vert.sum()), int(horiz.sum())), (N * 3 * 2, N * 4 * 2),
                 "edge_maps: (vertical, horizontal) edges found on 4 images with a 3×4 rectangle")
