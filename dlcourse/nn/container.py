"""``Sequential``: modules applied one after the other (see ``dlcourse.nn.module`` for the
rules of caches and reuse)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from dlcourse.nn.grad_mode import backward_of
from dlcourse.nn.module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Modules applied one after the other: ``forward`` chains them, ``backward`` runs in reverse.

    ``Sequential(Linear(2, 16), ReLU(), Linear(16, 2))``; children are named ``"0"``, ``"1"``, ...
    Supports ``len``, iteration, ``seq[i]`` and slices (``seq[:2]`` is a Sequential sharing the
    same modules). A module may appear several times (its calls are differentiated in reverse
    order, see "Caches and reuse" in ``dlcourse.nn.module``).

    Modules that return several values: each child's output is passed to the next child as its
    one argument, and ``backward`` passes each child's return value to the previous child. A
    recurrent layer returns ``(outputs, state)``, so the next child must accept that tuple (e.g.
    a small module that keeps ``outputs``: its backward returns ``(doutputs, None)``), and the
    recurrent layer's backward receives that pair. ``fit``'s supervised path needs the whole
    model to return what the loss takes (the logits); anything else trains with
    ``fit(step=...)``.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"modules[{i}]: expected a Module, got {type(m).__name__}")
            self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, dout: Any, need_dx: bool = True) -> Any:
        """Back-propagate through the children in reverse order; return dx (None if not
        ``need_dx``, in which case the first child skips its input gradient)."""
        mods = list(self._modules.values())
        for m in reversed(mods[1:]):
            dout = m.backward(dout)
        if not mods:
            return dout if need_dx else None
        return backward_of(mods[0], dout, need_dx)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*mods[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index: expected an int or a slice, got {type(index).__name__}")
        if not -len(mods) <= index < len(mods):
            raise IndexError(f"index: expected a value in [{-len(mods)}, {len(mods)}), got {index}")
        return mods[index]
