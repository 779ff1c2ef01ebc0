"""Scalar automatic differentiation, reverse mode and forward mode (the computational-graph page).

A :class:`Value` holds one number, the operation that produced it and its parents. Each
operation attaches a ``_backward`` closure that applies the chain rule locally: it **adds**
``local derivative × out.grad`` into each parent's ``grad``. :meth:`Value.backward` visits the
nodes in reverse topological order, so every node's ``grad`` is complete before it is passed
on; a node used twice (``x * x``) receives both contributions because of the ``+=``.

Primitive operations: ``+``, ``*``, ``** number``, ``exp``, ``log``, ``tanh``, ``sigmoid``,
``relu``. Derived ones are built from them, as in micrograd:
``-a = a * (-1)``, ``a - b = a + (-b)``, ``a / b = a * b ** -1``.

The notes' example ``f(x; w, b) = 1 / (exp(-(w x + b)) + 1)`` is the six-node graph::

    h1 = x * w      h2 = h1 + b      h3 = h2 * (-1)
    h4 = exp(h3)    h5 = h4 + 1      h6 = h5 ** -1        (= 1 / h5)

Build ``h6`` as ``h5 ** -1`` to get exactly these six nodes; writing ``1 / h5`` gives the same
value and gradients through one more node (``1 * h5 ** -1``). The numbers ``-1`` and ``1``
become constant leaves (``op == ""``). At ``x = 1, w = 0, b = 0``: ``f = 0.5`` and
``∂f/∂w = f (1 - f) x = 0.25``, ``∂f/∂b = 0.25``, ``∂f/∂x = f (1 - f) w = 0``.
:func:`trace` lists the nodes with their values and gradients for the book's table.

Forward mode: a :class:`Dual` number ``value + deriv·ε`` (with ``ε² = 0``) carries the
derivative of every intermediate quantity with respect to **one** chosen input along with its
value, so no graph is stored; ``Dual`` offers the same operations as ``Value``. One forward
pass gives the derivatives of all outputs with respect to that input (a Jacobian–vector
product, :func:`jvp`); reverse mode gives the derivatives of one output with respect to all
inputs in one backward pass. For the notes' example, three forward passes (seeding ``x``,
``w``, ``b`` in turn) give the same ``0, 0.25, 0.25`` as one ``backward``.

The book's page: ``book/02_feedforward/04_autodiff.ipynb`` (计算图与自动微分).

Reference: A. Karpathy's micrograd (``engine.py``), whose design this follows, with an
iterative topological sort so that graphs deeper than Python's recursion limit work.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

__all__ = ["Value", "Dual", "jvp", "trace", "topological_order", "zero_grad"]


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    return float(value)


class Value:
    """One scalar node of a computational graph.

    Attributes:
        data: the value (float).
        grad: ∂(root)/∂(this node) after ``root.backward()`` (float, starts at 0.0).
        label: a name for printing (``"x"``, ``"h1"``); empty by default.
        op: the operation that produced the node (``"+"``, ``"*"``, ``"**-1"``, ``"exp"``, ...);
            ``""`` for a leaf (an input or a constant).
        parents: the operand nodes, in order.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "_backward", "__weakref__")

    def __init__(
        self, data: float, label: str = "", *, _parents: tuple[Value, ...] = (), _op: str = ""
    ) -> None:
        self.data: float = _as_float("data", data)
        if not isinstance(label, str):
            raise TypeError(f"label: expected a str, got {type(label).__name__} {label!r}")
        self.grad: float = 0.0
        self.label: str = label
        self.op: str = _op
        self.parents: tuple[Value, ...] = _parents
        self._backward: Callable[[], None] | None = None

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    def named(self, label: str) -> Value:
        """Set ``label`` and return ``self`` (for ``h1 = (x * w).named("h1")``)."""
        if not isinstance(label, str):
            raise TypeError(f"label: expected a str, got {type(label).__name__} {label!r}")
        self.label = label
        return self

    @staticmethod
    def _wrap(other: object) -> Value:
        if isinstance(other, Value):
            return other
        if isinstance(other, bool) or not isinstance(other, numbers.Real):
            raise TypeError(
                f"other: expected a Value or a real number, got {type(other).__name__} {other!r}"
            )
        return Value(float(other))

    # ---- primitive operations -------------------------------------------------------------

    def __add__(self, other: object) -> Value:
        other = self._wrap(other)
        out = Value(self.data + other.data, _parents=(self, other), _op="+")

        def _backward() -> None:  # ∂(a + b)/∂a = ∂(a + b)/∂b = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: object) -> Value:
        other = self._wrap(other)
        out = Value(self.data * other.data, _parents=(self, other), _op="*")

        def _backward() -> None:  # ∂(ab)/∂a = b, ∂(ab)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: object) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("exponent: expected a number (int or float), got a Value")
        p = _as_float("exponent", exponent)
        if self.data < 0 and not p.is_integer():
            raise ValueError(
                f"exponent: a negative base ({self.data:g}) needs an integer exponent, got {p:g}"
            )
        if self.data == 0 and p < 0:
            raise ZeroDivisionError(f"0 ** {p:g}: the base is zero and the exponent negative")
        out = Value(self.data**p, _parents=(self,), _op=f"**{p:g}")

        def _backward() -> None:  # ∂(a^p)/∂a = p a^(p-1)
            self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        """``e ** self``."""
        out = Value(math.exp(self.data), _parents=(self,), _op="exp")

        def _backward() -> None:  # ∂e^a/∂a = e^a
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """Natural logarithm; ``self.data`` must be > 0."""
        if self.data <= 0:
            raise ValueError(f"log: expected a value > 0, got {self.data:g}")
        out = Value(math.log(self.data), _parents=(self,), _op="log")

        def _backward() -> None:  # ∂ln(a)/∂a = 1/a
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        t = math.tanh(self.data)
        out = Value(t, _parents=(self,), _op="tanh")

        def _backward() -> None:  # tanh' = 1 - tanh²
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """Logistic sigmoid ``1 / (1 + e^{-a})`` as one node (computed without overflow)."""
        a = self.data
        if a >= 0:
            s = 1.0 / (1.0 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1.0 + e)
        out = Value(s, _parents=(self,), _op="sigmoid")

        def _backward() -> None:  # σ' = σ (1 - σ)
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """``max(0, a)``; the derivative at 0 is taken as 0."""
        out = Value(self.data if self.data > 0 else 0.0, _parents=(self,), _op="relu")

        def _backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    # ---- derived operations ---------------------------------------------------------------

    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other: object) -> Value:
        return self + (-self._wrap(other))

    def __truediv__(self, other: object) -> Value:
        return self * self._wrap(other) ** -1

    def __radd__(self, other: object) -> Value:
        return self + other

    def __rmul__(self, other: object) -> Value:
        return self * other

    def __rsub__(self, other: object) -> Value:
        return self._wrap(other) + (-self)

    def __rtruediv__(self, other: object) -> Value:
        return self._wrap(other) * self**-1

    # ---- backward pass --------------------------------------------------------------------

    def backward(self, grad: float = 1.0) -> None:
        """Fill ``.grad`` of every node of the graph with ∂self/∂node (times ``grad``).

        Intermediate nodes (those with parents) are reset to 0 first, so calling
        ``backward`` twice gives the same intermediate gradients; leaves keep accumulating
        (as in PyTorch): call :func:`zero_grad` between two passes over the same inputs.
        The traversal is iterative, so chains of any depth work.
        """
        seed = _as_float("grad", grad)
        order = topological_order(self)
        for node in order:
            if node.parents:
                node.grad = 0.0
        self.grad += seed
        for node in reversed(order):
            if node._backward is not None:
                node._backward()


