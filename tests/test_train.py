"""Tests of dlcourse/train.py with test-local modules (torch and scikit-learn as references).

The model, loss and optimizer below implement the package's protocols in a few lines, so
these tests do not depend on dlcourse.nn / losses / optim; one integration test uses them
when they are present.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss

from dlcourse.data import DataLoader, load_digits
from dlcourse.train import EarlyStopping, History, evaluate, fit, predict

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


# ---- the loop against torch -------------------------------------------------------------------


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


# ---- learning, evaluation, prediction ----------------------------------------------------------


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


# ---- history and callbacks ---------------------------------------------------------------------


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


# ---- with the package's own modules (when present) ---------------------------------------------


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
