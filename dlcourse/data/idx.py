"""Read and write the IDX format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the raw array, big-endian, C order::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d sizes, each a big-endian uint32
    then        prod(sizes) elements

So MNIST's image files start with the magic number 0x00000803 (2051: uint8, 3-D, shape
(N, 28, 28)) and its label files with 0x00000801 (2049: uint8, 1-D, shape (N,)).
Files whose name ends in ``.gz`` are gzip-compressed (as they are distributed).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDXFormatError", "IDX_DTYPES", "parse_idx", "read_idx", "idx_bytes", "write_idx"]

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


_REDO = "delete the file and download it again (or copy a good one in its place)"


class IDXFormatError(ValueError):
    """A file is not a valid IDX file (bad magic number, truncated, corrupt gzip stream)."""


def parse_idx(buf: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array.

    Args:
        buf: the file's content.
        source: the file's name, used in error messages.

    Returns:
        A read-only array with the header's shape, in native byte order (uint8 for MNIST).

    Raises:
        IDXFormatError: wrong magic number, unknown type, or a size that disagrees with the
            header (truncated or trailing bytes).
    """
    if len(buf) < 4:
        raise IDXFormatError(
            f"{source}: not an IDX file: {len(buf)} bytes, shorter than the 4-byte magic "
            f"number; {_REDO}"
        )
    zero, code, ndim = int.from_bytes(buf[0:2], "big"), buf[2], buf[3]
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise IDXFormatError(
            f"{source}: not an IDX file: magic number 0x{int.from_bytes(buf[:4], 'big'):08X}, "
            "expected 0x0000TTDD (TT = type code 08/09/0B/0C/0D/0E, DD = number of "
            "dimensions >= 1), e.g. 0x00000803 for images or 0x00000801 for labels; "
            + _REDO
        )
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise IDXFormatError(
            f"{source}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"the file has {len(buf)}; {_REDO}"
        )
    shape = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a huge header cannot overflow
    found = len(buf) - header
    if found != expected:
        what = "truncated" if found < expected else "corrupt (trailing bytes)"
        raise IDXFormatError(
            f"{source}: {what}: the header announces shape {shape} = {expected} bytes of data, "
            f"the file has {found}; {_REDO}"
        )
    arr = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">" and dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    arr.flags.writeable = False
    return arr


def _decompress(raw: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise IDXFormatError(
            f"{source}: corrupt or truncated gzip file ({err}); delete it and download it again"
        ) from err


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed if the name ends in ``.gz``) into an array.

    Raises:
        FileNotFoundError: the file does not exist.
        IDXFormatError: the file is not valid (see :func:`parse_idx`).
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = _decompress(raw, str(path))
    return parse_idx(raw, str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (header + big-endian data)."""
    arr = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    dtype = arr.dtype.newbyteorder("=")
    if dtype not in codes:
        raise TypeError(
            f"array: expected dtype uint8, int8, int16, int32, float32 or float64, got {arr.dtype}"
        )
    if arr.ndim < 1 or arr.ndim > 255:
        raise ValueError(f"array: expected 1 to 255 dimensions, got shape {arr.shape}")
    header = bytes([0, 0, codes[dtype], arr.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[codes[dtype]]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if the name ends in ``.gz``)."""
    path = Path(path)
    data = idx_bytes(array)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
