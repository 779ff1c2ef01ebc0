"""Tests of dlcourse/train.py (fit, its steps, evaluate; torch and scikit-learn as references).

The model, loss and optimizer below implement the package's protocols in a few lines, so
the tests of the supervised loop do not depend on dlcourse.nn / losses / optim; the tests of
``step=`` runs (a GAN-like two-network step, a no-backward step, environment steps) and of
no_grad use the package's layers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss

from dlcourse.data import DataLoader, load_digits
from dlcourse.losses import BCEWithLogitsLoss, CrossEntropyLoss
from dlcourse.metrics import output_accuracy
from dlcourse.nn import Linear, Module, is_grad_enabled, no_grad
from dlcourse.optim import SGD
from dlcourse.train import (
    EarlyStopping,
    History,
    evaluate,
    evaluation_step,
    fit,
    predict,
    supervised_step,
)

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


class Param:
    def __init__(self, data: np.ndarray) -> None:
        self.data = np.array(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)


class LinearModel:
    """Logits ``x @ W + b``; Module-like (forward/backward/parameters/train/eval/state)."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = Param(W), Param(b)
        self.training = True
        self.x: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.W.data + self.b.data

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.W.grad += self.x.T @ dout
        self.b.grad += dout.sum(axis=0)
        return dout @ self.W.data.T

    def parameters(self) -> list[Param]:
        return [self.W, self.b]

    def train(self) -> LinearModel:
        self.training = True
        return self

    def eval(self) -> LinearModel:
        self.training = False
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"W": self.W.data.copy(), "b": self.b.data.copy()}

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        self.W.data[...] = d["W"]
        self.b.data[...] = d["b"]


class SoftmaxCE:
    """Mean softmax cross-entropy; ``backward() -> (p - onehot) / N``."""

    def __call__(self, logits: np.ndarray, y: np.ndarray) -> float:
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        self.p, self.y = np.exp(logp), y
        return float(-logp[np.arange(len(y)), y].mean())

    def backward(self) -> np.ndarray:
        d = self.p.copy()
        d[np.arange(len(self.y)), self.y] -= 1
        return d / len(self.y)


class PlainSGD:
    def __init__(self, params: list[Param], lr: float) -> None:
        self.params, self.lr = params, lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        for p in self.params:
            p.data -= self.lr * p.grad


