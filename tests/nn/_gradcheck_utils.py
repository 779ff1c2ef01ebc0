"""Gradient check of a module's backward against centred finite differences (float64).

For a random upstream gradient ``dout``, the scalar L = Σ out ⊙ dout has dL/dout = dout, so
``backward(dout)`` must return dL/dx and add dL/dθ into every ``Parameter.grad``.
"""

from __future__ import annotations

import numpy as np

from dlcourse.gradcheck import numerical_gradient, relative_error
from dlcourse.nn import Module, no_grad


def check_module_gradients(
    module: Module, x: np.ndarray, rng: np.random.Generator, tol: float = 1e-6, eps: float = 1e-6
) -> None:
    """Assert that dx and every parameter gradient agree with finite differences (< tol)."""
    x = np.asarray(x, dtype=np.float64)
    out = module(x)
    dout = rng.standard_normal(out.shape)
    module.zero_grad()
    dx = module.backward(dout)
    left = [type(m).__name__ for m in module.modules() if m.num_cached_calls]
    assert not left, f"backward must release the caches it consumed; still held by {left}"
    analytic = {name: p.grad.copy() for name, p in module.named_parameters()}

    def loss_of_x(z: np.ndarray) -> float:
        with no_grad():  # finite differences need no caches
            return float(np.sum(module(z) * dout))

    err = relative_error(dx, numerical_gradient(loss_of_x, x, eps))
    assert err < tol, f"dx: relative error {err:.2e}"
    for name, p in module.named_parameters():
        assert p.data.dtype == np.float64, f"{name}: gradient checks need float64"
        numeric = numerical_gradient(lambda _: loss_of_x(x), p.data, eps, inplace=True)
        err = relative_error(analytic[name], numeric)
        assert err < tol, f"{name}: relative error {err:.2e}"
