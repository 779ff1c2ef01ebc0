"""CI gates that prove the grading is real (issue 2, section 4). Not graded themselves.

1. ``solutions/`` scores 100 %.
2. The generated ``exercises/`` score 0, with every graded test failing.
3. A tree where only exercise X is stubbed fails exactly X's tests and those of the exercises
   that (transitively) declare X in ``depends``; every other test of X's module passes.
4. Mutants lose the points of their exercise, each with the first failure line it should give
   (so the line a student reads says what is wrong): typical wrong answers, including those
   that a final accuracy cannot tell apart (no ``zero_grad``, no shuffle, a dropped last
   batch, a re-seeded shuffle, a tie, a missing middle class), and, for every reference an
   exercise forbids, an answer that calls it. Every exercise has mutants.
5. Hostile student code (infinite loops, exceptions, prints, input mutation, syntax errors,
   ``os._exit``, a whole-run timeout) gives FAIL lines and a complete report, not a crash;
   the ``dlcourse grade`` command works end to end.

The grader runs pytest in subprocesses; independent runs go through a thread pool.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dlcourse.grading import exercise_ids, repo_root, stub_only
from dlcourse.grading.runner import GradeRun, run_grade

ROOT = repo_root()
WORKERS = max(2, min(4, os.cpu_count() or 2))


def _grade(impl: str | Path, json_path: Path, target: str | None = None, **kw: Any) -> GradeRun:
    kw.setdefault("timeout", 300.0)
    return run_grade(target, impl, json_path=json_path, root=ROOT, **kw)


def _parallel(jobs: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: fut.result() for key, fut in futures.items()}


def _tests(run: GradeRun) -> dict[str, dict[str, Any]]:
    assert run.report is not None, f"grading {run.status}:\n{run.output[-3000:]}"
    return run.report["tests"]


def _rows(run: GradeRun) -> dict[str, Any]:
    return {r.exercise: r for r in run.results}


def _mutated_tree(dest: Path, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of solutions/ with ``(file, old, new)`` replacements (each ``old`` must occur
    exactly once when its edit is applied)."""
    shutil.copytree(ROOT / "solutions", dest)
    for name, old, new in edits:
        text = (dest / name).read_text(encoding="utf-8")
        count = text.count(old)
        assert count == 1, f"mutation target found {count} times in solutions/{name}: {old!r}"
        (dest / name).write_text(text.replace(old, new), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeRun]:
    tmp = tmp_path_factory.mktemp("full")
    return _parallel(
        {tree: (lambda t=tree: _grade(t, tmp / f"{t}.json")) for tree in ("solutions", "exercises")}
    )


