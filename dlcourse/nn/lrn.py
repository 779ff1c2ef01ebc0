"""Local response normalisation across channels (``LocalResponseNorm``), AlexNet's LRN.

PyTorch's definition (``torch.nn.LocalResponseNorm``), for an input ``(N, C, ...)``:

    b_c = a_c · d_c^(−β),   d_c = k + (α / n) · Σ_{c' = c − ⌊n/2⌋}^{c + ⌊(n−1)/2⌋} a_{c'}²,

with channels outside ``0 … C − 1`` counted as zeros. Note that **α is divided by the window
size n** (Krizhevsky et al. 2012 write ``k + α Σ a²`` with α = 1e-4, n = 5, β = 0.75, k = 2:
PyTorch's α is theirs times n). The window covers ⌊n/2⌋ channels before c and ⌊(n−1)/2⌋ after
(for an odd n, (n−1)/2 on each side).

Backward: with ``g_c = dout_c · a_c · d_c^(−β−1)``,

    dx_j = dout_j · d_j^(−β) − (2αβ / n) · a_j · Σ_{c : j ∈ window(c)} g_c,

where ``j ∈ window(c)`` means ``c ∈ [j − ⌊(n−1)/2⌋, j + ⌊n/2⌋]`` (the transposed window).
Both window sums loop over the n channel offsets only (vectorised over everything else).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse._validate import as_float_array, check_int, check_nonnegative, check_positive
from dlcourse.nn.module import Module

__all__ = ["LocalResponseNorm", "LRNCache", "lrn_forward", "lrn_backward"]


@dataclass
class LRNCache:
    """What :func:`lrn_backward` needs from one forward call.

    Attributes:
        x: the input (N, C, ...). scale: d^(−β), same shape. denom: d, same shape.
        size, alpha, beta: the layer's n, α, β.
    """

    x: np.ndarray
    scale: np.ndarray
    denom: np.ndarray
    size: int
    alpha: float
    beta: float


def _window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``s_c = Σ_{c' = c − before}^{c + after} a_{c'}`` along axis 1, zeros outside."""
    C = a.shape[1]
    pad = np.zeros((a.shape[0], C + before + after) + a.shape[2:], a.dtype)
    pad[:, before : before + C] = a
    s = pad[:, 0:C].copy()
    for o in range(1, before + after + 1):  # a loop over the n window offsets
        s += pad[:, o : o + C]
    return s


def lrn_forward(
    x: np.ndarray, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> tuple[np.ndarray, LRNCache]:
    """LRN of x (N, C, ...) -> (out of the same shape and dtype, :class:`LRNCache`);
    not validated (the module validates)."""
    sq = _window_sum(x * x, size // 2, (size - 1) // 2)
    denom = sq * (alpha / size) + k  # Python floats keep float32 float32
    scale = denom ** (-beta)
    return x * scale, LRNCache(x, scale, denom, size, alpha, beta)


def lrn_backward(dout: np.ndarray, cache: LRNCache) -> np.ndarray:
    """dout (N, C, ...) -> dx (N, C, ...), the closed form in the module docstring."""
    n, x = cache.size, cache.x
    g = dout * x * cache.scale / cache.denom  # dout_c a_c d_c^(−β−1)
    back = _window_sum(g, (n - 1) // 2, n // 2)  # the transposed window
    return dout * cache.scale - (2.0 * cache.alpha * cache.beta / n) * x * back


class LocalResponseNorm(Module):
    """Local response normalisation over neighbouring channels (PyTorch's definition).

    Args:
        size: n, the number of channels in each window (an int >= 1).
        alpha: α (> 0), divided by n in the formula. beta: β (> 0). k: the additive constant
            (>= 0; a zero k with an all-zero window divides by zero, as in PyTorch).

    Shapes: x (N, C, ...) with at least 3 dimensions (e.g. (N, C, H, W)) -> same shape and
    dtype. No parameters.

    >>> LocalResponseNorm(2, alpha=1.0, beta=1.0, k=1.0)(np.ones((1, 2, 1, 1)))[0, :, 0, 0]
    array([0.66666667, 0.5       ])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = check_int("size", size, minimum=1)
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_positive("beta", beta)
        self.k = check_nonnegative("k", k)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, ...) -> (N, C, ...), dtype kept."""
        x = as_float_array("x", x)
        if x.ndim < 3:
            raise ValueError(
                f"x: expected an array of at least 3 dimensions (N, C, ...), got shape {x.shape}"
            )
        out, cache = lrn_forward(x, self.size, self.alpha, self.beta, self.k)
        self._save_cache(cache)
        return out

    def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dout: (N, C, ...) -> dx: same shape (None if not ``need_dx``)."""
        cache: LRNCache = self._peek_cache()
        dout = as_float_array("dout", dout, allow_nan=True)
        if dout.shape != cache.x.shape:
            raise ValueError(
                f"dout: expected shape {cache.x.shape} (the forward output), got {dout.shape}"
            )
        self._caches.pop()
        if not need_dx:
            return None
        return lrn_backward(dout.astype(cache.x.dtype, copy=False), cache)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
