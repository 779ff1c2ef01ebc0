"""Activation layers: element-wise ``y = f(x)`` and ``dx = dout * f'(x)``, and the registry.

Each layer is a thin class over ``dlcourse.functional``: ``forward`` calls ``f`` and keeps an
:class:`ElementwiseCache` (the input) per call; ``backward`` pops it and multiplies by
``f_grad`` (the derivative evaluated at that input). Any shape works, ``(N, D)``,
``(N, C, H, W)``, ``(N, T, D)``; the output has the input's shape and dtype (float32 stays
float32).

:data:`ACTIVATIONS` is the one registry of activation functions: name -> :class:`ActivationSpec`
(the functional pair, the layer class, the weight initialisation that suits it, its keyword
parameters). ``dlcourse.models.MLP``, the widgets and the exercises all read it, so a new
activation is added here, once.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcourse import functional as F
from dlcourse._validate import (
    as_float_array,
    check_choice,
    check_float_dtype,
    check_int,
    check_nonnegative,
)
from dlcourse.nn.module import Module, Parameter

__all__ = [
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softplus",
    "Swish",
    "GELU",
    "ElementwiseCache",
    "ActivationSpec",
    "ACTIVATIONS",
]


@dataclass
class ElementwiseCache:
    """What an activation's backward needs from one forward call: its input ``x`` (any shape)."""

    x: np.ndarray


