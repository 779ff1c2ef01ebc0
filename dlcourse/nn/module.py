"""``Parameter`` and the ``Module`` base class (also see ``nn.container``, ``nn.grad_mode``).

A network is a tree of modules. Each module computes ``forward(x)`` and, given the gradient
``dout`` of the loss with respect to its output, ``backward(dout)`` returns ``dx`` and **adds**
(``+=``) the gradient of every parameter into ``Parameter.grad``; the grads therefore
accumulate over several backward calls until ``zero_grad()`` resets them, as in PyTorch.

Parameters, buffers (arrays saved with the model but not trained, e.g. running means) and
submodules are registered by plain attribute assignment (``self.W = Parameter(...)``,
``self.body = Sequential(...)``), which gives the dotted names of ``named_parameters()`` and
``state_dict()`` (``"0.W"``, ``"encoder.1.b"``) in assignment order.

Caches and reuse (the rule every layer follows)
-----------------------------------------------
The numerical work of a layer is a pair of kernels, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> grads``, with the cache a small named dataclass. A module keeps a
**stack** of the caches of its calls: each ``forward`` pushes one, each ``backward`` pops the
most recent one. So a module may be called several times before its backward — the same
``Linear`` twice in one ``Sequential``, an RNN cell unrolled over T steps, a discriminator
applied to a real and a fake batch — and every call gets its own gradient, provided the
backward calls come in the reverse order of the forward calls (last in, first out: exactly the
order of back-propagation through time, and of the chain rule through a composition). A
backward with no cache left raises ``RuntimeError``; the parameter gradients of all calls add
up in ``Parameter.grad``.

Memory: ``backward`` releases the cache it consumes; ``train()`` and ``eval()`` release every
cache of the tree; in eval mode a module keeps only the cache of its latest call (enough for a
saliency map, never a growing list); inside ``with no_grad():`` forwards keep nothing, which is
how ``evaluate`` and ``predict`` run. In train mode a module keeps at most
``Module.max_cached_calls`` (128) calls and drops the oldest beyond that, so a loop that
evaluates in train mode without a backward cannot grow memory without bound; a backward that
would need a dropped call raises (it never uses the wrong one). A layer that loops over many
steps (a recurrent layer over T) keeps one cache per forward call, so the bound concerns only
cells unrolled by hand; raise it on the class or the instance if such a loop needs more.

Frozen parameters and skipped work: a parameter with ``requires_grad = False`` receives no
gradient (its layer skips that product) and optimisers leave it unchanged;
``module.requires_grad_(False)`` freezes a whole module. ``backward(dout, need_dx=False)``
skips the input gradient and returns None: ``Sequential`` passes it to its first layer when its
own caller needs no dx, and ``fit`` asks for no dx (nobody uses the gradient of the data).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse._validate import as_array, as_float_array
from dlcourse.nn.grad_mode import _grad_enabled

__all__ = ["Parameter", "Module"]

class Parameter:
    """A trainable array and the gradient accumulated for it.

    Args:
        data: initial value, any shape; float32/float64 are kept, other numbers become float64.
            The array is copied, so training never changes the caller's array.

    Attributes:
        data: the value, shape ``S``.
        grad: the accumulated gradient dL/d(data), same shape and dtype, zero at creation.
        requires_grad: if False the parameter is frozen: layers add nothing to ``grad`` and
            optimisers do not update it (fine-tuning, a GAN's discriminator during the
            generator's step).
    """

    def __init__(self, data: object, requires_grad: bool = True) -> None:
        self.data: np.ndarray = np.array(as_float_array("data", data), copy=True)
        self.grad: np.ndarray = np.zeros_like(self.data)
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad: expected a bool, got {type(requires_grad).__name__}")
        self.requires_grad: bool = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def zero_grad(self) -> None:
        """Reset the gradient to zero, in place."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and submodules as
    attributes and implement ``forward`` and ``backward``.
    """

    training: bool
    #: Most forward calls whose caches a module keeps in train mode (older ones are dropped).
    max_cached_calls: int = 128

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_caches", [])
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        registries = self.__dict__.get("_parameters")
        if registries is None:
            if isinstance(value, (Parameter, Module)):
                raise RuntimeError(
                    f"{type(self).__name__}: call super().__init__() before assigning "
                    f"the parameter or submodule {name!r}"
                )
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(
                    f"{name}: expected an ndarray for this buffer, got {type(value).__name__}"
                )
            buffers[name] = value
        else:
            params.pop(name, None)
            modules.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Register a non-trainable array saved in ``state_dict`` (e.g. BatchNorm's running mean).

        Reassigning ``self.<name> = new_array`` later keeps it registered.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"name: expected a Python identifier, got {name!r}")
        self._buffers[name] = as_array(name, array)
        object.__setattr__(self, name, self._buffers[name])

    def add_module(self, name: str, module: Module) -> None:
        """Register ``module`` as a child called ``name`` (used by containers like Sequential)."""
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module, got {type(module).__name__}")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ------------------------------------------------------------------ traversal
    def children(self) -> list[Module]:
        """The direct submodules, in registration order."""
        return list(self._modules.values())

    def named_children(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def modules(self) -> list[Module]:
        """This module and all its descendants, depth first, each once."""
        out: list[Module] = []
        seen: set[int] = set()

        def visit(m: Module) -> None:
            if id(m) in seen:
                return
            seen.add(id(m))
            out.append(m)
            for child in m._modules.values():
                visit(child)

        visit(self)
        return out

    def _walk(
        self, kind: str, prefix: str, seen: set[int]
    ) -> Iterator[tuple[str, Any, Module, str]]:
        """Yield ``(dotted name, value, owning module, attribute)`` for params or buffers."""
        registry = self._parameters if kind == "param" else self._buffers
        for attr, value in registry.items():
            if value is None or id(value) in seen:
                continue
            seen.add(id(value))
            yield prefix + attr, value, self, attr
        for child_name, child in self._modules.items():
            yield from child._walk(kind, f"{prefix}{child_name}.", seen)

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs: own parameters first, then each child's.

        A parameter shared by two submodules is listed once, under its first name.
        """
        return [(name, p) for name, p, _, _ in self._walk("param", "", set())]

    def parameters(self) -> list[Parameter]:
        """All parameters (each once), in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        return [(name, b) for name, b, _, _ in self._walk("buffer", "", set())]

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Set the ``training`` flag of this module and all descendants; return ``self``."""
        if not isinstance(mode, bool):
            raise TypeError(f"mode: expected a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
            m._caches.clear()
        return self

    def eval(self) -> Module:
        """Evaluation mode (``training = False``) everywhere, e.g. dropout off; return ``self``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter of this module; return ``self``."""
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad: expected a bool, got {type(requires_grad).__name__}")
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ gradients
    @staticmethod
    def _wants_grad(*params: Parameter | None) -> bool:
        """True if any of ``params`` (None entries ignored) is trainable."""
        return any(p is not None and p.requires_grad for p in params)

    @staticmethod
    def _accumulate(*pairs: tuple[Parameter | None, np.ndarray | None]) -> None:
        """``p.grad += g`` for each ``(p, g)`` with a trainable ``p`` and a computed ``g``."""
        for p, g in pairs:
            if p is not None and g is not None and p.requires_grad:
                p.grad += g

    # ------------------------------------------------------------------ caches
    def _save_cache(self, cache: Any) -> None:
        """Record the cache of one forward call (see "Caches and reuse" in the module doc)."""
        if not _grad_enabled[-1]:
            return
        caches = self._caches
        if not self.training:
            caches.clear()  # eval mode: only the latest call is kept
        elif len(caches) >= self.max_cached_calls:
            del caches[0]  # bounded memory: the oldest call is dropped
        caches.append(cache)

    def _pop_cache(self) -> Any:
        """Remove and return the cache of the most recent forward call not yet differentiated."""
        cache = self._peek_cache()
        self._caches.pop()
        return cache

    def _peek_cache(self) -> Any:
        """The cache :meth:`_pop_cache` would return, left in place (so that a backward whose
        ``dout`` fails validation can be retried)."""
        try:
            return self._caches[-1]
        except IndexError:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward: no forward call is left "
                "to differentiate. Each backward consumes the cache of one forward call, last "
                "in, first out; a forward run under no_grad() keeps none, train()/eval() "
                "release them, in eval mode only the latest call is kept, and in train mode at "
                f"most max_cached_calls={self.max_cached_calls}"
            ) from None

    @property
    def num_cached_calls(self) -> int:
        """Forward calls of this module (not its children) still waiting for their backward."""
        return len(self._caches)

    def clear_cache(self) -> None:
        """Release the caches of this module and all its descendants."""
        for m in self.modules():
            m._caches.clear()

    # ------------------------------------------------------------------ computation
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, np.ndarray]:
        """Dotted name -> a copy of each parameter's ``data`` and each buffer."""
        sd = {name: p.data.copy() for name, p in self.named_parameters()}
        sd.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return sd

    def load_state_dict(
        self, state_dict: dict[str, Any], strict: bool = True
    ) -> tuple[list[str], list[str]]:
        """Copy the arrays of ``state_dict`` into the parameters and buffers, in place.

        Args:
            state_dict: dotted name -> array, as returned by ``state_dict()``.
            strict: if True, a missing or unexpected key raises ``ValueError``; otherwise
                those keys are skipped and reported.

        Returns:
            ``(missing_keys, unexpected_keys)``.

        Raises:
            ValueError: listing every problem at once, before anything is copied: the missing
                and unexpected keys (when ``strict``) and every array whose shape differs from
                its parameter's (always checked).
        """
        if not isinstance(state_dict, dict) and not hasattr(state_dict, "keys"):
            raise TypeError(f"state_dict: expected a dict, got {type(state_dict).__name__}")
        targets: dict[str, tuple[str, Any, Module, str]] = {}
        for kind in ("param", "buffer"):
            for name, value, owner, attr in self._walk(kind, "", set()):
                targets[name] = (kind, value, owner, attr)
        given = list(state_dict.keys())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in given if k not in targets]
        problems = []
        if strict and (missing or unexpected):
            problems.append(f"keys do not match: missing {missing}, unexpected {unexpected}")
        arrays = {}
        for name, (_, value, _, _) in targets.items():
            if name not in state_dict:
                continue
            arr = as_array(f"state_dict[{name!r}]", state_dict[name])
            current = value.data if isinstance(value, Parameter) else value
            if arr.shape != current.shape:
                problems.append(
                    f"state_dict[{name!r}]: expected shape {current.shape}, got {arr.shape}"
                )
                continue
            arrays[name] = arr
        if problems:  # every problem in one error, nothing copied
            raise ValueError(
                f"state_dict: cannot load into {type(self).__name__}: " + "; ".join(problems)
            )
        for name, arr in arrays.items():  # all checks passed: now copy
            value = targets[name][1]
            np.copyto(value.data if isinstance(value, Parameter) else value, arr, casting="unsafe")
        return missing, unexpected

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``state_dict()`` to an ``.npz`` file (suffix added if absent); return its path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        np.savez(path, **self.state_dict())
        return path

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> Module:
        """Load parameters saved by ``save(path)`` (no pickles are read); return ``self``."""
        path = Path(path)
        if not path.exists() and path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        with np.load(path, allow_pickle=False) as archive:
            sd = {key: archive[key] for key in archive.files}
        self.load_state_dict(sd, strict=strict)
        return self

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The constructor arguments shown by ``repr``; subclasses override."""
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        return "\n".join(lines) + "\n)"