def _dependents(tests: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Exercise -> every exercise that depends on it, directly or transitively."""
    direct: dict[str, set[str]] = {}
    for rec in tests.values():
        for dep in rec["depends"]:
            direct.setdefault(dep, set()).add(rec["exercise"])
    closure: dict[str, set[str]] = {}
    for ex in {rec["exercise"] for rec in tests.values()}:
        seen: set[str] = set()
        stack = list(direct.get(ex, ()))
        while stack:
            d = stack.pop()
            if d not in seen:
                seen.add(d)
                stack.extend(direct.get(d, ()))
        closure[ex] = seen
    return closure


# ---------------------------------------------------------------- gates 1 and 2
def test_gate1_solutions_score_100(full_runs: dict[str, GradeRun]) -> None:
    run = full_runs["solutions"]
    failing = {k: v["message"] for k, v in _tests(run).items() if v["outcome"] != "passed"}
    assert not failing, f"the reference fails graded tests: {failing}"
    assert run.status == "complete" and run.report["total"]["percent"] == 100.0
    graded = set(_rows(run))
    assert graded == set(exercise_ids(ROOT)), "every exercise region needs graded tests and v.v."
    wrong = {
        k: v["modules"] for k, v in _tests(run).items()
        if v["modules"] != [v["exercise"].split(".")[0]]
    }
    assert not wrong, f"graded tests must load_impl() their own module, and only it: {wrong}"


def test_gate2_stubs_score_0_and_every_test_fails(full_runs: dict[str, GradeRun]) -> None:
    run = full_runs["exercises"]
    tests = _tests(run)
    passing = [k for k, v in tests.items() if v["outcome"] != "failed"]
    assert not passing, f"graded tests that do not fail on the stubs: {passing}"
    assert run.status == "complete" and run.earned == 0 and run.points > 0
    for ex in _rows(run):
        own = [v["message"] for v in tests.values() if v["exercise"] == ex]
        assert any(f"exercise {ex}" in m for m in own), f"{ex}: no test fails on its own stub"


# ---------------------------------------------------------------- gate 3
def _batches(ids: list[str], dependents: dict[str, set[str]]) -> list[list[str]]:
    """Group ids so that one run checks several: at most one id per module, and no two ids
    related by ``depends`` or sharing a dependent (their failures stay attributable).
    Sound because a graded test imports only its own module (checked by gate 1)."""
    batches: list[list[str]] = []
    for ex in ids:
        for batch in batches:
            if all(
                ex.split(".")[0] != other.split(".")[0]
                and ex not in dependents[other] and other not in dependents[ex]
                and not dependents[ex] & dependents[other]
                for other in batch
            ):
                batch.append(ex)
                break
        else:
            batches.append([ex])
    return batches


def test_gate3_one_stub_fails_exactly_its_tests_and_dependents(
    full_runs: dict[str, GradeRun], tmp_path: Path
) -> None:
    reference = _tests(full_runs["solutions"])
    dependents = _dependents(reference)
    batches = _batches(sorted(exercise_ids(ROOT)), dependents)

    def job(k: int) -> GradeRun:
        tree = stub_only(batches[k], tmp_path / f"b{k}" / "tree")
        modules = sorted({ex.split(".")[0] for ex in batches[k]})
        return _grade(tree, tmp_path / f"b{k}" / "report.json", target=",".join(modules))

    runs = _parallel({str(k): (lambda k=k: job(k)) for k in range(len(batches))})
    problems = []
    for k, batch in enumerate(batches):
        run = runs[str(k)]
        tests, rows = _tests(run), _rows(run)
        modules = {ex.split(".")[0] for ex in batch}
        expected = {n for n, v in reference.items() if v["exercise"].split(".")[0] in modules}
        if set(tests) != expected:
            problems.append(f"{batch}: ran {len(tests)} tests, expected {len(expected)}")
        allowed = set(batch).union(*(dependents[ex] for ex in batch))
        for nodeid, rec in tests.items():
            owner = rec["exercise"]
            stub_failure = rec["outcome"] == "failed" and f"exercise {owner}" in rec["message"]
            if owner in batch and not stub_failure:
                problems.append(f"{owner}: its test {nodeid} does not fail on its stub: {rec}")
            elif owner not in allowed and rec["outcome"] != "passed":
                problems.append(f"{batch}: unrelated test {nodeid} fails: {rec['message']}")
        for ex in batch:
            for dep in dependents[ex]:
                if dep in rows and rows[dep].passed:
                    problems.append(f"{dep} declares depends on {ex} but passes with {ex} stubbed")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- gate 4
class Mutant(NamedTuple):
    """A typical wrong answer: ``edits`` (old, new) applied to ``solutions/<file>`` must make
    ``exercise`` lose its points with a first failure matching the regex ``expect``."""

    exercise: str
    file: str
    edits: list[tuple[str, str]]
    expect: str


def _m(exercise: str, file: str, old: str, new: str, expect: str) -> Mutant:
    return Mutant(exercise, file, [(old, new)], expect)


def _calls(exercise: str, file: str, old: str, new: str, name: str) -> Mutant:
    """An answer that calls the package's reference ``name`` (forbidden in ``exercise``)."""
    return _m(exercise, file, old, new, f"may not call {re.escape(name)}$")


_LAB1_TRAIN_LOOP = "    for _ in range(epochs):\n        order = rng.permutation(N)\n"
_FIT = """\
    from dlcourse.train import fit

    class _Loss:
        def __call__(self, logits, targets):
            self.value, self.grad = softmax_cross_entropy(logits, targets)
            return self.value

        def backward(self):
            return self.grad

    batches = [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, N, batch_size)]
    fit(model, _Loss(), opt, batches, epochs=epochs, quiet=True)
    return model
"""
_SIGMOID_FWD = (
    "        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows\n"
    "        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n"
)
_SOFTMAX_CE = "    N = logits.shape[0]\n    rows = np.arange(N)\n"
_LAYER_BWD = "    return delta @ W.T, X.T @ delta, delta.sum(axis=0)\n"
_SOFTMAX_G = (
    "        G = (F.softmax(X @ W + b) - onehot) / N  # (N, C): differs from class to class\n"
)
_DELTA_L = "    delta = (np.exp(logp) - F.one_hot(y, logp.shape[1])) / N  # δ⁽ᴸ⁾\n"

MUTANTS: list[Mutant] = [
    # ------------------------------------------------------------ lab 1
    _m("lab1.linear_backward", "lab1.py", "self.b.grad += dout.sum(axis=0)",
       "self.b.grad += dout.mean(axis=0)", r"Linear.backward: db: relative error"),
    _m("lab1.linear_backward", "lab1.py", "self.W.grad += self.x.T @ dout",
       "self.W.grad = self.x.T @ dout", r"must add \(\+=\) into W.grad: expected .* at index"),
    _m("lab1.linear_forward", "lab1.py", "return x @ self.W.data + self.b.data",
       "return x @ self.W.data", r"Linear.forward\(x\): expected -?[\d.]+ at index \[\d, \d\]"),
    _m("lab1.softmax_ce", "lab1.py", "return loss, dlogits / N", "return loss, dlogits",
       r"dlogits \(mean over N\?\): relative error"),
    _m("lab1.softmax_ce", "lab1.py", "z = logits - logits.max(axis=1, keepdims=True)",
       "z = logits", r"overflow"),
    _m("lab1.sgd_step", "lab1.py", "p.data -= self.lr * (p.grad + self.weight_decay * p.data)",
       "p.data -= self.lr * p.grad", r"params\[0\].data after 3 steps: expected"),
    _m("lab1.train_linear", "lab1.py", "lr=lr)\n", "lr=lr * 1e-3)\n",
       r"W after step 0: expected .*lr = 0.5"),
    _m("lab1.train_linear", "lab1.py", "            opt.zero_grad()\n", "",
       r"at step 1, W.grad holds this mini-batch's gradient plus the previous one"),
    _m("lab1.train_linear", "lab1.py", "        order = rng.permutation(N)\n",
       "        order = np.arange(N)\n", r"epoch 0 visited the samples in their stored order"),
    _m("lab1.train_linear", "lab1.py", "        for start in range(0, N, batch_size):\n",
       "        for start in range(0, N - batch_size + 1, batch_size):\n",
       r"expected 20 epochs × 45 mini-batches = 900 optimiser steps, got 880"),
    _m("lab1.train_linear", "lab1.py", "        order = rng.permutation(N)\n",
       "        order = np.random.default_rng(0).permutation(N)\n",
       r"epochs 0 and 1 visited the samples in the same order"),
    _m("lab1.train_linear", "lab1.py", "        order = rng.permutation(N)\n",
       "        order = np.random.permutation(N)\n", r"two runs with rng=0 gave different"),
    _calls("lab1.linear_forward", "lab1.py", "        return x @ self.W.data + self.b.data\n",
           "        from dlcourse.nn import Linear as Reference\n\n"
           "        ref = Reference(*self.W.data.shape)\n"
           "        ref.W.data[...] = self.W.data\n        ref.b.data[...] = self.b.data\n"
           "        return ref(x)\n", "dlcourse.nn.Linear"),
    _calls("lab1.linear_forward", "lab1.py", "        return x @ self.W.data + self.b.data\n",
           "        from dlcourse.nn.linear import linear_forward\n\n"
           "        return linear_forward(x, self.W.data, self.b.data)[0]\n",
           "dlcourse.nn.linear.linear_forward"),
    _calls("lab1.linear_backward", "lab1.py", "        self.W.grad += self.x.T @ dout\n",
           "        import dlcourse\n\n        ref = dlcourse.nn.Linear(*self.W.data.shape)\n"
           "        ref.W.data[...] = self.W.data\n"
           "        ref(self.x)\n        ref.backward(dout)\n"
           "        self.W.grad += ref.W.grad\n", "dlcourse.nn.Linear"),
    _calls("lab1.linear_backward", "lab1.py", "        self.W.grad += self.x.T @ dout\n",
           "        from dlcourse.nn.linear import LinearCache, linear_backward\n\n"
           "        _, dW, _ = linear_backward(dout, LinearCache(self.x, self.W.data, True))\n"
           "        self.W.grad += dW\n", "dlcourse.nn.linear.linear_backward"),
    _calls("lab1.sgd_step", "lab1.py",
           "        for p in self.params:\n            p.data -= self.lr * (p.grad + self",
           "        from dlcourse import optim\n\n"
           "        if not hasattr(self, 'reference'):\n"
           "            self.reference = optim.SGD(self.params, self.lr,\n"
           "                                       weight_decay=self.weight_decay)\n"
           "        self.reference.step()\n"
           "        for p in []:\n            p.data -= self.lr * (p.grad + self",
           "dlcourse.optim.SGD"),
    _calls("lab1.softmax_ce", "lab1.py", _SOFTMAX_CE,
           "    from dlcourse import losses\n\n    return losses.softmax_cross_entropy(logits, y)\n"
           + _SOFTMAX_CE, "dlcourse.losses.softmax_cross_entropy"),
    _calls("lab1.softmax_ce", "lab1.py", _SOFTMAX_CE,
           "    import dlcourse.losses as L\n\n    ce = L.CrossEntropyLoss()\n"
           "    return ce(logits, y), ce.backward()\n" + _SOFTMAX_CE,
           "dlcourse.losses.CrossEntropyLoss"),
    _calls("lab1.softmax_ce", "lab1.py",
           "    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))\n",
           "    from dlcourse.functional import log_softmax\n\n    log_p = log_softmax(logits)\n",
           "dlcourse.functional.log_softmax"),
    _calls("lab1.softmax_ce", "lab1.py", "    dlogits = np.exp(log_p)\n",
           "    from dlcourse import functional as F\n\n    dlogits = F.softmax(logits)\n",
           "dlcourse.functional.softmax"),
    _calls("lab1.train_linear", "lab1.py", _LAB1_TRAIN_LOOP, _FIT + _LAB1_TRAIN_LOOP,
           "dlcourse.train.fit"),
    _calls("lab1.train_linear", "lab1.py", "    opt = SGD(model.parameters(), lr=lr)\n",
           "    from dlcourse import optim\n\n    opt = optim.SGD(model.parameters(), lr=lr)\n",
           "dlcourse.optim.SGD"),
    _calls("lab1.train_linear", "lab1.py", "    model = Linear(D, int(y.max()) + 1, rng=rng)\n",
           "    import dlcourse.nn\n\n"
           "    model = dlcourse.nn.Linear(D, int(y.max()) + 1, rng=rng)\n",
           "dlcourse.nn.Linear"),
    _calls("lab1.train_linear", "lab1.py",
           "            _, dlogits = softmax_cross_entropy(model(X[idx]), y[idx])\n",
           "            from dlcourse import losses\n\n"
           "            _, dlogits = losses.softmax_cross_entropy(model(X[idx]), y[idx])\n",
           "dlcourse.losses.softmax_cross_entropy"),
    _calls("lab1.train_linear", "lab1.py",
           "            _, dlogits = softmax_cross_entropy(model(X[idx]), y[idx])\n",
           "            from dlcourse.losses import CrossEntropyLoss\n\n"
           "            ce = CrossEntropyLoss()\n            ce(model(X[idx]), y[idx])\n"
           "            dlogits = ce.backward()\n", "dlcourse.losses.CrossEntropyLoss"),
    # ------------------------------------------------------------ lab 2
    _m("lab2.relu", "lab2.py", "return dout * (self.x > 0)", "return dout * (dout > 0)",
       r"ReLU.backward: dx: relative error"),
    _m("lab2.relu", "lab2.py", "return np.maximum(x, 0.0)", "return np.maximum(x, 0.0, out=x)",
       r"modified its input x"),
    _m("lab2.sigmoid", "lab2.py",
       "self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
       "self.out = 1.0 / (1.0 + np.exp(-x))", r"overflow"),
    _m("lab2.tanh", "lab2.py", "return dout * (1.0 - self.out**2)",
       "return dout * (1.0 - self.out)", r"Tanh.backward: dx: relative error"),
    _m("lab2.adam_step", "lab2.py", "M_hat = M / (1.0 - beta1**self.t)", "M_hat = M",
       r"Adam: first step: expected"),
    _m("lab2.build_mlp", "lab2.py", "if i > 0:\n", "if True:\n",
       r"build_mlp: layers: expected \['Linear', 'ReLU'"),
    _m("lab2.build_mlp", "lab2.py", "layers.append(Linear(fan_in, fan_out, rng=rng))",
       "layers.append(Linear(fan_in, fan_out, rng=0))", r"build_mlp.*parameter 2: expected"),
    _m("lab2.build_mlp", "lab2.py",
       "    rng = np.random.default_rng(rng)\n    layers", "    layers",
       r"build_mlp.*parameter 2: expected"),
    _m("lab2.train_mlp", "lab2.py", "        order = rng.permutation(N)\n",
       "        order = np.arange(N)\n", r"epoch 0 visited the samples in their stored order"),
    _m("lab2.train_mlp", "lab2.py", "            opt.zero_grad()\n", "",
       r"at step 1, W1.grad holds this mini-batch's gradient plus the previous one"),
    _m("lab2.train_mlp", "lab2.py", "    opt = Adam(model.parameters(), lr=lr)\n",
       "    opt = Adam(model.parameters())\n", r"Adam's lr: expected 0.01, got 0.001"),
    _calls("lab2.relu", "lab2.py", "        return np.maximum(x, 0.0)\n",
           "        from dlcourse import functional as F\n\n        return F.relu(x)\n",
           "dlcourse.functional.relu"),
    _calls("lab2.relu", "lab2.py", "        return np.maximum(x, 0.0)\n",
           "        from dlcourse.nn.activation import ACTIVATIONS\n\n"
           "        return ACTIVATIONS['relu'].f(x)\n", "dlcourse.functional.relu"),
    _calls("lab2.relu", "lab2.py", "        return dout * (self.x > 0)\n",
           "        from dlcourse.functional import relu_grad\n\n"
           "        return dout * relu_grad(self.x)\n", "dlcourse.functional.relu_grad"),
    Mutant("lab2.relu", "lab2.py", [
        ("        self.x = x\n        return np.maximum(x, 0.0)\n",
         "        import dlcourse.nn as nn\n\n        self.reference = nn.ReLU()\n"
         "        return self.reference(x)\n"),
        ("        return dout * (self.x > 0)\n", "        return self.reference.backward(dout)\n"),
    ], "may not call " + re.escape("dlcourse.nn.ReLU") + "$"),
    _calls("lab2.sigmoid", "lab2.py", _SIGMOID_FWD,
           "        from dlcourse import functional as F\n\n        self.out = F.sigmoid(x)\n",
           "dlcourse.functional.sigmoid"),
    Mutant("lab2.sigmoid", "lab2.py", [
        (_SIGMOID_FWD, _SIGMOID_FWD + "        self.x = x\n"),
        ("        return dout * self.out * (1.0 - self.out)\n",
         "        from dlcourse.functional import sigmoid_grad\n\n"
         "        return dout * sigmoid_grad(self.x)\n"),
    ], "may not call " + re.escape("dlcourse.functional.sigmoid_grad") + "$"),
    _calls("lab2.sigmoid", "lab2.py", _SIGMOID_FWD,
           "        from dlcourse.nn import Sigmoid as Reference\n\n"
           "        self.out = Reference()(x)\n", "dlcourse.nn.Sigmoid"),
    _calls("lab2.tanh", "lab2.py", "        self.out = np.tanh(x)\n",
           "        import dlcourse.functional as F\n\n        self.out = F.tanh(x)\n",
           "dlcourse.functional.tanh"),
    _calls("lab2.tanh", "lab2.py", "        return dout * (1.0 - self.out**2)\n",
           "        from dlcourse.functional import tanh_grad\n\n"
           "        return dout * tanh_grad(np.arctanh(self.out))\n",
           "dlcourse.functional.tanh_grad"),
    _calls("lab2.tanh", "lab2.py", "        self.out = np.tanh(x)\n",
           "        from dlcourse import nn\n\n        self.out = nn.Tanh()(x)\n",
           "dlcourse.nn.Tanh"),
    _calls("lab2.adam_step", "lab2.py", "        self.t += 1\n        beta1, beta2 = self.betas\n",
           "        from dlcourse.optim import Adam as Reference\n\n"
           "        if not hasattr(self, 'reference'):\n"
           "            self.reference = Reference(self.params, self.lr, self.betas, self.eps)\n"
           "        self.reference.step()\n        return\n", "dlcourse.optim.Adam"),
    _calls("lab2.build_mlp", "lab2.py", "    rng = np.random.default_rng(rng)\n    layers",
           "    from dlcourse.models import MLP\n\n    return MLP(list(sizes), 'relu', rng=rng)\n"
           "    layers", "dlcourse.models.MLP"),
    _calls("lab2.train_mlp", "lab2.py", "    opt = Adam(model.parameters(), lr=lr)\n",
           "    from dlcourse import optim\n\n    opt = optim.Adam(model.parameters(), lr=lr)\n",
           "dlcourse.optim.Adam"),
    _calls("lab2.train_mlp", "lab2.py",
           "    for _ in range(epochs):\n        order = rng.permutation(N)\n",
           _FIT + "    for _ in range(epochs):\n        order = rng.permutation(N)\n",
           "dlcourse.train.fit"),
    # ------------------------------------------------------------ chapter 1
    _m("ch01.sgd_epoch", "ch01.py", "    for n in rng.permutation(X.shape[0]):",
       "    for n in range(X.shape[0]):",
       r"sgd_epoch: the samples were visited in their stored order"),
    Mutant("ch01.sgd_epoch", "ch01.py", [
        ("    for n in rng.permutation(X.shape[0]):",
         "    start = theta.copy()\n    for n in rng.permutation(X.shape[0]):"),
        ("grad_fn(theta, X[n], y[n])", "grad_fn(start, X[n], y[n])"),
    ], r"grad_fn was not called at θ updated by the previous sample"),
    _m("ch01.stop_rule", "ch01.py", "    return min(errors[-patience:]) >= min(errors[:-patience])",
       "    return min(errors[-patience:]) > min(errors[:-patience])",
       r"should_stop\(\[0.3, 0.3\], patience=1\): expected True, got False"),
    _m("ch01.stop_rule", "ch01.py", "min(errors[:-patience])", "errors[-patience - 1]",
       r"should_stop\(\[0.5, 0.2, 0.6, 0.3\], patience=1\): expected True, got False"),
    _m("ch01.sgd", "ch01.py", "        theta = sgd_epoch(theta, X, y, grad_fn, lr, rng)",
       "        theta = sgd_epoch(theta, X, y, grad_fn, lr, np.random.default_rng(0))",
       r"all 4 epochs visited the samples in the same order"),
    _m("ch01.sgd", "ch01.py", "        if val_errors[-1] < min(val_errors[:-1], default=np.inf):",
       "        if val_errors[-1] <= min(val_errors[:-1], default=np.inf):",
       r"θ returned when epochs 1 and 2 tie"),
    _m("ch01.accuracy", "ch01.py", "    acc = float(np.mean(y_true == y_pred))",
       "    acc = float(np.mean(y_true != y_pred))",
       r"accuracy_error\(\[0, 1, 2, 2, 1\], \[0, 2, 2, 2, 0\]\): accuracy: expected 0.6, got 0.4"),
    _m("ch01.confusion", "ch01.py", "int(np.sum(~t & p)), int(np.sum(t & ~p))",
       "int(np.sum(t & ~p)), int(np.sum(~t & p))",
       r"\(TP, FP, FN, TN\): expected \(3, 2, 1, 2\), got \(3, 1, 2, 2\)"),
    _m("ch01.prf1", "ch01.py", "    f1 = 2 * p * r / (p + r) if p + r else 0.0",
       "    f1 = (p + r) / 2", r"TP=3, FP=1, FN=2: F1: expected 0.666667, got 0.675"),
    _m("ch01.prf1", "ch01.py", "    p = tp / (tp + fp) if tp + fp else 0.0",
       "    p = tp / (tp + fn) if tp + fn else 0.0",
       r"TP=3, FP=1, FN=2: precision: expected 0.75, got 0.6"),
    _m("ch01.macro_f1", "ch01.py",
       "    classes = np.union1d(np.asarray(y_true), np.asarray(y_pred))",
       "    classes = np.arange(max(np.max(y_true), np.max(y_pred)) + 1)",
       r"macro_f1\(\[0, 0, 2, 2, 2\], \[0, 2, 2, 2, 0\]\): expected 0.583333, got 0.388889"),
    _calls("ch01.accuracy", "ch01.py", "    acc = float(np.mean(y_true == y_pred))\n",
           "    from dlcourse import metrics\n\n    acc = metrics.accuracy(y_true, y_pred)\n",
           "dlcourse.metrics.accuracy"),
    _calls("ch01.accuracy", "ch01.py", "    return acc, 1.0 - acc\n",
           "    from dlcourse.metrics import error_rate\n\n"
           "    return acc, error_rate(y_true, y_pred)\n", "dlcourse.metrics.error_rate"),
    _calls("ch01.confusion", "ch01.py", "    t, p = y_true == positive, y_pred == positive\n",
           "    from dlcourse.metrics import confusion_matrix\n\n"
           "    M = confusion_matrix((y_true == positive) * 1, (y_pred == positive) * 1, 2)\n"
           "    return int(M[1, 1]), int(M[0, 1]), int(M[1, 0]), int(M[0, 0])\n",
           "dlcourse.metrics.confusion_matrix"),
    _calls("ch01.prf1", "ch01.py", "    p = tp / (tp + fp) if tp + fp else 0.0\n",
           "    import dlcourse.metrics\n\n"
           "    p = dlcourse.metrics.precision(y_true, y_pred, pos_label=positive)\n",
           "dlcourse.metrics.precision"),
    _calls("ch01.prf1", "ch01.py", "    r = tp / (tp + fn) if tp + fn else 0.0\n",
           "    from dlcourse.metrics import recall\n\n"
           "    r = recall(y_true, y_pred, pos_label=positive)\n", "dlcourse.metrics.recall"),
    _calls("ch01.prf1", "ch01.py", "    f1 = 2 * p * r / (p + r) if p + r else 0.0\n",
           "    from dlcourse import metrics as M\n\n"
           "    f1 = M.f1_score(y_true, y_pred, pos_label=positive)\n",
           "dlcourse.metrics.f1_score"),
    _calls("ch01.macro_f1", "ch01.py",
           "    classes = np.union1d(np.asarray(y_true), np.asarray(y_pred))\n",
           "    from dlcourse.metrics import f1_score\n\n"
           "    return f1_score(y_true, y_pred, average='macro')\n", "dlcourse.metrics.f1_score"),
    # ------------------------------------------------------------ chapter 2
    _m("ch02.single_neuron", "ch02.py", "float(dL_dy * x), float(dL_dy)",
       "float(dL_dy * x), float(dL_dy * w)", r"∂L/∂b: expected 0.6, got 0.48"),
    _m("ch02.dead_relu", "ch02.py", "    return np.all(f_grad(Z) == 0, axis=0)",
       "    return np.any(f_grad(Z) == 0, axis=0)", r"dead_units \(ReLU\) on 40 samples"),
    _m("ch02.dead_relu_fix", "ch02.py",
       "    delta = np.asarray(dA) * f_grad(X @ W + b)  # (N, M): ∂L/∂Z",
       "    delta = np.asarray(dA)  # (N, M): ∂L/∂Z",
       r"layer_backward \(sigmoid\): dX: relative error"),
    _m("ch02.backprop", "ch02.py",
       "            delta = f_grad(Zs[l - 1]) * (delta @ np.asarray(weights[l]).T)",
       "            delta = delta @ np.asarray(weights[l]).T",
       r"mlp_backprop \[4, 6, 3\] sigmoid: dWs\[0\]: expected"),
    _m("ch02.backprop", "ch02.py", _DELTA_L, _DELTA_L.replace(" / N", ""),
       r"mlp_backprop \[4, 3\] sigmoid: dWs\[0\]: expected"),
    _m("ch02.grad_norms", "ch02.py", "    return np.array([np.linalg.norm(dW) for dW in dWs])",
       "    return np.array([np.abs(dW).sum() for dW in dWs])",
       r"layer_gradient_norms: expected 0.323728 at index \[6\], got 3.50917"),
    _m("ch02.symmetry", "ch02.py", "        losses.append(loss)\n", "",
       r"train_gd: number of losses returned for 15 steps: expected 15, got 0"),
    _m("ch02.equal_init_softmax", "ch02.py",
       _SOFTMAX_G, _SOFTMAX_G.replace(" / N", ""),
       r"softmax_regression_gd: W: expected"),
    _m("ch02.edge_fc", "ch02.py", "    W[right, cols], W[left, cols] = 1.0, -1.0",
       "    W[right, cols], W[left, cols] = 1.0, 1.0",
       r"responses of edge_detector_weights\(2, 2\) on a random image: expected"),
    _m("ch02.edge_maps", "ch02.py",
       "    out = np.abs(images.reshape(N, h * w) @ edge_detector_weights(h, w)) > threshold",
       "    out = images.reshape(N, h * w) @ edge_detector_weights(h, w) > threshold",
       r"edge_maps: vertical edges wrong at \d+ of 256 places"),
    _calls("ch02.single_neuron", "ch02.py", "    y = w * x + b  # forward\n",
           "    from dlcourse.autograd import Value\n\n    wv, bv = Value(w), Value(b)\n"
           "    L = 0.5 * (wv * x + bv - y_gt) ** 2\n    L.backward()\n"
           "    return float(L.data), float(wv.grad), float(bv.grad)\n",
           "dlcourse.autograd.Value"),
    _calls("ch02.single_neuron", "ch02.py", "    y = w * x + b  # forward\n",
           "    from dlcourse import autograd\n\n"
           "    dw = 0.5 * (autograd.Dual(w, 1.0) * x + b - y_gt) ** 2\n"
           "    db = 0.5 * (w * x + autograd.Dual(b, 1.0) - y_gt) ** 2\n"
           "    return dw.value, dw.deriv, db.deriv\n", "dlcourse.autograd.Dual"),
    _calls("ch02.dead_relu_fix", "ch02.py", _LAYER_BWD,
           "    import dlcourse.nn\n\n    layer = dlcourse.nn.Linear(*W.shape)\n"
           "    layer.W.data[...], layer.b.data[...] = W, b\n    layer(X)\n"
           "    dX = layer.backward(delta)\n    return dX, layer.W.grad, layer.b.grad\n",
           "dlcourse.nn.Linear"),
    _calls("ch02.dead_relu_fix", "ch02.py", _LAYER_BWD,
           "    from dlcourse.nn.linear import LinearCache, linear_backward\n\n"
           "    return linear_backward(delta, LinearCache(X, W, True))\n",
           "dlcourse.nn.linear.linear_backward"),
    _calls("ch02.backprop", "ch02.py", "    A, Zs = [X], []",
           "    from dlcourse.nn import Linear\n\n"
           "    layers = [Linear(*W.shape) for W in weights]\n"
           "    A, Zs = [X], []", "dlcourse.nn.Linear"),
    _calls("ch02.backprop", "ch02.py", "        dWs[l] = A[l].T @ delta\n",
           "        from dlcourse.nn.linear import LinearCache, linear_backward\n\n"
           "        cache = LinearCache(A[l], np.asarray(weights[l]), True)\n"
           "        _, dWs[l], _ = linear_backward(delta, cache)\n",
           "dlcourse.nn.linear.linear_backward"),
    _calls("ch02.backprop", "ch02.py", _DELTA_L,
           "    from dlcourse import losses\n\n"
           "    loss, delta = losses.softmax_cross_entropy(Zs[-1], y)\n",
           "dlcourse.losses.softmax_cross_entropy"),
    _calls("ch02.backprop", "ch02.py", _DELTA_L,
           "    from dlcourse.losses import CrossEntropyLoss\n\n    ce = CrossEntropyLoss()\n"
           "    loss = ce(Zs[-1], y)\n    delta = ce.backward()\n",
           "dlcourse.losses.CrossEntropyLoss"),
    _calls("ch02.backprop", "ch02.py", "    A, Zs = [X], []",
           "    from dlcourse.models import MLP\n\n"
           "    net = MLP([w.shape[0] for w in weights] + [weights[-1].shape[1]], activation)\n"
           "    A, Zs = [X], []", "dlcourse.models.MLP"),
    _calls("ch02.equal_init_softmax", "ch02.py",
           _SOFTMAX_G,
           "        from dlcourse.losses import softmax_cross_entropy\n\n"
           "        _, G = softmax_cross_entropy(X @ W + b, y)\n",
           "dlcourse.losses.softmax_cross_entropy"),
    _calls("ch02.equal_init_softmax", "ch02.py",
           _SOFTMAX_G,
           "        import dlcourse.losses as L\n\n        ce = L.CrossEntropyLoss()\n"
           "        ce(X @ W + b, y)\n        G = ce.backward()\n",
           "dlcourse.losses.CrossEntropyLoss"),
]


def _mutant_files() -> list[Mutant]:
    """The mutants of later modules: ``tests/grading/mutants/<module>.py`` each define
    ``MUTANTS``, a list of ``(exercise, file, [(old, new), ...], expect)`` tuples (plain data,
    one file per exercise module, so that chapters can be written side by side)."""
    out: list[Mutant] = []
    for path in sorted((Path(__file__).parent / "mutants").glob("*.py")):
        namespace: dict[str, Any] = {"__name__": f"mutants_{path.stem}"}
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
        for exercise, file, edits, expect in namespace["MUTANTS"]:
            out.append(Mutant(exercise, file, [tuple(e) for e in edits], expect))
    return out


MUTANTS += _mutant_files()


def _apply(texts: dict[str, str], mut: Mutant) -> dict[str, str] | None:
    """``texts`` (file -> source) with ``mut``'s edits, or None if an edit does not apply once."""
    out = dict(texts)
    for old, new in mut.edits:
        if out[mut.file].count(old) != 1:
            return None
        out[mut.file] = out[mut.file].replace(old, new)
    return out


def _solutions() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "solutions").glob("*.py")}


