"""The course's image datasets: 8×8 digits, MNIST and Fashion-MNIST.

Each loader returns ``(X, y)`` with ``X`` float32 and ``y`` int64 class labels (N,).

Where MNIST / Fashion-MNIST come from (first folder holding both files of the split wins):

1. ``root/<name>/`` then ``root/`` itself, if ``root`` is given;
2. ``$DLCOURSE_DATA/<name>/`` (the course's offline copy; CI sets it);
3. the cache ``$DLCOURSE_CACHE/<name>/`` (default ``~/.cache/dlcourse/<name>/``);
4. a download into that cache, if ``download=True`` and ``DLCOURSE_OFFLINE`` is not set (see
   :mod:`dlcourse.data.download`: official URLs or ``$DLCOURSE_MIRROR/<name>/``, SHA-256
   checked, atomic writes).

Pages that must run without the data use :func:`dlcourse.data.load_dataset`, which falls back
to :func:`load_digits` with a printed note.

``<name>`` is ``mnist`` or ``fashion-mnist``; the files keep their official names
(``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz``), gzip-compressed or already unpacked (without ``.gz``).
Files you provide are checked for structure (magic numbers, sizes, matching counts, labels
0–9) but not hashed, so a hand-made subset in the same format loads too; downloads are
hashed. Parsed files are kept in memory (keyed by path, size and modification time), so
loading the same split twice in one process is cheap; every call returns new arrays.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse._validate import check_choice
from dlcourse.data import download as _dl
from dlcourse.data.idx import IDXFormatError, read_idx

__all__ = [
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "FASHION_MNIST_CLASSES",
    "search_dirs",
]

#: Class names of Fashion-MNIST, indexed by label.
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

_SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_DIGITS_TEST_FRACTION = 0.2
_DIGITS_SEED = 0


# ---- 8×8 digits (scikit-learn, offline) ------------------------------------------------------


def _digits_split() -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified split of the 1,797 digits: 20% of each class to test (seed 0)."""
    from sklearn.datasets import load_digits as _sk_load_digits

    y = _sk_load_digits().target
    rng = np.random.default_rng(_DIGITS_SEED)
    test = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(round(_DIGITS_TEST_FRACTION * idx.size))
        test.append(rng.permutation(idx)[:k])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


