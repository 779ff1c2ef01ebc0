"""CIFAR-10 (Krizhevsky 2009): 50,000 train / 10,000 test 32×32 colour images, 10 classes.

Files: the official "python version" (``cifar-10-python.tar.gz``), which unpacks to
``cifar-10-batches-py/`` holding ``data_batch_1`` … ``data_batch_5`` (train), ``test_batch``
and ``batches.meta``. Each batch is a pickled dict (bytes keys): ``b"data"`` a uint8 array
(10000, 3072), each row an image as its red, green and blue 32×32 planes in row-major order;
``b"labels"`` a list of 10000 ints 0–9; ``b"filenames"``, ``b"batch_label"``. ``batches.meta``
holds ``b"label_names"``. The batches are read with
:func:`dlcourse.data.safe_pickle.load_restricted`, which admits only dicts, lists, strings,
numbers and numpy arrays of numbers: a data file cannot run code.

Where the batches come from (the first folder holding every file of the split wins):

1. ``root/cifar-10-batches-py/`` then ``root/`` itself, if ``root`` is given;
2. ``$DLCOURSE_DATA/cifar-10-batches-py/`` (the archive unpacked there);
3. the cache ``$DLCOURSE_CACHE/cifar-10-batches-py/`` (default ``~/.cache/dlcourse/…``);
4. if ``download=True`` and ``DLCOURSE_OFFLINE`` is not set: the archive (163 MiB) is
   downloaded from ``https://www.cs.toronto.edu/~kriz/`` (or
   ``$DLCOURSE_MIRROR/cifar-10/cifar-10-python.tar.gz``), its SHA-256 checked against the
   official archive's, the batch files extracted into the cache (only regular files under
   ``cifar-10-batches-py/``; an archive holding an absolute path, ``..``, or a link there is
   refused), and the archive deleted.

Local files are checked for structure (keys, dtype, shape, label range), not hashed: the
course's offline copy was rebuilt from the original images and differs byte-wise from the
official batches while holding the same images.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dlcourse._validate import check_bool, check_choice
from dlcourse.data import download as _dl
from dlcourse.data.datasets import search_dirs
from dlcourse.data.safe_pickle import load_restricted

__all__ = [
    "CIFAR10_CLASSES",
    "CIFARFormatError",
    "cifar10_label_names",
    "load_cifar10",
    "read_cifar_batch",
]

#: Class names of CIFAR-10, indexed by label (as in ``batches.meta``).
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
_DL_NAME = "cifar-10"  # key in download.BASE_URLS / SHA256 and the mirror's folder
_SAVED_AS = "cifar-10-python.tgz"  # fetch hashes a name not ending in .gz as raw bytes
_SPLIT_FILES: dict[str, tuple[str, ...]] = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_META = "batches.meta"
_ALL_FILES = (*_SPLIT_FILES["train"], *_SPLIT_FILES["test"], _META)
_PIXELS = 3 * 32 * 32


class CIFARFormatError(ValueError):
    """A CIFAR-10 file does not hold what the format prescribes (keys, dtype, shape, labels)."""


def _get(d: dict[Any, Any], key: str) -> Any:
    """``d[key]`` with bytes keys (``encoding="bytes"``, as documented) or str keys."""
    if key.encode() in d:
        return d[key.encode()]
    return d[key]


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read one python batch file (restricted unpickling) and check its structure.

    Returns:
        ``data`` uint8 of shape (N, 3072) (R, G, B planes of 32×32) and ``labels`` int64 (N,).

    Raises:
        UnsafePickleError (a ``pickle.UnpicklingError``): the file references code.
        pickle.UnpicklingError: the file is truncated or not a pickle.
        CIFARFormatError: wrong keys, dtype, shape, label count or range; the message names
            the file.
    """
    path = Path(path)
    batch = load_restricted(path)
    if not isinstance(batch, dict):
        raise CIFARFormatError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    try:
        data, labels = _get(batch, "data"), _get(batch, "labels")
    except KeyError:
        raise CIFARFormatError(
            f"{path}: expected the keys b'data' and b'labels', got {sorted(map(repr, batch))}"
        ) from None
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != _PIXELS
    ):
        got = (
            f"{data.dtype} array of shape {data.shape}"
            if isinstance(data, np.ndarray)
            else type(data).__name__
        )
        raise CIFARFormatError(
            f"{path}: expected b'data' a uint8 array of shape (N, {_PIXELS}), got {got}"
        )
    if not isinstance(labels, (list, np.ndarray)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels
    ):
        raise CIFARFormatError(f"{path}: expected b'labels' a list of ints")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if y.shape[0] != data.shape[0]:
        raise CIFARFormatError(
            f"{path}: expected {data.shape[0]} labels (one per image), got {y.shape[0]}"
        )
    if y.size and (y.min() < 0 or y.max() > 9):
        raise CIFARFormatError(
            f"{path}: expected labels 0-9, got values from {y.min()} to {y.max()}"
        )
    return data, y


