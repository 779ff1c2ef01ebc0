"""Grad mode: whether forwards record caches (``no_grad``), and calling a backward that may
not know ``need_dx`` (``backward_of``). See "Caches and reuse" in ``dlcourse.nn.module``."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

__all__ = ["no_grad", "is_grad_enabled", "backward_of"]

_grad_enabled: list[bool] = [True]


def is_grad_enabled() -> bool:
    """False inside ``with no_grad():`` (forwards then keep no caches)."""
    return _grad_enabled[-1]


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context in which forwards record no caches: inference that holds no memory.

    ``backward`` after a forward run under ``no_grad`` raises (there is nothing to
    differentiate). Nesting is allowed; the previous state is restored on exit, also when the
    block raises.

    >>> from dlcourse.nn import Linear, no_grad
    >>> layer = Linear(3, 2, rng=0)
    >>> with no_grad():
    ...     y = layer(np.ones((4, 3)))
    >>> layer.num_cached_calls
    0
    """
    _grad_enabled.append(False)
    try:
        yield
    finally:
        _grad_enabled.pop()


_ACCEPTS_NEED_DX: dict[type, bool] = {}


def backward_of(module: Any, dout: Any, need_dx: bool = True) -> Any:
    """``module.backward(dout, need_dx=need_dx)`` if its backward takes ``need_dx``, else
    ``module.backward(dout)`` (a student's or third-party module); returns what it returns."""
    if need_dx:
        return module.backward(dout)
    cls = type(module)
    accepts = _ACCEPTS_NEED_DX.get(cls)
    if accepts is None:
        try:
            params = inspect.signature(cls.backward).parameters
        except (TypeError, ValueError):
            params = {}
        accepts = "need_dx" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )
        _ACCEPTS_NEED_DX[cls] = accepts
    if accepts:
        return module.backward(dout, need_dx=False)
    module.backward(dout)
    return None
