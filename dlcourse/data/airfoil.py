"""NASA airfoil self-noise (Brooks, Pope and Marcolini 1989; UCI ML repository, CC BY 4.0).

1,503 wind-tunnel measurements of NACA 0012 airfoil sections, used by the mini-batch SGD
chapter for linear regression. The official file ``airfoil_self_noise.dat`` has no header:
one measurement per line, six tab-separated numbers (CRLF line ends):

=====  ===========================================  =======
column meaning                                      unit
=====  ===========================================  =======
0      frequency                                    Hz
1      angle of attack                              degrees
2      chord length                                 m
3      free-stream velocity                         m/s
4      suction side displacement thickness          m
5      scaled sound pressure level (the target)     dB
=====  ===========================================  =======

Where the file comes from (first hit wins): ``root/airfoil/``, ``root/``,
``$DLCOURSE_DATA/airfoil/``, ``$DLCOURSE_DATA/`` (the UCI download is a single file, so the
course's offline copy sits at the top of that folder), the cache
``$DLCOURSE_CACHE/airfoil/``; then, if ``download=True`` and ``DLCOURSE_OFFLINE`` is not set,
a download from UCI (or ``$DLCOURSE_MIRROR/airfoil/airfoil_self_noise.dat``) into the cache,
SHA-256 checked (see :mod:`dlcourse.data.download`). A local file is checked for structure
(six numbers per line), not hashed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dlcourse._validate import check_bool, check_float_dtype
from dlcourse.data import download as _dl

__all__ = ["AIRFOIL_COLUMNS", "AirfoilFormatError", "load_airfoil", "read_airfoil"]

FILENAME = "airfoil_self_noise.dat"
_NAME = "airfoil"

#: Names of the six columns of the file; the first five are the features, the last the target.
AIRFOIL_COLUMNS: tuple[str, ...] = (
    "frequency [Hz]",
    "angle of attack [deg]",
    "chord length [m]",
    "free-stream velocity [m/s]",
    "suction side displacement thickness [m]",
    "scaled sound pressure level [dB]",
)


class AirfoilFormatError(ValueError):
    """The file is not six tab-separated numbers per line."""


def read_airfoil(path: str | os.PathLike[str], dtype: object = np.float32) -> np.ndarray:
    """Parse an airfoil file into a (N, 6) array (columns: :data:`AIRFOIL_COLUMNS`).

    Raises:
        AirfoilFormatError: a line without exactly six numbers, a non-finite value, or an empty
            file; the message names the file and the line.
    """
    path = Path(path)
    dt = check_float_dtype("dtype", dtype)
    rows: list[list[float]] = []
    with open(path, encoding="ascii", errors="replace", newline=None) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.strip().split("\t")
            try:
                if len(fields) != 6:
                    raise ValueError(f"{len(fields)} tab-separated fields")
                row = [float(v) for v in fields]
            except ValueError as err:
                raise AirfoilFormatError(
                    f"{path}, line {lineno}: expected 6 tab-separated numbers, got "
                    f"{line.rstrip()!r} ({err})"
                ) from None
            if not all(np.isfinite(row)):
                raise AirfoilFormatError(
                    f"{path}, line {lineno}: expected finite numbers, got {line.rstrip()!r}"
                )
            rows.append(row)
    if not rows:
        raise AirfoilFormatError(f"{path}: expected rows of 6 numbers, got an empty file")
    return np.asarray(rows, dtype=dt)


def _search_dirs(root: str | os.PathLike[str] | None) -> list[Path]:
    dirs: list[Path] = []
    if root is not None:
        root = Path(root).expanduser()
        dirs += [root / _NAME, root]
    data = os.environ.get("DLCOURSE_DATA")
    if data:
        dirs += [Path(data).expanduser() / _NAME, Path(data).expanduser()]
    dirs.append(_dl.cache_dir(_NAME))
    return dirs


def _locate(root: str | os.PathLike[str] | None, download: bool) -> Path:
    dirs = _search_dirs(root)
    for folder in dirs:
        if (folder / FILENAME).is_file():
            return folder / FILENAME

    def not_found(reason: str) -> str:
        searched = "\n".join(f"  {d / FILENAME}" for d in dirs)
        return (
            f"airfoil self-noise data not found{reason}. Searched:\n{searched}\nPut "
            f"{FILENAME} (from {_dl.dataset_url(_NAME, FILENAME)}) into one of these folders, "
            "e.g. set DLCOURSE_DATA to a folder that contains it, or call with download=True."
        )

    if not download:
        raise FileNotFoundError(not_found(" and download=False"))
    if _dl.offline():
        raise FileNotFoundError(not_found(" and downloads are off (DLCOURSE_OFFLINE is set)"))
    try:
        return _dl.fetch(
            _dl.dataset_url(_NAME, FILENAME),
            _dl.cache_dir(_NAME) / FILENAME,
            _dl.SHA256[(_NAME, FILENAME)],
        )
    except _dl.DownloadError as err:
        raise _dl.DownloadError(f"{err}\n" + not_found(" and the download failed")) from err


def load_airfoil(
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    dtype: object = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The airfoil self-noise data, unscaled, in the file's order.

    Args:
        root: a folder to search first (``root/airfoil/`` then ``root/``).
        download: fetch the file from UCI into the cache if no folder has it.
        dtype: float32 (default) or float64.

    Returns:
        ``X`` of shape (N, 5): frequency [Hz], angle of attack [deg], chord length [m],
        free-stream velocity [m/s], suction side displacement thickness [m]; ``y`` of shape
        (N,): scaled sound pressure level [dB]. N = 1503 for the official file. The notes'
        experiment standardises all six columns (label included) before training.

    Raises:
        FileNotFoundError: no file and ``download=False`` or ``DLCOURSE_OFFLINE`` set; the
            message lists every path searched.
        DownloadError / ChecksumError: the download failed or gave another file.
        AirfoilFormatError (a ValueError): a line is not six numbers.
    """
    download = check_bool("download", download)
    data = read_airfoil(_locate(root, download), dtype=dtype)
    return np.ascontiguousarray(data[:, :5]), np.ascontiguousarray(data[:, 5])
