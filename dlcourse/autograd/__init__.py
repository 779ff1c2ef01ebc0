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

from dlcourse.autograd.forward import Dual, jvp
from dlcourse.autograd.reverse import Value, topological_order, trace, zero_grad

__all__ = ["Value", "Dual", "jvp", "trace", "topological_order", "zero_grad"]
