"""Reverse mode: :class:`Value` and its graph helpers (see ``dlcourse.autograd``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

__all__ = ["Value", "trace", "topological_order", "zero_grad"]


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _sigmoid(a: float) -> float:
    """1 / (1 + e^{-a}) without overflow for large |a|."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


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
        s = _sigmoid(self.data)
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
