"""Forward mode: :class:`Dual` numbers and :func:`jvp` (see ``dlcourse.autograd``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

from dlcourse.autograd.reverse import Value, _as_float, _sigmoid

__all__ = ["Dual", "jvp"]

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