def _mutant_batches(dependents: dict[str, set[str]]) -> list[list[int]]:
    """Group mutants so that one run grades several: one mutant per exercise, no two whose
    exercises are related by ``depends`` (a mutant only breaks its own exercise and those
    depending on it, so each failure stays attributable; gate 1 checks that a graded test
    loads only its own module), and edits that still apply after the batch's others."""
    batches: list[tuple[list[int], dict[str, str]]] = []
    for i, mut in enumerate(MUTANTS):
        ex = mut.exercise
        for batch, texts in batches:
            others = [MUTANTS[j].exercise for j in batch]
            if all(o != ex and o not in dependents[ex] and ex not in dependents[o]
                   for o in others):
                applied = _apply(texts, mut)
                if applied is not None:
                    batch.append(i)
                    texts.update(applied)
                    break
        else:
            applied = _apply(_solutions(), mut)
            assert applied is not None, f"a mutation target of {mut} is not found exactly once"
            batches.append(([i], applied))
    return [batch for batch, _ in batches]


def test_gate4_every_mutant_applies_to_the_solutions() -> None:
    texts = _solutions()
    bad = [m for m in MUTANTS if _apply(texts, m) is None]
    assert not bad, "mutants whose target is not found exactly once in solutions/:\n" + \
        "\n".join(map(str, bad))