# ---- finding and downloading -----------------------------------------------------------------


def _not_found(files: tuple[str, ...], dirs: list[Path], reason: str) -> str:
    searched = "\n".join(f"  {d}" for d in dirs)
    return (
        f"CIFAR-10 not found{reason}. Searched these folders for {', '.join(files)}:\n"
        f"{searched}\nUnpack {ARCHIVE} (from {_dl.dataset_url(_DL_NAME, ARCHIVE)}) so that "
        f"one of them holds {FOLDER}/, e.g. set DLCOURSE_DATA to the folder containing "
        f"{FOLDER}/, or call with download=True."
    )


def _safe_member(archive: Path, member: tarfile.TarInfo) -> str | None:
    """The batch file name ``member`` holds, None for other members; raise on unsafe ones."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or "\\" in member.name:
        raise CIFARFormatError(
            f"{archive}: refusing to extract the member {member.name!r} (absolute path or "
            "'..'): the archive is not the official one"
        )
    if len(name.parts) == 2 and name.parts[0] == FOLDER and name.parts[1] in _ALL_FILES:
        if not member.isfile():
            raise CIFARFormatError(
                f"{archive}: expected {member.name} to be a regular file, got a link or "
                "special file: the archive is not the official one"
            )
        return name.parts[1]
    return None


def extract_batches(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Extract the batch files of the official archive into ``dest/cifar-10-batches-py/``.

    Only the seven known batch files are written, each to a temporary file in the target
    folder and then renamed (so an interrupted extraction leaves no half file). Members with
    an absolute path or ``..`` make the whole archive refused, as do links in place of a
    batch file; other members (the archive's ``readme.html``) are skipped.

    Returns:
        The folder holding the batches.

    Raises:
        CIFARFormatError: an unsafe member, a missing batch file, or not a tar.gz archive.
    """
    archive, folder = Path(archive), Path(dest) / FOLDER
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {}
            for member in tar.getmembers():
                file = _safe_member(archive, member)
                if file is not None:
                    members[file] = member
            missing = [f for f in _ALL_FILES if f not in members]
            if missing:
                raise CIFARFormatError(
                    f"{archive}: expected {FOLDER}/{missing[0]} in the archive; missing "
                    f"{', '.join(missing)}"
                )
            folder.mkdir(parents=True, exist_ok=True)
            for file, member in members.items():
                src = tar.extractfile(member)
                assert src is not None  # a regular file, checked above
                fd, tmp = tempfile.mkstemp(prefix=f".{file}.", suffix=".part", dir=folder)
                try:
                    with os.fdopen(fd, "wb") as out:
                        shutil.copyfileobj(src, out)
                    os.replace(tmp, folder / file)
                finally:
                    Path(tmp).unlink(missing_ok=True)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CIFARFormatError(
            f"{archive}: not a valid .tar.gz archive ({err}); delete it and download it again"
        ) from err
    return folder


