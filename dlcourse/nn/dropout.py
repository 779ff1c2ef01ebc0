"""Inverted dropout: in training, each unit is kept with probability 1 − p and scaled by 1/(1 − p).

Dropout (Srivastava et al., 2014; the notes' regularisation chapter, figs. 5.11–5.12) multiplies
every input or hidden unit by an independent binary mask μ ~ Bernoulli(1 − p), which trains an
exponential ensemble of sub-networks that share their weights. ``p`` is the **drop**
probability, as in PyTorch (the notes speak of the keep probability 1 − p: 0.8 for inputs, 0.5
for hidden units, i.e. ``Dropout(0.2)`` and ``Dropout(0.5)``).

The notes' weight-scaling rule divides the weights by 2 (multiplies by 1 − p) at inference.
*Inverted* dropout does the equivalent at training time instead: the kept units are divided by
1 − p, so E[out] = x and the network is used unchanged at inference (``eval()``: identity):

    out = x ⊙ μ / (1 − p),     dx = dout ⊙ μ / (1 − p).

The mask is drawn per element (per sample and per unit) from the layer's own Generator and is
part of the per-call cache, so a layer called twice before its backwards differentiates each
call with its own mask. p = 1 drops everything (out = 0, dx = 0; no division by zero); p = 0
is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_float_array, as_rng, check_probability
from dlcourse.nn.module import Module

__all__ = ["Dropout", "DropoutCache", "dropout_forward", "dropout_backward"]


@dataclass
class DropoutCache:
    """What :func:`dropout_backward` needs from one forward call.

    Attributes:
        mask: boolean keep-mask μ, the shape of the input; None when nothing was dropped
            (evaluation mode or p = 0: the layer was the identity).
        scale: the factor 1/(1 − p) applied to kept units (0.0 when p = 1).
        shape: the shape of the input (to check ``dout``).
        dtype: the dtype of the input (``dx`` is returned in it).
    """

    mask: np.ndarray | None
    scale: float
    shape: tuple[int, ...]
    dtype: np.dtype


def dropout_forward(
    x: np.ndarray, p: float, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout ``out = x ⊙ μ / (1 − p)`` with μ ~ Bernoulli(1 − p) element-wise.

    Args:
        x: any shape S, float32 or float64; not validated.
        p: drop probability in [0, 1].
        rng: the Generator the mask is drawn from (nothing is drawn if not ``training`` or
            p = 0).
        training: False gives the identity (``out`` is ``x`` itself, not a copy).

    Returns:
        out: shape S, dtype of x; and the :class:`DropoutCache`.
    """
    if not training or p == 0.0:
        return x, DropoutCache(mask=None, scale=1.0, shape=x.shape, dtype=x.dtype)
    keep = 1.0 - p
    mask = rng.random(x.shape) < keep  # (S,) bool, P(True) = 1 − p
    scale = 1.0 / keep if keep > 0.0 else 0.0  # p = 1: every unit dropped, nothing to scale
    out = x * mask  # bool mask keeps x's dtype
    out *= scale  # a Python float keeps float32 float32
    return out, DropoutCache(mask=mask, scale=scale, shape=x.shape, dtype=x.dtype)


def dropout_backward(
    dout: np.ndarray, cache: DropoutCache, need_dx: bool = True
) -> np.ndarray | None:
    """``dx = dout ⊙ μ / (1 − p)`` with the mask of the forward call (shape S), None if not
    ``need_dx``. ``dout`` is not validated."""
    if not need_dx:
        return None
    if cache.mask is None:
        return dout
    dx = dout * cache.mask
    dx *= cache.scale
    return dx


class Dropout(Module):
    """Inverted dropout layer (identity in ``eval()``).

    Args:
        p: drop probability in [0, 1] (PyTorch's meaning; default 0.5). The kept units are
            scaled by 1/(1 − p) in training so that E[out] = x.
        rng: Generator, seed or None: the layer's own source of masks (a seed makes a
            training run reproducible; nothing uses numpy's global random state).

    Shapes: x of any shape S (``(N, D)``, ``(N, C, H, W)``, ...) -> out of shape S, same dtype.
    One :class:`DropoutCache` (the mask) is kept per call until its backward.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.rng = as_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: shape S -> out: shape S, dtype of x (x ⊙ μ/(1 − p) in training, x in eval)."""
        x = as_float_array("x", x)
        out, cache = dropout_forward(x, self.p, self.rng, training=self.training)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: shape S -> dx = dout ⊙ μ/(1 − p) with the same call's mask (dout itself in
        eval mode); None if not ``need_dx``."""
        cache: DropoutCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != cache.shape:
            raise ValueError(
                f"dout: expected the shape of the forward output {cache.shape}, got {dout.shape}"
            )
        self._caches.pop()
        return dropout_backward(dout.astype(cache.dtype, copy=False), cache, need_dx=need_dx)

    def extra_repr(self) -> str:
        return f"p={self.p}"