def test_gate4_mutants_lose_points(full_runs: dict[str, GradeRun], tmp_path: Path) -> None:
    reference = _tests(full_runs["solutions"])
    dependents = _dependents(reference)
    # every exercise has mutants, and each reference an exercise forbids has its own
    exercises = {rec["exercise"] for rec in reference.values()}
    missing = sorted(exercises - {m.exercise for m in MUTANTS})
    assert not missing, f"exercises without a mutant: {missing}"
    forbidden = {(rec["exercise"], name) for rec in reference.values() for name in rec["forbid"]}
    covered = {(m.exercise, name) for m in MUTANTS for ex, name in forbidden
               if m.exercise == ex and m.expect == f"may not call {re.escape(name)}$"}
    assert not forbidden - covered, f"forbidden references without a mutant calling them: " \
                                    f"{sorted(forbidden - covered)}"
    batches = _mutant_batches(dependents)
    assert len(batches) < len(MUTANTS) // 3, f"{len(batches)} runs for {len(MUTANTS)} mutants"

    def job(k: int) -> GradeRun:
        edits: list[tuple[str, str, str]] = []
        for i in batches[k]:
            edits += [(MUTANTS[i].file, old, new) for old, new in MUTANTS[i].edits]
        tree = _mutated_tree(tmp_path / f"b{k}" / "tree", edits)
        target = ",".join(MUTANTS[i].exercise for i in batches[k])
        return _grade(tree, tmp_path / f"b{k}" / "report.json", target=target)

    runs = _parallel({str(k): (lambda k=k: job(k)) for k in range(len(batches))})
    survivors = []
    for k, batch in enumerate(batches):
        run = runs[str(k)]
        rows = _rows(run)
        for i in batch:
            mut = MUTANTS[i]
            row = rows.get(mut.exercise)
            if row is None:
                survivors.append(f"{mut.exercise} {mut.edits}: grading {run.status}:\n"
                                 f"{run.output[-2000:]}")
            elif row.passed or not re.search(mut.expect, row.message):
                survivors.append(f"{mut.exercise} {mut.edits}:\n    expected a failure matching "
                                 f"{mut.expect!r}, got {row.message!r}")
    assert not survivors, "mutants that keep their points or fail for another reason:\n" + \
        "\n".join(survivors)


