"""Gradient clipping: rescale the gradients by their global norm, or clip each entry.

Both act **in place** on ``p.grad`` between ``backward`` and ``opt.step()``::

    model.backward(L.backward())
    total = clip_grad_norm(model.parameters(), max_norm=1.0)
    opt.step()

Frozen parameters (``p.requires_grad`` False) are neither counted nor changed, as PyTorch
skips a parameter without a gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from dlcourse._validate import check_nonnegative, check_positive
from dlcourse.nn.module import Parameter
from dlcourse.optim.base import as_parameter_list

__all__ = ["clip_grad_norm", "clip_grad_value"]


def _grads(params: Iterable[Parameter] | Parameter) -> list[np.ndarray]:
    plist = [params] if isinstance(params, Parameter) else as_parameter_list(
        params, allow_empty=True
    )
    return [p.grad for p in plist if p.requires_grad]


def clip_grad_norm(
    params: Iterable[Parameter] | Parameter, max_norm: float, norm_type: float = 2.0
) -> float:
    """Rescale every gradient by ``max_norm / (‖g‖ + 1e-6)`` when the global norm exceeds
    ``max_norm`` (``torch.nn.utils.clip_grad_norm_``).

    The global norm treats all gradients as one vector: ``‖g‖ = (Σ_p ‖g_p‖^q)^{1/q}`` for
    ``norm_type`` q (``max_p max|g_p|`` for ``math.inf``). The direction of the whole gradient is
    kept; only its length is capped (the constant 1e-6 is PyTorch's, so the clipped norm is
    just under ``max_norm``).

    Args:
        params: ``Parameter`` s (e.g. ``model.parameters()``) or a single one.
        max_norm: the largest norm allowed, >= 0.
        norm_type: q > 0 or ``math.inf`` (default 2, the L2 norm).

    Returns:
        the global norm before clipping, as a float.

    Raises:
        ValueError: the global norm is NaN or infinite (a diverged run: clipping cannot help).

    >>> p = Parameter(np.zeros(2))
    >>> p.grad[:] = [3.0, 4.0]
    >>> clip_grad_norm([p], max_norm=1.0)
    5.0
    >>> np.round(p.grad, 6)
    array([0.6, 0.8])
    """
    grads = _grads(params)
    max_norm = check_nonnegative("max_norm", max_norm)
    if norm_type != math.inf:
        norm_type = check_positive("norm_type", norm_type)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        norms = [float(np.linalg.norm(g.ravel(), ord=norm_type)) if g.size else 0.0
                 for g in grads]
        total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if not math.isfinite(total):
        raise ValueError(f"params: expected finite gradients, got a global norm of {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total


def clip_grad_value(params: Iterable[Parameter] | Parameter, clip_value: float) -> None:
    """Clip every gradient entry to ``[−clip_value, clip_value]``, in place
    (``torch.nn.utils.clip_grad_value_``). Unlike :func:`clip_grad_norm` this changes the
    gradient's direction.

    Args:
        params: ``Parameter`` s (e.g. ``model.parameters()``) or a single one.
        clip_value: the bound, > 0.

    >>> p = Parameter(np.zeros(3))
    >>> p.grad[:] = [-5.0, 0.5, 2.0]
    >>> clip_grad_value(p, 1.0)
    >>> p.grad
    array([-1. ,  0.5,  1. ])
    """
    grads = _grads(params)
    clip_value = check_positive("clip_value", clip_value)
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