def _download(files: tuple[str, ...], dirs: list[Path], fetch_options: dict[str, Any]) -> Path:
    """Download and verify the official archive, extract it into the cache, delete it."""
    cache = _dl.cache_dir(FOLDER)
    archive = cache.parent / _SAVED_AS
    try:
        _dl.fetch(
            _dl.dataset_url(_DL_NAME, ARCHIVE),
            archive,
            _dl.SHA256[(_DL_NAME, ARCHIVE)],
            **fetch_options,
        )
    except _dl.DownloadError as err:
        raise _dl.DownloadError(
            f"{err}\n" + _not_found(files, dirs, " and the download failed")
        ) from err
    try:
        return extract_batches(archive, cache.parent)
    finally:
        archive.unlink(missing_ok=True)


def _locate(
    files: tuple[str, ...],
    root: str | os.PathLike[str] | None,
    download: bool,
    fetch_options: dict[str, Any] | None = None,
) -> Path:
    """The first folder holding every one of ``files``, downloading the archive if allowed."""
    dirs = search_dirs(FOLDER, root)
    for folder in dirs:
        if all((folder / f).is_file() for f in files):
            return folder
    if not download:
        raise FileNotFoundError(_not_found(files, dirs, " and download=False"))
    if _dl.offline():
        raise FileNotFoundError(
            _not_found(files, dirs, " and downloads are off (DLCOURSE_OFFLINE is set)")
        )
    return _download(files, dirs, dict(fetch_options or {}))


# ---- public loaders --------------------------------------------------------------------------


def load_cifar10(
    split: str = "train",
    download: bool = True,
    root: str | os.PathLike[str] | None = None,
    *,
    normalize: bool = True,
    flatten: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels (see the module docstring for the files and their lookup).

    Args:
        split: ``"train"`` (the five data batches in order, 50,000 images) or ``"test"``
            (10,000).
        download: fetch the official archive into the cache when no folder has the files.
        root: a folder to search first (``root/cifar-10-batches-py/`` then ``root/``).
        normalize: scale the pixels (0–255) to [0, 1] (else float32 0–255).
        flatten: return (N, 3072) rows (R, G, B planes) instead of (N, 3, 32, 32).

    Returns:
        ``X`` float32 of shape (N, 3, 32, 32) (channels R, G, B) or (N, 3072); ``y`` int64
        labels (N,) in 0–9, names in :data:`CIFAR10_CLASSES`. The train split takes 600 MB
        as float32.

    Raises:
        FileNotFoundError: the files are missing and ``download=False`` or
            ``DLCOURSE_OFFLINE`` is set; the message lists every folder searched.
        DownloadError / ChecksumError: the download failed or gave the wrong archive.
        pickle.UnpicklingError: a batch is corrupt or references code (never executed).
        CIFARFormatError (a ValueError): a batch has the wrong keys, dtype, shape or labels.
    """
    check_choice("split", split, tuple(_SPLIT_FILES))
    download = check_bool("download", download)
    normalize = check_bool("normalize", normalize)
    flatten = check_bool("flatten", flatten)
    files = _SPLIT_FILES[split]
    folder = _locate(files, root, download)
    parts = [read_cifar_batch(folder / f) for f in files]
    n = sum(d.shape[0] for d, _ in parts)
    X = np.empty((n, _PIXELS), dtype=np.float32)
    i = 0
    for data, _ in parts:
        X[i : i + data.shape[0]] = data
        i += data.shape[0]
    if normalize:
        X /= np.float32(255.0)
    y = np.concatenate([labels for _, labels in parts])
    return (X if flatten else X.reshape(n, 3, 32, 32)), y


def cifar10_label_names(
    download: bool = True, root: str | os.PathLike[str] | None = None
) -> tuple[str, ...]:
    """The class names stored in ``batches.meta`` (equal to :data:`CIFAR10_CLASSES`).

    Raises:
        FileNotFoundError, DownloadError: as :func:`load_cifar10`.
        CIFARFormatError: ``batches.meta`` has no list ``b"label_names"`` of 10 names.
    """
    download = check_bool("download", download)
    folder = _locate((_META,), root, download)
    path = folder / _META
    meta = load_restricted(path)
    try:
        names = _get(meta, "label_names") if isinstance(meta, dict) else None
    except KeyError:
        names = None
    if not isinstance(names, list) or len(names) != 10:
        raise CIFARFormatError(f"{path}: expected b'label_names', a list of 10 names")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