# ---------------------------------------------------------------- gate 5
LOOP = "        import time\n\n        while True:\n            time.sleep(0.05)\n"


def test_gate5_hostile_code_gives_fail_lines(tmp_path: Path) -> None:
    sgd = "        for p in self.params:\n            p.data -= self.lr *"
    chatty = '    print("chatty " * 5000)\n'
    hostile = _mutated_tree(tmp_path / "hostile", [
        ("lab1.py", sgd, LOOP + sgd),  # loops forever
        ("lab1.py", "self.W.grad += self.x.T @ dout", 'raise ValueError("boom")'),
        ("lab1.py", "    N = logits.shape[0]\n", chatty + "    N = logits.shape[0]\n"),
        ("lab2.py", "return np.maximum(x, 0.0)", "return np.maximum(x, 0.0, out=x)"),
    ])
    crashing = _mutated_tree(tmp_path / "crashing", [
        ("lab1.py", "return x @ self.W.data + self.b.data", "return x @@ self.W.data"),
        ("lab2.py", "    model = build_mlp(", "    os._exit(3)\n    model = build_mlp("),
        ("lab2.py", "import numpy as np\n", "import os\n\nimport numpy as np\n"),
    ])
    looping = _mutated_tree(tmp_path / "looping", [("lab1.py", sgd, LOOP + sgd)])
    runs = _parallel({
        "hostile": lambda: _grade(hostile, tmp_path / "h.json", "lab1,lab2", timeout_per_test=2.0),
        "crashing": lambda: _grade(crashing, tmp_path / "c.json", "lab1,lab2"),
        "looping": lambda: _grade(
            looping, tmp_path / "l.json", "lab1", timeout_per_test=0, timeout=10.0
        ),
    })
    rows = _rows(runs["hostile"])
    assert runs["hostile"].status == "complete"
    assert "Timeout" in rows["lab1.sgd_step"].message and not rows["lab1.sgd_step"].passed
    assert "ValueError: boom" in rows["lab1.linear_backward"].message
    assert rows["lab1.softmax_ce"].passed and rows["lab1.linear_forward"].passed
    assert "modified its input x" in rows["lab2.relu"].message
    assert rows["lab2.adam_step"].passed and rows["lab2.sigmoid"].passed

    rows = _rows(runs["crashing"])
    assert runs["crashing"].status == "complete"  # os._exit costs only the running test
    for ex in ("lab1.linear_forward", "lab1.softmax_ce", "lab1.train_linear"):
        assert "ImportError" in rows[ex].message and "SyntaxError" in rows[ex].message
    assert "line " in rows["lab1.train_linear"].message.split("needs")[0]  # the cause first
    assert rows["lab2.relu"].passed and rows["lab2.build_mlp"].passed
    assert rows["lab2.train_mlp"].message.startswith("needs") is False
    assert "exited with status 3 (os._exit or similar)" in rows["lab2.train_mlp"].message

    run = runs["looping"]
    rows = _rows(run)
    assert run.status == "timed out" and run.report["status"] == "timed out"
    assert set(rows) == {e for e in exercise_ids(ROOT) if e.startswith("lab1.")}
    assert "whole run's limit (10 s) ran out during this test" in rows["lab1.sgd_step"].message
    assert rows["lab1.softmax_ce"].message == "timed out / not run"
    assert run.report["total"]["points"] == run.points > 0


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "grade", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