def load_digits(
    split: str = "train", normalize: bool = True, flatten: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes), offline.

    The split is fixed: 20% of each class (rounded) goes to ``"test"`` (359 images), chosen
    with ``np.random.default_rng(0)``; the rest (1,438) is ``"train"``; ``"all"`` is every
    image in scikit-learn's order.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        normalize: divide the pixel counts (0–16) by 16 so that ``X`` is in [0, 1].
        flatten: return (N, 64) (the default, scikit-learn's layout, ready for an MLP) or,
            if False, images (N, 1, 8, 8).

    Returns:
        ``X`` float32 of shape (N, 64) or (N, 1, 8, 8); ``y`` int64 of shape (N,).
    """
    check_choice("split", split, ("train", "test", "all"))
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a listed dependency
        raise ImportError(
            "load_digits needs scikit-learn: pip install 'dlcourse[datasets]'"
        ) from err
    bunch = _sk_load_digits()
    X = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.int64)
    if split != "all":
        train_idx, test_idx = _digits_split()
        idx = train_idx if split == "train" else test_idx
        X, y = X[idx], y[idx]
    if normalize:
        X /= np.float32(16.0)
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return X, y


# ---- MNIST and Fashion-MNIST (IDX files) -----------------------------------------------------


def search_dirs(name: str, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for dataset ``name``, in order (see the module docstring)."""
    dirs: list[Path] = []
    if root is not None:
        root = Path(root).expanduser()
        dirs += [root / name, root]
    data = os.environ.get("DLCOURSE_DATA")
    if data:
        dirs.append(Path(data).expanduser() / name)
    dirs.append(_dl.cache_dir(name))
    return dirs


def _find(folder: Path, filename: str) -> Path | None:
    """``folder/filename``, or its unpacked form without ``.gz``, if it exists."""
    for candidate in (folder / filename, folder / filename.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int) -> np.ndarray:
    """Parsed IDX array of ``path``; size and mtime are part of the key so edits reload."""
    return read_idx(path)


def _read(path: Path) -> np.ndarray:
    st = path.stat()
    return _read_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _check_pair(images: np.ndarray, labels: np.ndarray, img_path: Path, lbl_path: Path) -> None:
    """Structural checks of an (images, labels) pair read from IDX files."""
    if images.dtype != np.uint8 or images.ndim != 3:
        raise IDXFormatError(
            f"{img_path}: expected uint8 images of shape (N, H, W) (magic 0x00000803), "
            f"got dtype {images.dtype} and shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IDXFormatError(
            f"{lbl_path}: expected uint8 labels of shape (N,) (magic 0x00000801), "
            f"got dtype {labels.dtype} and shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise IDXFormatError(
            f"{lbl_path}: expected {images.shape[0]} labels (one per image in {img_path.name}), "
            f"got {labels.shape[0]}"
        )
    if labels.size and labels.max() > 9:
        raise IDXFormatError(f"{lbl_path}: expected labels 0-9, got maximum {labels.max()}")


def _not_found(name: str, title: str, split: str, dirs: list[Path], reason: str) -> str:
    files = _SPLIT_FILES[split]
    searched = "\n".join(f"  {d / f}" for d in dirs for f in files)
    return (
        f"{title} ({split} split) not found{reason}. Searched:\n{searched}\n"
        f"Put {files[0]} and {files[1]} (as downloaded, .gz or unpacked) into one of these "
        f"folders, e.g. set DLCOURSE_DATA to a folder that contains {name}/, or call with "
        f"download=True (URL: {_dl.dataset_url(name, '')})."
    )


def _locate(
    name: str,
    title: str,
    split: str,
    root: str | os.PathLike[str] | None,
    download: bool,
    fetch_options: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Paths of the (images, labels) files of ``split``, downloading them if allowed.

    ``fetch_options`` (``timeout``, ``retries``, ``backoff``) are passed to :func:`fetch`.
    """
    img_file, lbl_file = _SPLIT_FILES[split]
    dirs = search_dirs(name, root)
    for folder in dirs:
        img, lbl = _find(folder, img_file), _find(folder, lbl_file)
        if img is not None and lbl is not None:
            return img, lbl
    if not download:
        raise FileNotFoundError(_not_found(name, title, split, dirs, " and download=False"))
    if _dl.offline():
        raise FileNotFoundError(
            _not_found(name, title, split, dirs, " and downloads are off (DLCOURSE_OFFLINE is set)")
        )
    target = _dl.cache_dir(name)
    found = []
    for filename in (img_file, lbl_file):
        path = _find(target, filename)
        if path is None:
            try:
                path = _dl.fetch(
                    _dl.dataset_url(name, filename),
                    target / filename,
                    _dl.SHA256[(name, filename)],
                    **(fetch_options or {}),
                )
            except _dl.DownloadError as err:
                raise _dl.DownloadError(
                    f"{err}\n" + _not_found(name, title, split, dirs, " and the download failed")
                ) from err
        found.append(path)
    return found[0], found[1]


def _load_idx_dataset(
    name: str,
    title: str,
    split: str,
    root: str | os.PathLike[str] | None,
    download: bool,
    normalize: bool,
    flatten: bool,
    fetch_options: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    check_choice("split", split, tuple(_SPLIT_FILES))
    for arg, value in (("download", download), ("normalize", normalize), ("flatten", flatten)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{arg}: expected a bool, got {type(value).__name__} {value!r}")
    img_path, lbl_path = _locate(name, title, split, root, download, fetch_options)
    images, labels = _read(img_path), _read(lbl_path)
    _check_pair(images, labels, img_path, lbl_path)
    N, H, W = images.shape
    X = images.astype(np.float32)
    if normalize:
        X /= np.float32(255.0)
    X = X.reshape(N, H * W) if flatten else X.reshape(N, 1, H, W)
    return X, labels.astype(np.int64)


def load_mnist(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    normalize: bool = True,
    flatten: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits (LeCun et al.): 60,000 train / 10,000 test, 28×28, 10 classes.

    Args:
        split: ``"train"`` or ``"test"``.
        root: a folder to search first (``root/mnist/`` then ``root/``).
        download: fetch missing files into the cache (see the module docstring).
        normalize: scale the pixels (0–255) to [0, 1].
        flatten: return (N, 784) instead of (N, 1, 28, 28).

    Returns:
        ``X`` float32 of shape (N, 1, 28, 28) or (N, 784); ``y`` int64 of shape (N,).

    Raises:
        FileNotFoundError: the files are missing and ``download=False`` or
            ``DLCOURSE_OFFLINE`` is set; the message lists every path searched.
        DownloadError / ChecksumError: the download failed or gave the wrong content.
        IDXFormatError (a ValueError): a file is truncated or not an IDX file.
    """
    return _load_idx_dataset("mnist", "MNIST", split, root, download, normalize, flatten)


def load_fashion_mnist(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    normalize: bool = True,
    flatten: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (Zalando): 60,000 train / 10,000 test 28×28 clothing images, 10 classes.

    Same files, layout and arguments as :func:`load_mnist` (folder name ``fashion-mnist``);
    class names are in :data:`FASHION_MNIST_CLASSES`.

    Returns:
        ``X`` float32 of shape (N, 1, 28, 28) or (N, 784); ``y`` int64 of shape (N,).
    """
    return _load_idx_dataset(
        "fashion-mnist", "Fashion-MNIST", split, root, download, normalize, flatten
    )
