"""Unpickle data files without letting them run code.

A pickle is a small program: its ``GLOBAL``/``STACK_GLOBAL`` opcodes import any callable by
name and ``REDUCE`` calls it, so ``pickle.load`` on a file from the internet can run anything
(``os.system``, ``builtins.exec``, ...). Every callable a pickle uses is looked up through
:meth:`pickle.Unpickler.find_class`; :class:`RestrictedUnpickler` answers only for an explicit
allow-list and raises :class:`UnsafePickleError` (a ``pickle.UnpicklingError``) naming the file
and the refused name for anything else, before anything is called.

:data:`NUMPY_ARRAY_GLOBALS` admits exactly what numpy arrays of plain numbers need, which is
everything CIFAR-10's python batches reference besides dicts, lists, bytes/str and ints (built
by opcodes that call no code). Checked with ``pickletools.genops`` on the official batches
(Python 2 ``cPickle``, protocol 2: ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``,
``numpy.dtype``) and on the course's rebuilt copies (protocol 4, numpy 2:
``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``); numpy's
protocol-5 form (``numpy._core.numeric._frombuffer``) is admitted too. The dtype constructors
are wrapped so that only bool, integer and floating dtypes can be built (no object arrays),
and ``numpy.ndarray`` resolves to a name that only ``_reconstruct`` accepts (the stream cannot
call the class itself).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "UnsafePickleError",
    "RestrictedUnpickler",
    "NUMPY_ARRAY_GLOBALS",
    "load_restricted",
]

_PLAIN_KINDS = "biuf"  # bool, signed and unsigned integers, floating point


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle references a global outside the allow-list (it could run code)."""


def _plain_dtype(spec: object, *args: object) -> np.dtype:
    """``numpy.dtype(spec, *args)`` for bool/int/float dtypes only (what arrays of numbers need)."""
    if not isinstance(spec, (str, bytes)):
        raise pickle.UnpicklingError(f"dtype: expected a type code string, got {spec!r}")
    code = spec.decode("ascii") if isinstance(spec, bytes) else spec
    dtype = np.dtype(code, *args)  # type: ignore[call-overload]
    if dtype.kind not in _PLAIN_KINDS or dtype.fields is not None:
        raise pickle.UnpicklingError(
            f"dtype: expected a bool, integer or floating dtype, got {dtype!r}"
        )
    return dtype


class _NdarrayName:
    """What the unpickler gets for ``numpy.ndarray``: a name for :func:`_reconstruct`, not the
    class itself, so the stream cannot call ``ndarray(shape, dtype, buffer, offset, strides)``
    through ``NEWOBJ`` or ``REDUCE``."""

    def __repr__(self) -> str:
        return "numpy.ndarray (name only)"


_NDARRAY = _NdarrayName()


def _reconstruct(subtype: object, shape: object, typecode: object) -> np.ndarray:
    """numpy's ``_reconstruct`` for plain ``numpy.ndarray`` only (no subclasses)."""
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError(f"_reconstruct: expected numpy.ndarray, got {subtype!r}")
    # An empty placeholder: the shape, dtype and data come from the BUILD state that follows
    # (``ndarray.__setstate__``); ``shape`` is ignored so a forged one cannot allocate memory.
    return np.empty((0,), dtype=np.uint8)


def _frombuffer(buf: object, dtype: object, shape: object, order: object) -> np.ndarray:
    """numpy's protocol-5 ``_frombuffer`` for plain dtypes only."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in _PLAIN_KINDS:
        raise pickle.UnpicklingError(f"_frombuffer: expected a plain dtype, got {dtype!r}")
    if not isinstance(buf, (bytes, bytearray)):
        raise pickle.UnpicklingError(f"_frombuffer: expected bytes, got {type(buf).__name__}")
    arr = np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)  # type: ignore[call-overload]
    return arr


#: (module, name) -> the object returned to the unpickler: numpy arrays of plain numbers.
NUMPY_ARRAY_GLOBALS: Mapping[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _plain_dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that resolves only the globals in ``allowed``.

    Args:
        file: an open binary file.
        allowed: (module, name) -> object to use for it; default :data:`NUMPY_ARRAY_GLOBALS`.
        source: the file's name, for error messages.
        encoding: how Python 2 ``str`` objects are decoded (``"bytes"`` keeps them as bytes,
            as CIFAR-10's documentation loads them).
    """

    def __init__(
        self,
        file: Any,
        *,
        allowed: Mapping[tuple[str, str], Any] = NUMPY_ARRAY_GLOBALS,
        source: str = "<pickle>",
        encoding: str = "bytes",
    ) -> None:
        super().__init__(file, encoding=encoding, fix_imports=False)
        self._allowed = dict(allowed)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        """Return the allowed object for ``module.name``; refuse every other global."""
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source}: refusing to load the global {module}.{name}: this data file "
                "may only contain dicts, lists, strings, numbers and numpy arrays of numbers "
                f"(allowed globals: {', '.join(f'{m}.{n}' for m, n in sorted(self._allowed))}); "
                "the file is corrupt or not what it claims to be. Delete it and download it "
                "again from the official source"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids (references to objects outside the file)."""
        raise UnsafePickleError(f"{self._source}: refusing a persistent id {pid!r}")


def load_restricted(
    path: str | os.PathLike[str],
    allowed: Mapping[tuple[str, str], Any] = NUMPY_ARRAY_GLOBALS,
    encoding: str = "bytes",
) -> Any:
    """Unpickle the file ``path`` with :class:`RestrictedUnpickler`.

    Returns:
        The unpickled object (for a CIFAR-10 batch: a dict with bytes keys).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: the file references a global outside ``allowed``.
        pickle.UnpicklingError: the file is not a valid pickle (truncated, corrupt); the message
            names the file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        unpickler = RestrictedUnpickler(f, allowed=allowed, source=str(path), encoding=encoding)
        try:
            return unpickler.load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
                KeyError, AttributeError, OverflowError, UnicodeDecodeError) as err:  # fmt: skip
            raise pickle.UnpicklingError(
                f"{path}: not a valid pickle file ({type(err).__name__}: {err}); it is "
                "truncated or corrupt: delete it and download it again"
            ) from err
