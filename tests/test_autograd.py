"""Tests of dlcourse/autograd/: the notes' example, torch autograd as reference, deep graphs,
and forward mode (``Dual``) against finite differences and against reverse mode (``Value``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from dlcourse.autograd import Dual, Value, jvp, topological_order, trace, zero_grad
from dlcourse.gradcheck import relative_error

try:
    import torch
except ImportError:  # PyTorch is a test-only reference, installed by requirements-test.txt
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is the test-only reference: pip install -r requirements-test.txt"
)


def _notes_graph(x0: float, w0: float, b0: float) -> tuple[Value, Value, Value, list[Value]]:
    x, w, b = Value(x0, "x"), Value(w0, "w"), Value(b0, "b")
    h1 = (x * w).named("h1")
    h2 = (h1 + b).named("h2")
    h3 = (h2 * -1).named("h3")
    h4 = h3.exp().named("h4")
    h5 = (h4 + 1).named("h5")
    h6 = (h5**-1).named("h6")
    return x, w, b, [h1, h2, h3, h4, h5, h6]


def test_notes_example_gradients() -> None:
    x, w, b, hs = _notes_graph(1.0, 0.0, 0.0)
    f = hs[-1]
    f.backward()
    assert f.data == 0.5
    assert w.grad == pytest.approx(0.25, abs=1e-15)
    assert x.grad == 0.0
    assert b.grad == pytest.approx(0.25, abs=1e-15)


def test_notes_six_node_table() -> None:
    _, _, _, hs = _notes_graph(1.0, 0.0, 0.0)
    hs[-1].backward()
    rows = [(n.label, n.op, n.data, n.grad) for n in trace(hs[-1]) if n.op]
    assert [r[0] for r in rows] == ["h1", "h2", "h3", "h4", "h5", "h6"]
    assert [r[1] for r in rows] == ["*", "+", "*", "exp", "+", "**-1"]
    # hand computation: h1 = 0, h2 = 0, h3 = 0, h4 = 1, h5 = 2, h6 = 1/2;
    # df/dh6 = 1, df/dh5 = -1/h5² = -1/4, df/dh4 = -1/4, df/dh3 = h4 · (-1/4) = -1/4,
    # df/dh2 = 1/4, df/dh1 = 1/4
    np.testing.assert_allclose([r[2] for r in rows], [0, 0, 0, 1, 2, 0.5], rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        [r[3] for r in rows], [0.25, 0.25, -0.25, -0.25, -0.25, 1.0], rtol=0, atol=1e-15
    )
    # leaves first, root last; x, w, b are among the leaves
    order = trace(hs[-1])
    assert order[-1] is hs[-1]
    assert {n.label for n in order if not n.op} >= {"x", "w", "b"}


def test_reciprocal_by_division_gives_same_gradients() -> None:
    x, w, b = Value(0.7), Value(-1.3), Value(0.4)
    f = 1 / ((-(x * w + b)).exp() + 1)
    f.backward()
    s = 1 / (1 + math.exp(-(0.7 * -1.3 + 0.4)))
    assert f.data == pytest.approx(s, rel=1e-14)
    assert w.grad == pytest.approx(s * (1 - s) * 0.7, rel=1e-13)
    assert x.grad == pytest.approx(s * (1 - s) * -1.3, rel=1e-13)
    assert b.grad == pytest.approx(s * (1 - s), rel=1e-13)


# ---- random expressions vs torch autograd (float64) -----------------------------------------

# Each op works on both a Value and a torch tensor; arguments are kept in every op's domain.
UNARY: list[Callable] = [
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a.relu(),
    lambda a: -a,
    lambda a: (a.tanh()).exp(),
    lambda a: (a * a + 0.5).log(),
    lambda a: a**2,
    lambda a: a**3,
    lambda a: (a * a + 1) ** 0.5,
    lambda a: (a * a + 1) ** -1.5,
    lambda a: 2.0 - a,
    lambda a: 3.0 / (a * a + 1),
    lambda a: 0.5 * a + 1.5,
]
BINARY: list[Callable] = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1),
    lambda a, b: (a - b).tanh() * a,
]


def _random_program(seed: int, n_inputs: int = 4, n_ops: int = 25) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    prog = []
    for k in range(n_ops):
        avail = n_inputs + k
        if rng.random() < 0.5:
            prog.append((0, int(rng.integers(len(UNARY))), int(rng.integers(avail))))
        else:
            i, j = (int(v) for v in rng.integers(avail, size=2))
            prog.append((1, int(rng.integers(len(BINARY))), i, j))
    return prog


def _run(prog: list[tuple[int, ...]], nodes: list) -> object:
    nodes = list(nodes)
    for step in prog:
        if step[0] == 0:
            nodes.append(UNARY[step[1]](nodes[step[2]]))
        else:
            nodes.append(BINARY[step[1]](nodes[step[2]], nodes[step[3]]))
    out = nodes[-1]
    for extra in nodes[-6:-1]:  # use several intermediates so the graph branches and joins
        out = out + extra
    return out


@requires_torch
@pytest.mark.parametrize("seed", range(20))
def test_random_expressions_match_torch(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    x0 = rng.normal(size=4)
    prog = _random_program(seed)
    xs = [Value(float(v)) for v in x0]
    out = _run(prog, xs)
    out.backward()
    ts = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in x0]
    ref = _run(prog, ts)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(xs, ts, strict=True):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-10, abs=1e-12)


# ---- accumulation, repeated backward, deep graphs --------------------------------------------


def test_node_used_twice_gets_both_contributions() -> None:
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    b = Value(2.0)
    c = b + b
    d = c * b  # d = 2 b², dd/db = 4 b = 8
    d.backward()
    assert b.grad == 8.0


def test_backward_twice_recomputes_intermediates_and_accumulates_leaves() -> None:
    x = Value(2.0)
    h = x * x
    y = h * 3.0
    y.backward()
    assert (x.grad, h.grad) == (12.0, 3.0)
    y.backward()
    assert h.grad == 3.0  # intermediate reset, not doubled
    assert x.grad == 24.0  # leaf accumulates, as in PyTorch
    zero_grad(y)
    y.backward()
    assert x.grad == 12.0


def test_deep_chain_does_not_hit_recursion_limit() -> None:
    x = Value(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-9)
    assert len(topological_order(y)) == 1 + 10_000 * 4  # x, then (const, *, const, +) each


def test_reflected_operations() -> None:
    a = Value(4.0)
    for expr, value, grad in [
        (lambda v: 1.0 + v, 5.0, 1.0),
        (lambda v: 2.0 * v, 8.0, 2.0),
        (lambda v: 10.0 - v, 6.0, -1.0),
        (lambda v: 8.0 / v, 2.0, -0.5),
        (lambda v: v - 1.0, 3.0, 1.0),
        (lambda v: v / 2.0, 2.0, 0.5),
    ]:
        zero_grad(a)
        out = expr(a)
        out.backward()
        assert (out.data, a.grad) == (pytest.approx(value, abs=1e-15), pytest.approx(grad))


def test_sigmoid_is_stable_for_large_inputs() -> None:
    for v, expected in [(-800.0, 0.0), (800.0, 1.0)]:
        x = Value(v)
        s = x.sigmoid()
        s.backward()
        assert s.data == expected
        assert x.grad == 0.0


def test_errors() -> None:
    with pytest.raises(TypeError, match=r"data: expected a real number"):
        Value("1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"data: expected a real number"):
        Value(True)
    with pytest.raises(TypeError, match=r"exponent: expected a number"):
        Value(2.0) ** Value(2.0)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"log: expected a value > 0, got -1"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match=r"negative base"):
        Value(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)
    with pytest.raises(TypeError, match=r"other: expected a Value or a real number"):
        Value(1.0) + "a"  # type: ignore[operator]
    with pytest.raises(TypeError, match=r"root: expected a Value"):
        trace(1.0)  # type: ignore[arg-type]


def test_repr_and_label() -> None:
    v = Value(1.5, "x")
    assert repr(v) == "Value(x: data=1.5, grad=0)"
    assert v.op == "" and v.parents == ()


# ---- forward mode: Dual ----------------------------------------------------------------------


def test_dual_notes_example_three_passes() -> None:
    # one forward pass per input, seeding that input's derivative with 1; by hand (see the
    # six-node table above): f = 1/2, df/dx = f (1 - f) w = 0, df/dw = f (1 - f) x = 1/4,
    # df/db = f (1 - f) = 1/4
    point = (1.0, 0.0, 0.0)
    derivs = []
    for i in range(3):
        x, w, b = (Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(point))
        f = ((x * w + b) * -1).exp() + 1
        f = f**-1
        assert f.value == 0.5
        derivs.append(f.deriv)
    assert derivs == [0.0, 0.25, 0.25]


def test_dual_single_neuron_example() -> None:
    # L = 1/2 (w x + b - y_gt)^2 at x = 1.5, w = 0.8, b = 0.2, y_gt = 0.8: dL/dw = 0.9, dL/db = 0.6
    def loss(w: Dual, b: Dual) -> Dual:
        return 0.5 * (w * 1.5 + b - 0.8) ** 2

    assert jvp(loss, [0.8, 0.2], [1.0, 0.0]) == (pytest.approx(0.18), pytest.approx(0.9))
    assert jvp(loss, [0.8, 0.2], [0.0, 1.0]) == (pytest.approx(0.18), pytest.approx(0.6))


def _dual_pass(prog: list[tuple[int, ...]], x0: np.ndarray, seed: int) -> Dual:
    return _run(prog, [Dual(float(v), 1.0 if i == seed else 0.0) for i, v in enumerate(x0)])


@pytest.mark.parametrize("seed", range(20))
def test_dual_random_expressions_match_value_and_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    x0 = rng.normal(size=4)
    prog = _random_program(seed)
    # reverse mode: one backward pass for all four inputs
    xs = [Value(float(v)) for v in x0]
    out = _run(prog, xs)
    out.backward()
    reverse = np.array([v.grad for v in xs])
    # forward mode: one pass per input
    passes = [_dual_pass(prog, x0, i) for i in range(4)]
    forward = np.array([d.deriv for d in passes])
    assert all(d.value == out.data for d in passes)  # the same arithmetic, the same value
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-12)

    # centred differences of the value alone (derivatives not used)
    def value_at(x: np.ndarray) -> float:
        return _run(prog, [Dual(float(v)) for v in x]).value

    h = 1e-6
    numerical = np.array(
        [(value_at(x0 + h * e) - value_at(x0 - h * e)) / (2 * h) for e in np.eye(4)]
    )
    assert relative_error(forward, numerical) < 1e-6


def test_dual_each_operation_against_finite_differences() -> None:
    ops: dict[str, Callable[[Dual], Dual]] = {
        "add": lambda a: a + 0.7,
        "mul": lambda a: a * a,
        "pow": lambda a: a**3.5,
        "neg": lambda a: -a,
        "sub": lambda a: 2.0 - a,
        "div": lambda a: 1.0 / a,
        "exp": lambda a: a.exp(),
        "log": lambda a: a.log(),
        "tanh": lambda a: a.tanh(),
        "sigmoid": lambda a: a.sigmoid(),
        "relu": lambda a: a.relu(),
    }
    h = 1e-6
    for name, op in ops.items():
        for a in (0.3, 1.7):
            d = op(Dual(a, 1.0))
            numerical = (op(Dual(a + h)).value - op(Dual(a - h)).value) / (2 * h)
            assert d.deriv == pytest.approx(numerical, rel=1e-8, abs=1e-9), name


def test_jvp_is_the_gradient_dotted_with_the_tangent() -> None:
    def f(x: Dual | Value, y: Dual | Value, z: Dual | Value) -> Dual | Value:
        return (x * y).tanh() + (z * z + 1).log() / (y.sigmoid() + 0.5)

    point = [0.4, -1.2, 0.9]
    xs = [Value(v) for v in point]
    f(*xs).backward()
    grad = np.array([v.grad for v in xs])
    v = np.array([0.5, -2.0, 1.5])
    value, deriv = jvp(f, point, v.tolist())
    assert value == pytest.approx(f(*[Value(p) for p in point]).data, rel=1e-15)
    assert deriv == pytest.approx(float(grad @ v), rel=1e-12)


def test_dual_edge_cases() -> None:
    # powers at 0 (by hand): 0^0 = 1 with derivative 0; 0^1 = 0 with derivative 1;
    # 0^2 = 0 with derivative 0
    assert (Dual(0.0, 1.0) ** 0).value == 1.0 and (Dual(0.0, 1.0) ** 0).deriv == 0.0
    assert (Dual(0.0, 1.0) ** 1).deriv == 1.0
    assert (Dual(0.0, 1.0) ** 2).deriv == 0.0
    # ReLU's derivative at 0 is taken as 0, as in Value
    assert Dual(0.0, 1.0).relu().deriv == 0.0
    # sigmoid without overflow
    for v, expected in [(-800.0, 0.0), (800.0, 1.0)]:
        s = Dual(v, 1.0).sigmoid()
        assert (s.value, s.deriv) == (expected, 0.0)
    # the reflected operations (by hand at a = 4)
    a = Dual(4.0, 1.0)
    for out, value, deriv in [
        (1.0 + a, 5.0, 1.0),
        (2.0 * a, 8.0, 2.0),
        (10.0 - a, 6.0, -1.0),
        (8.0 / a, 2.0, -0.5),
        (a - 1.0, 3.0, 1.0),
        (a / 2.0, 2.0, 0.5),
    ]:
        assert (out.value, out.deriv) == (pytest.approx(value), pytest.approx(deriv))


def test_dual_errors() -> None:
    with pytest.raises(TypeError, match=r"value: expected a real number"):
        Dual("1.0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"deriv: expected a real number"):
        Dual(1.0, True)
    with pytest.raises(TypeError, match=r"exponent: expected a number"):
        Dual(2.0) ** Dual(2.0)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"log: expected a value > 0, got -1"):
        Dual(-1.0).log()
    with pytest.raises(ValueError, match=r"negative base"):
        Dual(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError):
        Dual(1.0) / Dual(0.0)
    with pytest.raises(ZeroDivisionError, match=r"infinite at a = 0"):
        Dual(0.0, 1.0) ** 0.5
    with pytest.raises(TypeError, match=r"other: expected a Dual or a real number"):
        Dual(1.0) + Value(1.0)  # type: ignore[operator]
    with pytest.raises(ValueError, match=r"tangents: expected 2 numbers"):
        jvp(lambda a, b: a * b, [1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match=r"f: expected it to return a Dual, got float"):
        jvp(lambda a: 1.0, [1.0], [1.0])  # type: ignore[arg-type, return-value]
    assert repr(Dual(1.5, 2.0)) == "Dual(value=1.5, deriv=2)"