def _blobs(seed: int, n: int = 60, d: int = 4, k: int = 3, sep: float = 4.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * sep
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.normal(size=(n, d))
    return X, y


def _init(seed: int, d: int = 4, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(d, k)) * 0.1, np.zeros(k)


# ---- the loop against torch ------------------------------------------------------------------


@requires_torch
def test_fit_matches_torch_sgd() -> None:
    X, y = _blobs(0, n=50)
    W0, b0 = _init(1)
    model = LinearModel(W0, b0)
    hist = fit(model, SoftmaxCE(), PlainSGD(model.parameters(), lr=0.3),
               DataLoader(X, y, batch_size=16), epochs=3, quiet=True)

    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    opt = torch.optim.SGD([W, b], lr=0.3)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    losses, accs = [], []
    for _ in range(3):
        tot, correct = 0.0, 0
        for s in range(0, 50, 16):
            xb, yb = Xt[s : s + 16], yt[s : s + 16]
            opt.zero_grad()
            out = xb @ W + b
            loss = torch.nn.functional.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            tot += loss.item() * len(xb)
            correct += int((out.argmax(1) == yb).sum())
        losses.append(tot / 50)
        accs.append(correct / 50)
    np.testing.assert_allclose(model.W.data, W.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.b.data, b.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hist.train_loss, losses, rtol=1e-12)
    assert hist.train_acc == accs
    assert hist.val_loss == [] and hist.val_acc == [] and len(hist.time) == 3


def test_call_order_per_batch() -> None:
    log: list[str] = []

    class Model(LinearModel):
        def __call__(self, x):
            log.append("forward")
            return super().__call__(x)

        def backward(self, dout):
            log.append("model.backward")
            return super().backward(dout)

        def train(self):
            log.append("train")
            return super().train()

        def eval(self):
            log.append("eval")
            return super().eval()

    class Loss(SoftmaxCE):
        def __call__(self, logits, y):
            log.append("loss")
            return super().__call__(logits, y)

        def backward(self):
            log.append("loss.backward")
            return super().backward()

    class Opt(PlainSGD):
        def zero_grad(self):
            log.append("zero_grad")
            super().zero_grad()

        def step(self):
            log.append("step")
            super().step()

    X, y = _blobs(2, n=10)
    model = Model(*_init(3))
    fit(model, Loss(), Opt(model.parameters(), 0.1), DataLoader(X, y, batch_size=5),
        val=(X, y), epochs=2, quiet=True)
    batch = ["zero_grad", "forward", "loss", "loss.backward", "model.backward", "step"]
    val = ["eval", "forward", "loss", "train"]  # evaluate restores train mode
    assert log == (["train"] + batch * 2 + val) * 2


# ---- learning, evaluation, prediction ---------------------------------------------------------


def test_fit_learns_separable_problem() -> None:
    X, y = _blobs(4, n=120)
    model = LinearModel(*_init(5))
    hist = fit(model, SoftmaxCE(), PlainSGD(model.parameters(), lr=0.2),
               DataLoader(X[:90], y[:90], batch_size=10, shuffle=True, rng=0),
               val=(X[90:], y[90:]), epochs=15, quiet=True)
    assert hist.train_loss[-1] < 0.25 * hist.train_loss[0]
    assert hist.val_acc[-1] == 1.0 and hist.train_acc[-1] == 1.0
    assert hist.epochs == 15


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_evaluate_matches_sklearn(batch_size: int) -> None:
    X, y = _blobs(6, n=64, sep=0.5)
    model = LinearModel(*_init(7)).train()
    logits = X @ model.W.data + model.b.data
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    res = evaluate(model, SoftmaxCE(), (X, y), batch_size=batch_size)
    assert res["loss"] == pytest.approx(log_loss(y, p, labels=[0, 1, 2]), rel=1e-12)
    assert res["accuracy"] == accuracy_score(y, logits.argmax(1))
    assert model.training  # mode restored
    res2 = evaluate(model.eval(), None, DataLoader(X, y, batch_size=10))
    assert set(res2) == {"accuracy"} and not model.training


def test_accuracy_for_single_logit_outputs() -> None:
    class Score:
        training = False

        def __call__(self, x):
            return x[:, :1]

        def train(self):
            pass

        def eval(self):
            pass

    X = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    assert evaluate(Score(), None, (X, np.array([1, 0, 0, 0])))["accuracy"] == 0.75
    assert evaluate(Score(), None, (X, np.array([1, 1, -1, -1])))["accuracy"] == 0.5
    assert evaluate(Score(), None, (X, np.array([[1.0], [0.0], [1.0], [0.0]])))["accuracy"] == 1.0


def test_predict_uses_eval_mode_and_batches() -> None:
    class Dropoutish:
        training = True

        def __call__(self, x):
            return x * (3.0 if self.training else 2.0)

        def train(self):
            self.training = True

        def eval(self):
            self.training = False

    m = Dropoutish()
    X = np.arange(10.0).reshape(5, 2)
    np.testing.assert_array_equal(predict(m, X, batch_size=2), 2 * X)
    assert m.training


# ---- history and callbacks --------------------------------------------------------------------


def test_history_best_epoch_and_as_dict() -> None:
    h = History(train_loss=[1.0, 0.5, 0.4, 0.45], train_acc=[0.5, 0.7, 0.8, 0.8],
                val_loss=[1.1, 0.6, 0.7, 0.65], val_acc=[0.4, 0.7, 0.7, 0.75], time=[1.0] * 4)
    assert h.best_epoch() == 3  # default: val_error
    assert h.best_epoch("val_loss") == 1
    assert h.best_epoch("train_loss") == 2
    assert h.best_epoch("train_acc") == 2  # earliest of the ties
    assert h.metric("val_error") == pytest.approx([0.6, 0.3, 0.3, 0.25])
    d = h.as_dict()
    assert set(d) == {"train_loss", "train_acc", "val_loss", "val_acc", "time"}
    d["train_loss"].append(9.0)
    assert len(h.train_loss) == 4
    assert History(train_loss=[3.0, 2.0, 2.5]).best_epoch() == 1
    with pytest.raises(ValueError, match=r"monitor: the history has no val_acc values"):
        History(train_loss=[1.0]).best_epoch("val_error")
    with pytest.raises(ValueError, match=r"monitor: expected one of"):
        h.best_epoch("val_f1")


def test_early_stopping_rule_and_restore() -> None:
    model = LinearModel(np.zeros((1, 1)), np.zeros(1))
    es = EarlyStopping(patience=2)
    es.on_train_begin(model)
    h = History()
    errors = [0.5, 0.4, 0.45, 0.4, 0.42]  # best at epoch 1; 0.4 again is not a decrease
    stops = []
    for epoch, err in enumerate(errors):
        model.W.data[...] = epoch
        h.val_acc.append(1 - err)
        stops.append(es(epoch, h))
        if stops[-1]:
            break
    assert stops == [False, False, False, True]
    assert (es.best_epoch, es.stopped_epoch) == (1, 3)
    assert es.best == pytest.approx(0.4)
    es.on_train_end(model)
    assert model.W.data[0, 0] == 1.0


def test_early_stopping_in_fit_and_custom_callback() -> None:
    X, y = _blobs(8, n=60)
    model = LinearModel(*_init(9))
    snapshots = []

    def record(epoch: int, history: History) -> bool:
        snapshots.append(model.state_dict())
        return False

    es = EarlyStopping(patience=2, monitor="val_loss", min_delta=0.0)
    # the learning rate is far too large: the validation loss soon stops improving
    hist = fit(model, SoftmaxCE(), PlainSGD(model.parameters(), lr=50.0),
               DataLoader(X[:40], y[:40], batch_size=40), val=(X[40:], y[40:]),
               epochs=50, callbacks=[record, es], quiet=True)
    best = hist.best_epoch("val_loss")
    assert es.best_epoch == best
    assert hist.epochs == es.stopped_epoch + 1 == best + 3
    np.testing.assert_array_equal(model.W.data, snapshots[best]["W"])

    calls = []
    hist2 = fit(model, SoftmaxCE(), PlainSGD(model.parameters(), lr=0.1),
                DataLoader(X, y, batch_size=20), epochs=10, quiet=True,
                callbacks=[lambda e, h: calls.append(e) or e == 2])
    assert calls == [0, 1, 2] and hist2.epochs == 3


def _meta_algorithm_5_6(errors: list[float], n: int, p: int) -> tuple[int, int, int]:
    """Alg. 5.6 transcribed line by line; θ is the number of steps taken (θ_0 = 0) and the
    k-th evaluation sees errors[k]. Returns (θ*, i*, steps run)."""
    theta, i, j, v = 0, 0, 0, math.inf
    theta_star, i_star = theta, i
    k = 0
    while j < p and k < len(errors):
        theta += n                      # run the training algorithm n steps
        i += n
        v_new = errors[k]
        k += 1
        if v_new < v:
            j, theta_star, i_star, v = 0, theta, i, v_new
        else:
            j += 1
    return theta_star, i_star, i


@pytest.mark.parametrize("interval, steps_per_epoch, patience", [(1, 3, 2), (2, 3, 2), (3, 1, 1)])
def test_early_stopping_matches_meta_algorithm_5_6(interval: int, steps_per_epoch: int,
                                                   patience: int) -> None:
    # evaluation k of alg. 5.6 comes after epoch (k + 1)·interval − 1; the epochs in between
    # report 0.0, which would be the best value if EarlyStopping did not skip them
    evals = [0.9, 0.7, 0.8, 0.6, 0.65, 0.61, 0.6, 0.7, 0.5]
    per_epoch = [evals[e // interval] if (e + 1) % interval == 0 else 0.0
                 for e in range(interval * len(evals))]
    model = Linear(1, 1)
    model.W.data[...] = 0.0                       # θ = the number of steps taken

    def step(batch: int) -> dict[str, float]:
        epoch = int(model.W.data[0, 0]) // steps_per_epoch
        model.W.data[...] += 1.0
        return {"err": per_epoch[epoch]}

    es = EarlyStopping(patience=patience, monitor="train_err", interval=interval,
                       steps_per_epoch=steps_per_epoch)
    hist = fit(model=model, train_loader=range(steps_per_epoch), step=step,
               epochs=len(per_epoch), callbacks=[es], quiet=True)
    n = interval * steps_per_epoch
    theta_star, i_star, steps_run = _meta_algorithm_5_6(evals, n, patience)
    assert es.best_step == i_star
    assert model.W.data[0, 0] == theta_star == es.best_state["W"][0, 0]
    assert hist.epochs * steps_per_epoch == steps_run
    assert es.evaluations == steps_run // n


def test_early_stopping_interval_arguments() -> None:
    es = EarlyStopping(patience=1, restore_best=False)
    assert es.best_step is None and es.best_state is None and es.interval == 1
    with pytest.raises(ValueError, match=r"interval"):
        EarlyStopping(interval=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch"):
        EarlyStopping(steps_per_epoch=0)
    with pytest.raises(TypeError, match=r"steps_per_epoch"):
        EarlyStopping(steps_per_epoch=1.5)


def test_output_goes_to_stdout_only(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = _blobs(10, n=20)
    model = LinearModel(*_init(11))
    fit(model, SoftmaxCE(), PlainSGD(model.parameters(), 0.1),
        DataLoader(X, y, batch_size=5), val=(X, y), epochs=2)
    out, err = capsys.readouterr()
    assert err == ""
    assert "epoch 1/2" in out and "epoch 2/2" in out and "val_acc" in out
    fit(model, SoftmaxCE(), PlainSGD(model.parameters(), 0.1),
        DataLoader(X, y, batch_size=5), epochs=1, quiet=True)
    assert capsys.readouterr() == ("", "")


def test_argument_errors() -> None:
    X, y = _blobs(12, n=10)
    model = LinearModel(*_init(13))
    args = (model, SoftmaxCE(), PlainSGD(model.parameters(), 0.1))
    loader = DataLoader(X, y, batch_size=5)
    with pytest.raises(ValueError, match=r"epochs: expected an integer >= 1, got 0"):
        fit(*args, loader, epochs=0, quiet=True)
    with pytest.raises(TypeError, match=r"train_loader: expected a DataLoader, got a tuple"):
        fit(*args, (X, y), quiet=True)
    with pytest.raises(TypeError, match=r"metrics: expected a tuple of names"):
        fit(*args, loader, metrics="accuracy", quiet=True)
    with pytest.raises(ValueError, match=r"metrics: expected one of \['accuracy'\]"):
        fit(*args, loader, metrics=("f1",), quiet=True)
    with pytest.raises(TypeError, match=r"callbacks: expected callables"):
        fit(*args, loader, callbacks=[3], quiet=True)
    with pytest.raises(ValueError, match=r"patience: expected an integer >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(TypeError, match=r"data: expected a DataLoader"):
        evaluate(model, None, X)


# ---- with the package's own modules (when present) --------------------------------------------


def test_fit_digits_with_package_modules() -> None:
    losses = pytest.importorskip("dlcourse.losses")
    optim = pytest.importorskip("dlcourse.optim")
    mlp = pytest.importorskip("dlcourse.models.mlp")
    Xtr, ytr = load_digits("train")
    Xte, yte = load_digits("test")
    model = mlp.MLP([64, 32, 10], rng=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    hist = fit(model, losses.CrossEntropyLoss(), opt,
               DataLoader(Xtr, ytr, batch_size=64, shuffle=True, rng=0),
               val=(Xte, yte), epochs=8, quiet=True, callbacks=[EarlyStopping(patience=3)])
    assert max(hist.val_acc) > 0.93
    assert evaluate(model, None, (Xte, yte))["accuracy"] == max(hist.val_acc)


# ---- the supervised loop is a step --------------------------------------------------------------


def test_supervised_fit_is_the_supervised_step() -> None:
    X, y = _blobs(20, n=45)
    runs = []
    for explicit in (False, True):
        model = LinearModel(*_init(21))
        loss, opt = SoftmaxCE(), PlainSGD(model.parameters(), lr=0.2)
        loader = DataLoader(X[:35], y[:35], batch_size=10)
        if explicit:
            h = fit(model=model, train_loader=loader, step=supervised_step(model, loss, opt),
                    val=(X[35:], y[35:]), val_step=evaluation_step(model, loss), epochs=3,
                    quiet=True)
        else:
            h = fit(model, loss, opt, loader, val=(X[35:], y[35:]), epochs=3, quiet=True)
        runs.append((h, model.W.data.copy()))
    (h1, W1), (h2, W2) = runs
    np.testing.assert_array_equal(W1, W2)
    assert list(h1) == list(h2) == ["train_loss", "train_acc", "val_loss", "val_acc", "time"]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert h1[key] == h2[key]


def test_fit_asks_for_no_input_gradient_when_backward_accepts_need_dx() -> None:
    flags: list[bool] = []

    class Model(LinearModel):
        def backward(self, dout, need_dx=True):
            flags.append(need_dx)
            dx = super().backward(dout)
            return dx if need_dx else None

    X, y = _blobs(22, n=12)
    model = Model(*_init(23))
    fit(model, SoftmaxCE(), PlainSGD(model.parameters(), 0.1), DataLoader(X, y, batch_size=5),
        epochs=2, quiet=True)
    assert flags == [False] * 6


def test_metrics_as_callables_and_dict() -> None:
    X, y = _blobs(24, n=60, sep=1.0)

    def macro_f1(y_true, out):
        return f1_score(y_true, np.argmax(out, axis=1), average="macro")

    model = LinearModel(*_init(25))
    h = fit(model, SoftmaxCE(), PlainSGD(model.parameters(), 0.1),
            DataLoader(X[:40], y[:40], batch_size=40), val=(X[40:], y[40:]), epochs=2,
            metrics=[macro_f1, "accuracy"], quiet=True)
    assert list(h) == ["train_loss", "train_macro_f1", "train_acc", "val_loss",
                       "val_macro_f1", "val_acc", "time"]
    logits = X[40:] @ model.W.data + model.b.data  # the final weights, as validated
    assert h.val_macro_f1[-1] == pytest.approx(
        f1_score(y[40:], logits.argmax(1), average="macro"), abs=1e-15)
    res = evaluate(model, None, (X[40:], y[40:]), metrics={"f1": macro_f1})
    assert res == {"f1": h.val_macro_f1[-1]}
    with pytest.raises(TypeError, match=r"metrics: a callable without a usable name"):
        evaluate(model, None, (X, y), metrics=[lambda t, o: 0.0])
    with pytest.raises(ValueError, match=r"metrics: expected distinct names other than 'loss'"):
        evaluate(model, None, (X, y), metrics={"loss": macro_f1})
    with pytest.raises(ValueError, match=r"metrics: with loss=None at least one metric"):
        evaluate(model, None, (X, y), metrics=())


@requires_torch
def test_sequence_model_with_padding_through_fit() -> None:
    """(N, T, D) inputs -> (N, T, V) logits with padded (N, T) targets: loss and accuracy
    of the first epoch (one batch, recorded before the update) against torch and numpy."""
    rng = np.random.default_rng(26)
    N, T, D, V, PAD = 5, 6, 3, 4, -100
    X = rng.normal(size=(N, T, D))
    y = rng.integers(0, V, size=(N, T))
    y[:, 4:] = PAD  # padded tails
    model = Linear(D, V, rng=27)
    W0, b0 = model.W.data.copy(), model.b.data.copy()
    h = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1),
            DataLoader(X, y, batch_size=N), epochs=1, quiet=True,
            metrics={"accuracy": lambda t, o: output_accuracy(t, o, ignore_index=PAD)})
    logits = X @ W0 + b0
    ref = torch.nn.functional.cross_entropy(torch.tensor(logits).permute(0, 2, 1),
                                            torch.tensor(y), ignore_index=PAD)
    assert h.train_loss[0] == pytest.approx(ref.item(), rel=1e-12)
    keep = y != PAD
    assert h.train_acc[0] == pytest.approx(np.mean(logits.argmax(-1)[keep] == y[keep]), abs=1e-15)


# ---- no_grad in evaluation -----------------------------------------------------------------------


def test_evaluate_predict_and_validation_keep_no_caches() -> None:
    seen: list[tuple[str, bool]] = []

    class Spy(Linear):
        def forward(self, x):
            seen.append(("train" if self.training else "eval", is_grad_enabled()))
            return super().forward(x)

    X, y = _blobs(28, n=30)
    model = Spy(4, 3, rng=29)
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1),
        DataLoader(X, y, batch_size=15), val=(X, y), epochs=1, quiet=True)
    assert seen == [("train", True)] * 2 + [("eval", False)]
    seen.clear()
    evaluate(model, CrossEntropyLoss(), (X, y), batch_size=7)
    predict(model, X, batch_size=7)
    assert seen == [("eval", False)] * 10 and model.training
    assert model.num_cached_calls == 0
    model(X)  # a training forward does keep its cache
    assert model.num_cached_calls == 1


def test_predict_rejects_tuple_outputs() -> None:
    class Recurrentish(Module):
        def forward(self, x):
            return x, x[:, -1]

    with pytest.raises(TypeError, match=r"model: predict expects an array output, got tuple"):
        predict(Recurrentish(), np.zeros((3, 2)))


# ---- step= runs ----------------------------------------------------------------------------------


class _Pair(Module):
    """Holds a generator and a discriminator: fit switches their modes, callbacks see both."""

    def __init__(self, G: Module, D: Module) -> None:
        super().__init__()
        self.G, self.D = G, D


def _gan_step(G, D, opt_g, opt_d, noise):
    bce = BCEWithLogitsLoss()

    def step(batch):
        xb, _ = batch
        n = len(xb)
        z = noise.standard_normal((n, 2))
        # discriminator: real -> 1, fake -> 0; the fake batch is data here (no caches in G)
        opt_d.zero_grad()
        with no_grad():
            fake = G(z)
        d_real = bce(D(xb), np.ones((n, 1)))
        D.backward(bce.backward(), need_dx=False)
        d_fake = bce(D(fake), np.zeros((n, 1)))
        D.backward(bce.backward(), need_dx=False)
        opt_d.step()
        # generator: make D say 1, through the frozen discriminator
        D.requires_grad_(False)
        opt_g.zero_grad()
        g_loss = bce(D(G(z)), np.ones((n, 1)))
        G.backward(D.backward(bce.backward()), need_dx=False)
        opt_g.step()
        D.requires_grad_(True)
        return {"d_loss": d_real + d_fake, "g_loss": g_loss}

    return step


@requires_torch
def test_two_network_alternating_step_matches_torch() -> None:
    tf = torch.nn.functional
    X = np.random.default_rng(30).normal(loc=2.0, size=(20, 2))
    G, D = Linear(2, 2, rng=31), Linear(2, 1, rng=32)
    tG = [torch.tensor(a.T.copy() if a.ndim == 2 else a.copy(), requires_grad=True)
          for a in (G.W.data, G.b.data)]
    tD = [torch.tensor(a.T.copy() if a.ndim == 2 else a.copy(), requires_grad=True)
          for a in (D.W.data, D.b.data)]
    pair = _Pair(G, D)
    h = fit(model=pair, train_loader=DataLoader(X, batch_size=8), epochs=3, quiet=True,
            step=_gan_step(G, D, SGD(G.parameters(), lr=0.1), SGD(D.parameters(), lr=0.2),
                           np.random.default_rng(33)))
    assert pair.training and list(h) == ["train_d_loss", "train_g_loss", "time"]

    opt_g, opt_d = torch.optim.SGD(tG, lr=0.1), torch.optim.SGD(tD, lr=0.2)
    noise = np.random.default_rng(33)
    d_means, g_means = [], []
    for _ in range(3):
        d_sum = g_sum = 0.0
        for s in range(0, 20, 8):  # batches of 8, 8, 4: the epoch mean weighs them 8:8:4
            xb = torch.tensor(X[s:s + 8])
            n = len(xb)
            z = torch.tensor(noise.standard_normal((n, 2)))
            ones = torch.ones(n, 1, dtype=torch.float64)
            opt_d.zero_grad()
            fake = tf.linear(z, *tG).detach()
            d_loss = (tf.binary_cross_entropy_with_logits(tf.linear(xb, *tD), ones)
                      + tf.binary_cross_entropy_with_logits(tf.linear(fake, *tD), 0 * ones))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = tf.binary_cross_entropy_with_logits(tf.linear(tf.linear(z, *tG), *tD), ones)
            g_loss.backward()
            opt_g.step()
            d_sum += d_loss.item() * n
            g_sum += g_loss.item() * n
        d_means.append(d_sum / 20)
        g_means.append(g_sum / 20)
    np.testing.assert_allclose(h.train_d_loss, d_means, rtol=1e-12)
    np.testing.assert_allclose(h.train_g_loss, g_means, rtol=1e-12)
    np.testing.assert_allclose(G.W.data, tG[0].detach().numpy().T, rtol=1e-12)
    np.testing.assert_allclose(D.W.data, tD[0].detach().numpy().T, rtol=1e-12)
    np.testing.assert_allclose(D.b.data, tD[1].detach().numpy(), rtol=1e-12)


def test_no_backward_step_and_batch_size_weighting() -> None:
    """A step that updates an estimate directly (no loss, no backward, no optimizer), as CD-k
    updates an RBM: a running mean over the first pass. After epoch 1 the estimate is the data
    mean, so epoch 2 records the mean squared distance to it, the total variance, only if the
    batches (8, 8, 4) are weighted by their size."""
    X = np.random.default_rng(34).normal(size=(20, 3)) * [1.0, 2.0, 3.0]
    state = {"mu": np.zeros(3), "seen": 0}

    def running_mean_step(batch):
        xb, _ = batch
        dist = float(np.mean(np.sum((xb - state["mu"]) ** 2, axis=1)))
        if state["seen"] < len(X):  # the first pass: exact running mean
            state["seen"] += len(xb)
            state["mu"] = state["mu"] + (xb.sum(axis=0) - len(xb) * state["mu"]) / state["seen"]
        return {"sq_dist": dist}

    h = fit(train_loader=DataLoader(X, batch_size=8), step=running_mean_step, epochs=2,
            quiet=True)
    np.testing.assert_allclose(state["mu"], X.mean(axis=0), rtol=1e-12)
    assert h.train_sq_dist[1] == pytest.approx(np.sum(X.var(axis=0)), rel=1e-12)
    assert h.epochs == 2 and len(h.time) == 2


def test_environment_steps_missing_values_and_validation_step() -> None:
    """range(k) loader: k steps per epoch, weight 1 each; a value a step does not report in
    some epoch is NaN there; val_step runs under no_grad over its own data."""
    calls = {"n": 0}

    def agent_step(i):
        calls["n"] += 1
        values = {"steps": 1.0, "eps": 0.5 ** calls["n"]}
        if calls["n"] > 4 and i == 3:  # an episode ends only in epoch 2
            values["return"] = 7.0
        return values

    grad_flags = []

    def greedy_eval(batch):
        xb, _ = batch
        grad_flags.append(is_grad_enabled())
        return {"return": float(xb.sum())}

    h = fit(train_loader=range(4), step=agent_step, epochs=2, quiet=True,
            val=DataLoader(np.array([[1.0], [2.0], [3.0]]), batch_size=2), val_step=greedy_eval)
    assert h.train_steps == [1.0, 1.0]
    assert h.train_eps == pytest.approx([(0.5 + 0.25 + 0.125 + 0.0625) / 4,
                                         (0.5**5 + 0.5**6 + 0.5**7 + 0.5**8) / 4], rel=1e-15)
    assert math.isnan(h.train_return[0]) and h.train_return[1] == 7.0
    # validation mean weighted by batch size: batches [1, 2] (sum 3) and [3] (sum 3)
    assert h.val_return == [pytest.approx((3.0 * 2 + 3.0 * 1) / 3)] * 2
    assert grad_flags == [False] * 4
    assert h.best_epoch("train_return") == 1  # NaN never wins; returns are maximised


def test_step_run_output_and_early_stopping_on_a_step_value(capsys) -> None:
    values = iter([3.0, 2.0, 2.5, 2.4, 1.0])

    def step(batch):
        return {"g_loss": next(values), "d_loss": np.float32(0.5)}

    es = EarlyStopping(patience=2, monitor="train_g_loss", restore_best=False)
    h = fit(train_loader=range(1), step=step, epochs=5, callbacks=[es])
    assert h.train_g_loss == [3.0, 2.0, 2.5, 2.4] and es.best_epoch == 1
    out, err = capsys.readouterr()
    assert err == "" and "g_loss 2.0000  d_loss 0.5000" in out
    with pytest.raises(ValueError, match=r"model: EarlyStopping\(restore_best=True\)"):
        fit(train_loader=range(1), step=step, epochs=1, callbacks=[EarlyStopping()], quiet=True)


def test_mixing_the_two_kinds_of_run_raises() -> None:
    X, y = _blobs(35, n=10)
    model = LinearModel(*_init(36))
    loss, opt = SoftmaxCE(), PlainSGD(model.parameters(), 0.1)
    loader = DataLoader(X, y, batch_size=5)

    def step(batch):
        return {"loss": 0.0}

    cases = [
        (dict(model=model, loss=loss, train_loader=loader), r"fit: missing optimizer"),
        (dict(), r"fit: missing model, loss, optimizer, train_loader"),
        (dict(model=model, loss=loss, optimizer=opt, train_loader=loader, val=(X, y),
              val_step=step), r"val_step: only with step="),
        (dict(loss=loss, train_loader=loader, step=step), r"loss: with step= the step does"),
        (dict(optimizer=opt, train_loader=loader, step=step), r"optimizer: with step="),
        (dict(train_loader=loader, step=step, metrics=("accuracy",)),
         r"metrics: with step= the step returns its own values"),
        (dict(step=step), r"train_loader: expected the batches the step runs on"),
        (dict(train_loader=loader, step=step, val=(X, y)), r"val, val_step: with step="),
        (dict(train_loader=loader, step="step"), r"step: expected a callable"),
        (dict(train_loader=loader, step=lambda b: 1.0), r"step: expected step\(batch\) to "
         r"return a dict of floats such as \{'loss': 0.5\}, got float"),
        (dict(train_loader=loader, step=lambda b: {"x": np.ones(2)}),
         r"step: expected str -> float in the returned dict, got 'x'"),
        (dict(model=model, loss=loss, optimizer=opt, train_loader=DataLoader(X, batch_size=5)),
         r"train_loader: a supervised step expects \(xb, yb\) batches"),
    ]
    for kwargs, match in cases:
        with pytest.raises(TypeError, match=match):
            fit(quiet=True, **kwargs)