def test_gate5_cli_end_to_end(tmp_path: Path) -> None:
    report = tmp_path / "out" / "grade.json"
    procs = _parallel({
        "solutions": lambda: _cli("lab1.softmax_ce", "--impl", "solutions", "--json", str(report),
                                  cwd=tmp_path),
        "exercises": lambda: _cli("lab1.softmax_ce", "--impl", "exercises", "--json",
                                  str(tmp_path / "ex.json"), cwd=tmp_path),
        "unknown": lambda: _cli("lab1.nope", "--json", str(tmp_path / "u.json"), cwd=tmp_path),
        "bad impl": lambda: _cli("--impl", str(tmp_path / "missing"), cwd=tmp_path),
    })
    ok = procs["solutions"]
    assert ok.returncode == 0, ok.stdout + ok.stderr
    m = re.search(r"^lab1\.softmax_ce\s+(\d+)/(\d+)\s+PASS$", ok.stdout, re.MULTILINE)
    assert m and m.group(1) == m.group(2), ok.stdout
    assert re.search(r"^TOTAL\s+\d+/\d+\s+\(100%\)$", ok.stdout, re.MULTILINE), ok.stdout
    assert report.is_file() and '"status": "complete"' in report.read_text(encoding="utf-8")
    ex = procs["exercises"]
    assert ex.returncode == 0 and "FAIL  NotImplementedError: exercise lab1.softmax_ce" in ex.stdout
    assert re.search(r"^TOTAL\s+0/\d+\s+\(0%\)$", ex.stdout, re.MULTILINE), ex.stdout
    assert procs["unknown"].returncode == 2
    assert "unknown exercise or module 'lab1.nope'" in procs["unknown"].stdout
    assert procs["bad impl"].returncode == 2 and "missing" in procs["bad impl"].stderr
