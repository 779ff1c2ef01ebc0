"""Adam (Kingma & Ba, 2015; algorithm 5.5, equations (5.41)–(5.45))."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dlcourse._validate import check_nonnegative, check_probability
from dlcourse.nn.module import Parameter
from dlcourse.optim.base import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam: momentum on the gradient plus RMSProp's scaling, both bias-corrected. With g the
    gradient (plus λθ) at step t = 1, 2, ...::

        M_t = β1 M_{t-1} + (1 − β1) g            (first moment, momentum)
        G_t = β2 G_{t-1} + (1 − β2) g ⊙ g        (second moment, as in RMSProp)
        M̂_t = M_t / (1 − β1^t),  Ĝ_t = G_t / (1 − β2^t)   (bias correction)
        Δθ_t = −α M̂_t / (√Ĝ_t + ε)

    ε sits **outside** the square root, as in Kingma & Ba, ``torch.optim.Adam`` and the notes'
    experiment code; the notes' (5.45) and algorithm 5.5 write ``√(Ĝ_t + ε)``. The first step
    moves every parameter by ``α g / (|g| + ε) ≈ α sign(g)``.

    Args:
        params: the parameters to train.
        lr: α > 0.
        betas: (β1, β2), each in [0, 1) (alg. 5.5's 0.9 and 0.999 by default).
        eps: ε >= 0, added to √Ĝ for numerical stability.
        weight_decay: λ >= 0, added to the gradient as λθ (L2 penalty, not AdamW).

    State per parameter: ``"M"`` and ``"G"``, arrays of the parameter's shape and dtype.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            check_probability("betas[0]", betas[0], closed_right=False),
            check_probability("betas[1]", betas[1], closed_right=False),
        )
        self.eps = check_nonnegative("eps", eps)
        for st, p in zip(self.state, self.params, strict=True):
            st["M"] = np.zeros_like(p.data)
            st["G"] = np.zeros_like(p.data)

    def _update(self, i: int, p: Parameter, g: np.ndarray) -> None:
        beta1, beta2 = self.betas
        st = self.state[i]
        M, G = st["M"], st["G"]
        buf = self._scratch(i, p)
        # M_t = β1 M + (1 − β1) g, in place
        M *= beta1
        np.multiply(g, 1.0 - beta1, out=buf)
        M += buf
        # G_t = β2 G + (1 − β2) g ⊙ g, in place
        G *= beta2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - beta2
        G += buf
        # Δθ = −α M̂ / (√Ĝ + ε) with M̂ = M / (1 − β1^t), Ĝ = G / (1 − β2^t)
        np.divide(G, 1.0 - beta2**self.t, out=buf)
        np.sqrt(buf, out=buf)
        buf += self.eps
        np.divide(M, buf, out=buf)
        buf *= self.lr / (1.0 - beta1**self.t)
        p.data -= buf

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            **super()._hyperparameters(),
            "betas": self.betas,
            "eps": self.eps,
        }