def topological_order(root: Value) -> list[Value]:
    """All nodes reachable from ``root``, each after its parents (leaves first, ``root`` last).

    Iterative depth-first search (no recursion, so deep graphs are fine).
    """
    if not isinstance(root, Value):
        raise TypeError(f"root: expected a Value, got {type(root).__name__}")
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parents):
            if id(parent) not in visited:
                stack.append((parent, False))
    return order


def trace(root: Value) -> list[Value]:
    """The nodes of ``root``'s graph in topological order, for printing a table.

    Each node has ``label``, ``op``, ``data`` and ``grad``; leaves have ``op == ""``. For the
    notes' six-node table::

        for n in trace(h6):
            if n.op:
                print(n.label, n.op, n.data, n.grad)
    """
    return topological_order(root)


def zero_grad(root: Value) -> None:
    """Set ``grad = 0.0`` on every node of ``root``'s graph (leaves included)."""
    for node in topological_order(root):
        node.grad = 0.0


# ---- forward mode ----------------------------------------------------------------------------


def _sigmoid(a: float) -> float:
    """1 / (1 + e^{-a}) without overflow for large |a|."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


class Dual:
    """A dual number ``value + deriv·ε`` with ``ε² = 0``: forward-mode automatic differentiation.

    ``deriv`` is the derivative of this quantity with respect to the one input that was
    seeded with ``deriv = 1`` (all other inputs and constants have ``deriv = 0``). Expanding
    ``f(a + ȧε) = f(a) + f′(a)ȧε`` (the ``ε²`` terms vanish) gives every rule below: the
    ``deriv`` of the result is the local derivative times the ``deriv`` of the operand, added
    over the operands — the chain rule applied from the input towards the output.

    The operations are those of :class:`Value` (``+``, ``*``, ``** number``, ``exp``, ``log``,
    ``tanh``, ``sigmoid``, ``relu``; ``-a``, ``a - b``, ``a / b`` and the reflected forms
    built from them), so the same expression code runs on either class. Unlike ``Value``, a
    ``Dual`` keeps no parents: nothing is stored for a backward pass.

    Attributes:
        value: the number (float).
        deriv: its derivative with respect to the seeded input (float).

    Example (the notes' neuron at ``x = 1, w = 0, b = 0``, seeding ``w``)::

        >>> x, w, b = Dual(1.0), Dual(0.0, 1.0), Dual(0.0)
        >>> f = 1 / ((-(x * w + b)).exp() + 1)
        >>> f.value, f.deriv
        (0.5, 0.25)
    """

    __slots__ = ("value", "deriv")

    def __init__(self, value: float, deriv: float = 0.0) -> None:
        self.value: float = _as_float("value", value)
        self.deriv: float = _as_float("deriv", deriv)

    def __repr__(self) -> str:
        return f"Dual(value={self.value:.6g}, deriv={self.deriv:.6g})"

    @staticmethod
    def _wrap(other: object) -> Dual:
        if isinstance(other, Dual):
            return other
        if isinstance(other, bool) or not isinstance(other, numbers.Real):
            raise TypeError(
                f"other: expected a Dual or a real number, got {type(other).__name__} {other!r}"
            )
        return Dual(float(other))  # a constant: derivative 0

    # ---- primitive operations -------------------------------------------------------------

    def __add__(self, other: object) -> Dual:
        other = self._wrap(other)  # (a + ȧε) + (b + ḃε) = (a + b) + (ȧ + ḃ)ε
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __mul__(self, other: object) -> Dual:
        other = self._wrap(other)  # (a + ȧε)(b + ḃε) = ab + (ȧb + aḃ)ε
        return Dual(self.value * other.value,
                    self.deriv * other.value + self.value * other.deriv)

    def __pow__(self, exponent: object) -> Dual:
        if isinstance(exponent, (Dual, Value)):
            raise TypeError(f"exponent: expected a number (int or float), got a "
                            f"{type(exponent).__name__}")
        p = _as_float("exponent", exponent)
        a = self.value
        if a < 0 and not p.is_integer():
            raise ValueError(f"exponent: a negative base ({a:g}) needs an integer exponent, "
                             f"got {p:g}")
        if a == 0 and p < 0:
            raise ZeroDivisionError(f"0 ** {p:g}: the base is zero and the exponent negative")
        # d(a^p) = p a^(p-1) ȧ, with the cases p = 0 and p = 1 exact also at a = 0
        if p == 0:
            local = 0.0
        elif p == 1:
            local = 1.0
        elif a == 0 and p < 1:
            raise ZeroDivisionError(f"d(a ** {p:g})/da is infinite at a = 0")
        else:
            local = p * a ** (p - 1)
        return Dual(a**p, local * self.deriv)

    def exp(self) -> Dual:
        """``e ** self``; derivative ``e^a ȧ``."""
        e = math.exp(self.value)
        return Dual(e, e * self.deriv)

    def log(self) -> Dual:
        """Natural logarithm; ``self.value`` must be > 0. Derivative ``ȧ / a``."""
        if self.value <= 0:
            raise ValueError(f"log: expected a value > 0, got {self.value:g}")
        return Dual(math.log(self.value), self.deriv / self.value)

    def tanh(self) -> Dual:
        """Hyperbolic tangent; derivative ``(1 − tanh² a) ȧ``."""
        t = math.tanh(self.value)
        return Dual(t, (1.0 - t * t) * self.deriv)

    def sigmoid(self) -> Dual:
        """Logistic sigmoid (without overflow); derivative ``σ(1 − σ) ȧ``."""
        s = _sigmoid(self.value)
        return Dual(s, s * (1.0 - s) * self.deriv)

    def relu(self) -> Dual:
        """``max(0, a)``; the derivative at 0 is taken as 0 (as in :meth:`Value.relu`)."""
        if self.value > 0:
            return Dual(self.value, self.deriv)
        return Dual(0.0, 0.0)

    # ---- derived operations (as in Value) -------------------------------------------------

    def __neg__(self) -> Dual:
        return self * -1

    def __sub__(self, other: object) -> Dual:
        return self + (-self._wrap(other))

    def __truediv__(self, other: object) -> Dual:
        return self * self._wrap(other) ** -1

    def __radd__(self, other: object) -> Dual:
        return self + other

    def __rmul__(self, other: object) -> Dual:
        return self * other

    def __rsub__(self, other: object) -> Dual:
        return self._wrap(other) + (-self)

    def __rtruediv__(self, other: object) -> Dual:
        return self._wrap(other) * self**-1


def jvp(f: Callable[..., Dual], primals: Sequence[float],
        tangents: Sequence[float]) -> tuple[float, float]:
    """One forward-mode pass: ``(f(x), ∇f(x) · v)`` for ``x = primals``, ``v = tangents``.

    ``f`` takes ``len(primals)`` positional arguments and returns a :class:`Dual` (the
    function is written with the operations of ``Dual``/``Value``). Each argument ``i`` is
    ``Dual(primals[i], tangents[i])``; a one-hot ``tangents`` gives the partial derivative
    with respect to that input, so a gradient in ``n`` inputs costs ``n`` passes.
    """
    if len(primals) != len(tangents):
        raise ValueError(f"tangents: expected {len(primals)} numbers (one per primal), got "
                         f"{len(tangents)}")
    args = [Dual(_as_float(f"primals[{i}]", p), _as_float(f"tangents[{i}]", t))
            for i, (p, t) in enumerate(zip(primals, tangents, strict=True))]
    out = f(*args)
    if not isinstance(out, Dual):
        raise TypeError(f"f: expected it to return a Dual, got {type(out).__name__}")
    return out.value, out.deriv