class _Elementwise(Module):
    """Shared forward/backward of the activation layers.

    Subclasses define ``_f(x)`` and ``_f_grad(x)`` (f and f' element-wise).
    One :class:`ElementwiseCache` is kept per forward call until its backward.
    """

    def _f(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape S -> f(x): shape S, same dtype."""
        x = as_float_array("x", x)
        self._save_cache(ElementwiseCache(x=x))
        return self._f(x)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: shape S -> dx = dout * f'(x): shape S, the input's dtype (None if not
        ``need_dx``)."""
        x = self._peek_cache().x
        dout = self._as_dout(dout, x)
        self._caches.pop()
        if not need_dx:
            return None
        return dout * self._f_grad(x)

    @staticmethod
    def _as_dout(dout: Any, x: np.ndarray) -> np.ndarray:
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != x.shape:
            raise ValueError(
                f"dout: expected the shape of the forward output {x.shape}, got {dout.shape}"
            )
        return dout.astype(x.dtype, copy=False)


class Sigmoid(_Elementwise):
    """σ(x) = 1 / (1 + e^{-x}); σ'(x) = σ(x)(1 − σ(x))."""

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F._sigmoid(x)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F._sigmoid_grad(x)


class Tanh(_Elementwise):
    """tanh(x); tanh'(x) = 1 − tanh²(x)."""

    def _f(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F._tanh_grad(x)


class ReLU(_Elementwise):
    """max(0, x); derivative 1 for x > 0, 0 otherwise."""

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F._relu(x)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F._relu_grad(x)


class LeakyReLU(_Elementwise):
    """x for x > 0, ``negative_slope * x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_nonnegative("negative_slope", negative_slope)

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F.leaky_relu(x, self.negative_slope)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F.leaky_relu_grad(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    """x for x > 0, ``alpha * (e^x − 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_nonnegative("alpha", alpha)

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F.elu(x, self.alpha)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F.elu_grad(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(_Elementwise):
    """log(1 + e^x); derivative σ(x)."""

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F.softplus(x)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F.softplus_grad(x)


class Swish(_Elementwise):
    """x · σ(βx) (β = 1 is PyTorch's SiLU)."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = check_nonnegative("beta", beta)

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F.swish(x, self.beta)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F.swish_grad(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class GELU(_Elementwise):
    """x · Φ(x); ``approximate`` is "none" (exact erf), "tanh" or "sigmoid" (x · σ(1.702x))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        check_choice("approximate", approximate, ("none", "tanh", "sigmoid"))
        self.approximate = approximate

    def _f(self, x: np.ndarray) -> np.ndarray:
        return F.gelu(x, self.approximate)

    def _f_grad(self, x: np.ndarray) -> np.ndarray:
        return F.gelu_grad(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class PReLU(_Elementwise):
    """Parametric ReLU: x for x > 0, ``γ x`` otherwise, with γ learned.

    Args:
        num_parameters: 1 (one γ shared by every element) or C, one γ per channel of axis 1
            (x of shape (N, C) or (N, C, H, W) ...), as in PyTorch.
        init: initial value of every γ.
        dtype: dtype of γ; the forward pass computes in the input's dtype.

    Parameters:
        gamma: (num_parameters,); dL/dγ = Σ dout · min(x, 0) over the elements using that γ.
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, dtype: type | np.dtype = np.float64
    ) -> None:
        super().__init__()
        self.num_parameters = check_int("num_parameters", num_parameters, minimum=1)
        if isinstance(init, bool) or not isinstance(init, numbers.Real):
            raise TypeError(f"init: expected a real number, got {type(init).__name__}")
        value = float(init)
        if not np.isfinite(value):
            raise ValueError(f"init: expected a finite number, got {init!r}")
        self.gamma = Parameter(np.full(self.num_parameters, value,
                                       dtype=check_float_dtype("dtype", dtype)))

    def _gamma_for(self, x: np.ndarray) -> np.ndarray:
        """γ broadcastable against x: a 0-d array, or (1, C, 1, ..., 1)."""
        g = self.gamma.data.astype(x.dtype, copy=False)
        if self.num_parameters == 1:
            return g.reshape(())
        if x.ndim < 2 or x.shape[1] != self.num_parameters:
            raise ValueError(
                f"x: expected shape (N, {self.num_parameters}, ...) for PReLU with "
                f"num_parameters={self.num_parameters}, got {x.shape}"
            )
        return g.reshape((1, self.num_parameters) + (1,) * (x.ndim - 2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, ...) or any shape if num_parameters == 1 -> same shape and dtype."""
        x = as_float_array("x", x)
        gamma = self._gamma_for(x)
        self._save_cache(ElementwiseCache(x=x))
        return F.prelu(x, gamma)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout -> dx = dout · f'(x) (None if not ``need_dx``); adds dL/dγ into
        ``gamma.grad`` unless γ is frozen."""
        x = self._peek_cache().x
        dout = self._as_dout(dout, x)
        self._caches.pop()
        gamma = self._gamma_for(x)
        if self.gamma.requires_grad:
            dgamma = dout * F.prelu_grad_gamma(x, gamma)  # shape of x
            if self.num_parameters == 1:
                self.gamma.grad += dgamma.sum()
            else:
                axes = (0,) + tuple(range(2, x.ndim))
                self.gamma.grad += dgamma.sum(axis=axes)
        return dout * F.prelu_grad(x, gamma) if need_dx else None

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


@dataclass(frozen=True)
class ActivationSpec:
    """One entry of :data:`ACTIVATIONS`.

    Attributes:
        name: the registry key, also the ``dlcourse.functional`` name of ``f``.
        f: ``f(x, **params)``, element-wise.
        grad: ``grad(x, **params)`` = f'(x) element-wise.
        module: the layer class (built with ``module(**params)``).
        init: the weight initialisation of ``dlcourse.init`` that keeps the signal's variance
            in a network using it: He ("kaiming_uniform") for the ReLU family, Xavier
            ("xavier_uniform") for the saturating ones.
        params: keyword parameters and their defaults (e.g. ``{"negative_slope": 0.01}``).
        learnable: True if the layer has a trained parameter (PReLU's γ); then ``f``/``grad``
            take it as a second argument and the demos that draw f skip it.
    """

    name: str
    f: Callable[..., np.ndarray]
    grad: Callable[..., np.ndarray]
    module: type[Module]
    init: str
    params: dict[str, Any] = field(default_factory=dict)
    learnable: bool = False


def _spec(name: str, module: type[Module], init: str, **params: Any) -> ActivationSpec:
    return ActivationSpec(name, getattr(F, name), getattr(F, f"{name}_grad"), module, init, params)


#: The registry: activation name -> :class:`ActivationSpec`.
ACTIVATIONS: dict[str, ActivationSpec] = {
    s.name: s
    for s in (
        _spec("sigmoid", Sigmoid, "xavier_uniform"),
        _spec("tanh", Tanh, "xavier_uniform"),
        _spec("relu", ReLU, "kaiming_uniform"),
        _spec("leaky_relu", LeakyReLU, "kaiming_uniform", negative_slope=0.01),
        _spec("elu", ELU, "kaiming_uniform", alpha=1.0),
        _spec("softplus", Softplus, "xavier_uniform"),
        _spec("swish", Swish, "kaiming_uniform", beta=1.0),
        _spec("gelu", GELU, "kaiming_uniform", approximate="none"),
        ActivationSpec("prelu", F.prelu, F.prelu_grad, PReLU, "kaiming_uniform", {}, True),
    )
}
