"""Batch and layer normalisation: one standardisation kernel, two choices of axes.

This module holds the kernel and batch normalisation; ``LayerNorm`` is in
``dlcourse.nn.layer_norm`` (the same kernel over the trailing axes).

Both layers standardise x over some axes A and then rescale it with learned γ and β
(Eqs. (7.55)–(7.56) of the notes):

    μ = mean_A x,   σ² = mean_A (x − μ)²,   x̂ = (x − μ)/√(σ² + ε),   y = γ ⊙ x̂ + β.

- **Batch normalisation** (Ioffe & Szegedy, 2015) takes A = every axis but the channel axis 1
  (the samples, and the positions of (N, C, L) or (N, C, H, W)): "the same dimension across
  samples". γ, β are per channel. In training it uses the batch's statistics (σ² biased, 1/m)
  and updates running estimates as PyTorch does, ``running = (1 − momentum)·running +
  momentum·batch`` with the *unbiased* variance (1/(m − 1)) for ``running_var``; in ``eval()``
  it uses the running estimates, so a prediction does not depend on the rest of its batch.
- **Layer normalisation** (Ba et al., 2016) takes A = the trailing ``normalized_shape`` axes:
  "the dimensions of one sample". γ, β have shape ``normalized_shape``; there are no running
  estimates and training and evaluation agree.

Backward, derived through the computational graph (μ and σ² depend on every x they average;
m values per statistic; means over A):

    dβ = Σ dout,   dγ = Σ dout ⊙ x̂   (summed over the axes γ is shared across),
    dx̂ = γ ⊙ dout,   dx = (dx̂ − mean_A dx̂ − x̂ ⊙ mean_A(dx̂ ⊙ x̂)) / √(σ² + ε).

The mean term (through μ) and the variance term (through σ²) are what the naive dx = γ ⊙
dout/σ forgets; with fixed statistics (batch norm in eval mode) that naive form is exact.
Per channel, batch norm's dx is the classic γ/(m√(σ²+ε)) · (m·dout − dβ − x̂ ⊙ dγ).

Names: the scale and shift are ``gamma`` and ``beta`` as in the notes and the issue (PyTorch's
``weight`` and ``bias`` are aliases of the same Parameters); ``eps``, ``momentum``, ``affine``,
``elementwise_affine`` and the buffers ``running_mean``, ``running_var`` and
``num_batches_tracked`` are PyTorch's. The computation is in the input's dtype (float32 stays
float32) and vectorised: no loop over samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse._validate import (
    as_float_array,
    check_float_dtype,
    check_int,
    check_positive,
    check_probability,
)
from dlcourse.nn.module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "NormCache",
    "norm_forward",
    "norm_backward",
]


@dataclass
class NormCache:
    """What :func:`norm_backward` needs from one forward call.

    Attributes:
        x_hat: the standardised input x̂, the shape of x.
        inv_std: 1/√(σ² + ε), x's rank with size 1 along the axes A (broadcastable).
        gamma: the scale used (broadcastable against x), or None (γ = 1).
        axes: the axes A the statistics were taken over.
        mean, var: μ and σ² used (shaped like ``inv_std``); σ² is the biased variance.
        batch_stats: True if μ and σ² were computed from x (then they depend on x), False if
            they were given (batch norm's running estimates in eval mode).
    """

    x_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray | None
    axes: tuple[int, ...]
    mean: np.ndarray
    var: np.ndarray
    batch_stats: bool


def norm_forward(
    x: np.ndarray,
    axes: tuple[int, ...],
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    eps: float,
    mean: np.ndarray | None = None,
    var: np.ndarray | None = None,
) -> tuple[np.ndarray, NormCache]:
    """Standardise x over ``axes`` and apply y = γ ⊙ x̂ + β (Eq. (7.55)).

    Args:
        x: any shape, float32/float64; not validated.
        axes: the axes A of the statistics, e.g. (0,) for (N, C), (0, 2, 3) for
            (N, C, H, W), the last k axes for a layer norm.
        gamma, beta: broadcastable against x, in x's dtype, or None (no scale / no shift).
        eps: ε added to the variance.
        mean, var: fixed statistics, shaped like x with size 1 along ``axes``; None computes
            them from x (mean and biased variance, two passes: no cancellation).

    Returns:
        y, the shape and dtype of x; and the :class:`NormCache`.
    """
    batch_stats = mean is None or var is None
    if batch_stats:
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes, keepdims=True)
    else:
        xc = x - mean
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = xc
    x_hat *= inv_std  # xc is a fresh array: standardise it in place
    out = x_hat * gamma if gamma is not None else x_hat.copy()  # the cache keeps x_hat
    if beta is not None:
        out += beta
    return out, NormCache(x_hat, inv_std, gamma, axes, mean, var, batch_stats)


def _sum_to(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``a`` down to ``shape`` (undo the broadcasting of ``shape`` up to ``a.shape``)."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1
    )
    return (a.sum(axis=axes, keepdims=True) if axes else a).reshape(shape)


def norm_backward(
    dout: np.ndarray, cache: NormCache, need_dx: bool = True, need_params: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Closed-form gradients of :func:`norm_forward` (see the module docstring).

    Args:
        dout: the shape of x; cache: from the forward call; need_dx: False skips dx;
            need_params: False skips dγ and dβ (frozen or absent parameters).

    Returns:
        ``(dx or None, dgamma or None, dbeta or None)``: dx of x's shape; dγ and dβ of the
        shape of the ``gamma`` given to the forward call (None if it was None).
    """
    x_hat, axes, gamma = cache.x_hat, cache.axes, cache.gamma
    dgamma = dbeta = dx = None
    if need_params and gamma is not None:
        dbeta = _sum_to(dout, gamma.shape)
        dgamma = _sum_to(dout * x_hat, gamma.shape)
    if need_dx:
        dxh = dout * gamma if gamma is not None else dout.copy()  # dx̂
        if cache.batch_stats:
            proj = np.mean(dxh * x_hat, axis=axes, keepdims=True)  # through σ²
            dxh -= dxh.mean(axis=axes, keepdims=True)  # through μ
            dxh -= x_hat * proj
        dxh *= cache.inv_std
        dx = dxh
    return dx, dgamma, dbeta


def _float_dtype(dtype: Any) -> np.dtype:
    return check_float_dtype("dtype", dtype)


class _Affine(Module):
    """γ/β named as in the notes, PyTorch's ``weight``/``bias`` as aliases; the shared backward.

    Subclasses set ``gamma``/``beta`` (Parameters or None) and implement ``_param_shape(x)``,
    the broadcast shape of γ against an input x.
    """

    _ALIASES = {"weight": "gamma", "bias": "beta"}
    gamma: Parameter | None
    beta: Parameter | None

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(self._ALIASES.get(name, name), value)

    @property
    def weight(self) -> Parameter | None:
        """PyTorch's name for :attr:`gamma` (the same Parameter)."""
        return self.gamma

    @property
    def bias(self) -> Parameter | None:
        """PyTorch's name for :attr:`beta` (the same Parameter)."""
        return self.beta

    def _param_shape(self, x: np.ndarray) -> tuple[int, ...]:
        raise NotImplementedError

    def _params_for(self, x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """γ and β in x's dtype, shaped to broadcast against x (None if absent)."""
        shape = self._param_shape(x)

        def cast(p: Parameter | None) -> np.ndarray | None:
            return None if p is None else p.data.astype(x.dtype, copy=False).reshape(shape)

        return cast(self.gamma), cast(self.beta)

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: the shape of the forward output -> dx: the shape of x (None if not
        ``need_dx``); adds dγ = Σ dout ⊙ x̂ and dβ = Σ dout into the grads (unless frozen)."""
        cache: NormCache = self._peek_cache()
        x_hat = cache.x_hat
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != x_hat.shape:
            raise ValueError(
                f"dout: expected the shape of the forward output {x_hat.shape}, got {dout.shape}"
            )
        self._caches.pop()
        dout = dout.astype(x_hat.dtype, copy=False)
        need_params = self._wants_grad(self.gamma, self.beta)
        dx, dgamma, dbeta = norm_backward(dout, cache, need_dx=need_dx, need_params=need_params)
        if dgamma is not None:
            dgamma = dgamma.reshape(self.gamma.shape)
        if dbeta is not None:
            dbeta = dbeta.reshape(self.beta.shape)
        self._accumulate((self.gamma, dgamma), (self.beta, dbeta))
        return dx


class _BatchNorm(_Affine):
    """Shared code of :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _ndims: tuple[int, ...] = ()
    _layout: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype: type | np.dtype = np.float64,
    ) -> None:
        super().__init__()
        self.num_features = check_int("num_features", num_features, minimum=1)
        self.eps = check_positive("eps", eps)
        self.momentum = None if momentum is None else check_probability("momentum", momentum)
        if not isinstance(affine, bool):
            raise TypeError(f"affine: expected a bool, got {type(affine).__name__}")
        self.affine = affine
        dt = _float_dtype(dtype)
        C = self.num_features
        self.gamma = Parameter(np.ones(C, dtype=dt)) if affine else None
        self.beta = Parameter(np.zeros(C, dtype=dt)) if affine else None
        self.register_buffer("running_mean", np.zeros(C, dtype=dt))
        self.register_buffer("running_var", np.ones(C, dtype=dt))
        self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch tracked (in place)."""
        self.running_mean.fill(0)
        self.running_var.fill(1)
        self.num_batches_tracked.fill(0)

    def _param_shape(self, x: np.ndarray) -> tuple[int, ...]:
        return (1, self.num_features) + (1,) * (x.ndim - 2)  # (1, C, 1, ..., 1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, *S) -> y: same shape and dtype. Training: the batch's statistics, and
        the running estimates updated; eval: the running estimates."""
        x = as_float_array("x", x)
        C = self.num_features
        if x.ndim not in self._ndims or x.shape[1] != C:
            raise ValueError(
                f"x: expected shape {self._layout} with C = num_features = {C}, got {x.shape}"
            )
        axes = (0,) + tuple(range(2, x.ndim))
        gamma, beta = self._params_for(x)
        if not self.training:
            shape = self._param_shape(x)
            mean = self.running_mean.astype(x.dtype, copy=False).reshape(shape)
            var = self.running_var.astype(x.dtype, copy=False).reshape(shape)
            out, cache = norm_forward(x, axes, gamma, beta, self.eps, mean, var)
            self._save_cache(cache)
            return out
        m = x.size // C  # values per channel
        if m < 2:
            raise ValueError(
                "x: expected more than 1 value per channel in training mode (a batch variance "
                f"needs two), got shape {x.shape}"
            )
        out, cache = norm_forward(x, axes, gamma, beta, self.eps)
        self.num_batches_tracked += 1
        # momentum None: the cumulative average of every batch seen, as PyTorch
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean *= 1.0 - factor
        self.running_mean += factor * cache.mean.reshape(C)
        self.running_var *= 1.0 - factor
        self.running_var += (factor * m / (m - 1)) * cache.var.reshape(C)  # unbiased
        self._save_cache(cache)
        return out

    def extra_repr(self) -> str:
        m, a = self.momentum, self.affine
        return f"{self.num_features}, eps={self.eps}, momentum={m}, affine={a}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C.

    Args:
        num_features: C.
        eps: ε added to the variance (PyTorch's default 1e-5).
        momentum: weight of the new batch in the running estimates,
            ``running = (1 − momentum)·running + momentum·batch``; None gives the cumulative
            average of every batch seen (as PyTorch).
        affine: learn γ (starts at 1) and β (starts at 0); if False both are None.
        dtype: dtype of the parameters and buffers; the forward pass computes in the input's.

    Parameters: gamma (alias weight), beta (alias bias): (C,).
    Buffers: running_mean (C,) = 0, running_var (C,) = 1, num_batches_tracked () = 0.
    Shapes: x (N, C) or (N, C, L) -> y of the same shape; in training N·L must exceed 1.
    One :class:`NormCache` is kept per call until its backward.
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W) per channel C (statistics over N, H, W).

    Arguments, parameters and buffers as :class:`BatchNorm1d`.
    Shapes: x (N, C, H, W) -> y (N, C, H, W).
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"
