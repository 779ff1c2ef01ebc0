"""One call for pages that must run anywhere: the real dataset, or the 8×8 digits with a note.

A book page or experiment that needs MNIST calls ``data = load_dataset("mnist")`` and gets an
:class:`ImageDataset` holding the train and test arrays **and the name of the dataset they
come from**:

- if both splits of MNIST (or Fashion-MNIST) can be found or downloaded (the lookup order of
  :mod:`dlcourse.data.datasets`: ``root``, ``$DLCOURSE_DATA``, the cache, a download), that
  dataset, silently;
- otherwise scikit-learn's embedded 8×8 digits (:func:`~dlcourse.data.load_digits`, always
  available offline), and a note is printed to **stdout** (never stderr: the book build fails
  on any stderr output of a cell) saying which dataset is used, why, and how to get the real
  one: put the files under ``$DLCOURSE_DATA/<name>/``, allow the download, or point
  ``DLCOURSE_MIRROR`` at a copy.

Both splits always come from the same dataset: if one split of MNIST is missing, both come from
the digits. Pages label every number with ``data.title`` (``"MNIST"`` or ``"8×8 digits"``) and
compare with results recorded on the real dataset only when ``not data.is_fallback``.

Failing fast: the download attempted here uses a short per-attempt timeout and one retry (see
``FETCH_OPTIONS``); a machine without network fails on the first attempt (the host name does not
resolve, see :mod:`dlcourse.data.download`), and ``DLCOURSE_OFFLINE=1`` skips downloads
altogether. A corrupt local file (:class:`~dlcourse.data.idx.IDXFormatError`) is not hidden by
the fallback: it raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dlcourse._validate import check_choice
from dlcourse.data import download as _dl
from dlcourse.data.datasets import _load_idx_dataset, load_digits

__all__ = ["ImageDataset", "load_dataset", "DATASET_TITLES", "FETCH_OPTIONS"]

#: Display name of every dataset :func:`load_dataset` can return.
DATASET_TITLES: dict[str, str] = {
    "mnist": "MNIST",
    "fashion-mnist": "Fashion-MNIST",
    "digits": "8×8 digits",
}

#: Download policy of :func:`load_dataset`: seconds per attempt, extra attempts, back-off.
FETCH_OPTIONS: dict[str, Any] = {"timeout": 10.0, "retries": 1, "backoff": 0.5}

_FALLBACKS = ("digits",)


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Train and test arrays of one image-classification dataset, and which dataset it is.

    Attributes:
        name: the dataset the arrays come from: ``"mnist"``, ``"fashion-mnist"`` or
            ``"digits"``.
        requested: the dataset asked for; differs from ``name`` when the fallback was used.
        X_train: float32 images, (N, 1, H, W), or (N, H*W) if loaded with ``flatten=True``.
        y_train: int64 labels 0–9, (N,).
        X_test: float32 images, (M, 1, H, W) or (M, H*W).
        y_test: int64 labels 0–9, (M,).
        note: the note printed when the fallback was used ("" otherwise).
    """

    name: str
    requested: str
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    note: str = field(default="", repr=False)

    @property
    def title(self) -> str:
        """Display name of the dataset the arrays come from, e.g. ``"MNIST"``."""
        return DATASET_TITLES[self.name]

    @property
    def is_fallback(self) -> bool:
        """True when the requested dataset could not be loaded and another one was."""
        return self.name != self.requested

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(H, W)`` of one image: (28, 28) for MNIST, (8, 8) for the digits."""
        side = 8 if self.name == "digits" else 28
        return side, side

    @property
    def num_features(self) -> int:
        """Number of pixels of one image, H*W (the input size of an MLP)."""
        H, W = self.image_shape
        return H * W

    def __repr__(self) -> str:
        fallback = f", fallback for {self.requested!r}" if self.is_fallback else ""
        return (
            f"ImageDataset({self.title}: train {self.X_train.shape}, "
            f"test {self.X_test.shape}{fallback})"
        )


def _fallback_note(requested: str, fallback: str, reason: str, sizes: tuple[int, int]) -> str:
    """The note printed when ``fallback`` replaces ``requested`` (plain text, several lines)."""
    want, got = DATASET_TITLES[requested], DATASET_TITLES[fallback]
    return (
        f"Note: {want} is not available here ({reason}).\n"
        f"Using scikit-learn's {got} instead ({sizes[0]:,} training / {sizes[1]:,} test "
        f"images): every result computed from these arrays is for {got}, not {want}.\n"
        f"To use {want}: put its four IDX files (train-images-idx3-ubyte.gz, "
        f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in "
        f"$DLCOURSE_DATA/{requested}/ or {_dl.cache_dir(requested)}/, or allow the download "
        f"(network access, DLCOURSE_OFFLINE unset; source {_dl.dataset_url(requested, '')}), "
        f"or set DLCOURSE_MIRROR to a copy laid out as <mirror>/{requested}/<file> "
        f"(https:// or file://)."
    )


def load_dataset(
    name: str = "mnist",
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    flatten: bool = False,
    fallback: str | None = "digits",
) -> ImageDataset:
    """Both splits of ``name``, or of the ``fallback`` dataset (with a note) if unavailable.

    Args:
        name: ``"mnist"``, ``"fashion-mnist"`` or ``"digits"`` (always available; no note).
        root: a folder to search first (as in :func:`~dlcourse.data.load_mnist`).
        download: try to download missing files (also off when ``DLCOURSE_OFFLINE`` is set).
        flatten: images as (N, H*W) rows instead of (N, 1, H, W), for both datasets.
        fallback: ``"digits"`` (scikit-learn's 8×8 digits, fixed split of
            :func:`~dlcourse.data.load_digits`: 1,438 train / 359 test) or None to raise the
            loader's error instead.

    Returns:
        An :class:`ImageDataset`; ``.name`` says which dataset the arrays come from, and
        ``.is_fallback`` whether it is not the one requested. Pixels are float32 in [0, 1].

    Raises:
        ValueError / TypeError: an argument is invalid (the message names it).
        FileNotFoundError / DownloadError / ChecksumError: only with ``fallback=None``.
        IDXFormatError: a local file is corrupt (never hidden by the fallback).

    Example:
        >>> data = load_dataset("digits", flatten=True)
        >>> data.title, data.X_train.shape, data.is_fallback
        ('8×8 digits', (1438, 64), False)
    """
    check_choice("name", name, tuple(DATASET_TITLES))
    if fallback is not None:
        check_choice("fallback", fallback, _FALLBACKS)
    for arg, value in (("download", download), ("flatten", flatten)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{arg}: expected a bool, got {type(value).__name__} {value!r}")
    if name == "digits":
        return _digits(name, flatten)
    try:
        splits = [
            _load_idx_dataset(
                name, DATASET_TITLES[name], split, root, bool(download), True, bool(flatten),
                FETCH_OPTIONS,
            )
            for split in ("train", "test")
        ]  # stops at the first split that fails: no second slow attempt
    except (FileNotFoundError, _dl.DownloadError, _dl.ChecksumError) as err:
        if fallback is None:
            raise
        reason = str(err).splitlines()[0].removesuffix("Searched:").strip().rstrip(".")
        data = _digits(name, flatten)
        note = _fallback_note(name, fallback, reason, (len(data.y_train), len(data.y_test)))
        print(note, flush=True)  # stdout: visible in the page, and not an error for the build
        return replace(data, note=note)
    (X_train, y_train), (X_test, y_test) = splits
    return ImageDataset(name, name, X_train, y_train, X_test, y_test)


def _digits(requested: str, flatten: bool) -> ImageDataset:
    """The 8×8 digits' fixed train/test split, recorded as loaded for ``requested``."""
    X_train, y_train = load_digits("train", flatten=bool(flatten))
    X_test, y_test = load_digits("test", flatten=bool(flatten))
    return ImageDataset("digits", requested, X_train, y_train, X_test, y_test)
