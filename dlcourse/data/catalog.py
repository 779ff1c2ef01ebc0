"""The datasets the course downloads, for ``dlcourse data list | download | verify``.

One :class:`Dataset` per downloadable dataset: what it is, the files fetched (names, official
download sizes) and, through the loaders' own lookup, where it is found. Nothing is duplicated
here: URLs and SHA-256 values are read from :mod:`dlcourse.data.download` (``BASE_URLS``,
``SHA256``) at call time, the search folders and the downloads go through the loaders'
functions (:mod:`dlcourse.data.datasets`, :mod:`dlcourse.data.cifar`,
:mod:`dlcourse.data.airfoil`), so the command and the loaders cannot disagree on where a
dataset lives. Downloads go to the cache (``$DLCOURSE_CACHE``), resumable (HTTP Range, see
:mod:`dlcourse.data.download`), from ``$DLCOURSE_MIRROR`` when set; a dataset already found
(``$DLCOURSE_DATA`` or the cache) is not downloaded again.

What ``verify`` checks: the SHA-256 of each file's content (MNIST, Fashion-MNIST: decompressed
IDX bytes; airfoil: the file) against ``download.SHA256``; the CIFAR-10 batches are checked for
structure only (keys, dtype, shape, labels), because the course's offline copy was rebuilt
from the original images and differs byte-wise from the official batches (the official
archive's own hash is checked when it is downloaded).

The functions ``run_list``, ``run_download`` and ``run_verify`` print a report and return the
command's exit status (:data:`EXIT_OK`, :data:`EXIT_FAILED`).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from dlcourse.data import airfoil as _airfoil
from dlcourse.data import cifar as _cifar
from dlcourse.data import datasets as _idx
from dlcourse.data import download as _dl

__all__ = [
    "DATASETS",
    "EXIT_FAILED",
    "EXIT_OK",
    "DataFile",
    "Dataset",
    "dataset_names",
    "locate",
    "run_download",
    "run_list",
    "run_verify",
]

#: Exit status: everything asked for is present / verified.
EXIT_OK = 0
#: Exit status: a download failed, or a file failed its check (the output names it).
EXIT_FAILED = 1


@dataclass(frozen=True)
class DataFile:
    """One downloaded file: its official name and the size of the official download."""

    filename: str
    size: int  # bytes of the official file; a mirror may compress differently


@dataclass(frozen=True)
class Dataset:
    """A downloadable dataset.

    Attributes:
        name: the command's name; also the key of ``download.BASE_URLS`` / ``SHA256`` and the
            folder of a mirror.
        title, description, source: what it is and where it comes from (licence).
        folder: the folder name the loaders search under ``$DLCOURSE_DATA`` and the cache.
        downloads: the files fetched.
        files: the files that must be present for the loaders (after unpacking).
    """

    name: str
    title: str
    description: str
    source: str
    folder: str
    downloads: tuple[DataFile, ...]
    files: tuple[str, ...]

    @property
    def size(self) -> int:
        """Bytes to download (official files)."""
        return sum(f.size for f in self.downloads)


_IDX_FILES = (*_idx._SPLIT_FILES["train"], *_idx._SPLIT_FILES["test"])


def _idx_downloads(*sizes: int) -> tuple[DataFile, ...]:
    """The four IDX files with their official sizes (train images, labels, test images, labels)."""
    return tuple(DataFile(f, n) for f, n in zip(_IDX_FILES, sizes, strict=True))


_CIFAR_FILES = (*_cifar._SPLIT_FILES["train"], *_cifar._SPLIT_FILES["test"], _cifar._META)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "mnist", "MNIST",
            "handwritten digits, 60,000 train / 10,000 test 28x28 greyscale images, 10 classes",
            "LeCun, Cortes and Burges (IDX files; commonly CC BY-SA 3.0)",
            "mnist",
            _idx_downloads(9912422, 28881, 1648877, 4542),
            _IDX_FILES,
        ),
        Dataset(
            "fashion-mnist", "Fashion-MNIST",
            "clothing, 60,000 train / 10,000 test 28x28 greyscale images, 10 classes",
            "Zalando Research (IDX files, MIT licence)",
            "fashion-mnist",
            _idx_downloads(26421880, 29515, 4422102, 5148),
            _IDX_FILES,
        ),
        Dataset(
            "cifar-10", "CIFAR-10",
            "colour photos, 50,000 train / 10,000 test 32x32 RGB images, 10 classes",
            "Krizhevsky 2009 (python version; unpacked into the cache, archive deleted)",
            _cifar.FOLDER,
            (DataFile(_cifar.ARCHIVE, 170498071),),
            _CIFAR_FILES,
        ),
        Dataset(
            "airfoil", "Airfoil self-noise",
            "NASA wind-tunnel measurements, 1,503 rows of 5 features and a target (regression)",
            "Brooks, Pope and Marcolini 1989, UCI ML repository (CC BY 4.0)",
            "airfoil",
            (DataFile(_airfoil.FILENAME, 59984),),
            (_airfoil.FILENAME,),
        ),
    )
}  # fmt: skip


def dataset_names() -> tuple[str, ...]:
    """The names accepted by ``dlcourse data download``."""
    return tuple(DATASETS)


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"name: expected one of {list(DATASETS)}, got {name!r}")
    return DATASETS[name]


def search_dirs(name: str) -> list[Path]:
    """The folders the loaders search for dataset ``name``, in order (no ``root``)."""
    ds = _get(name)
    if name == "airfoil":
        return _airfoil._search_dirs(None)
    return _idx.search_dirs(ds.folder)


def _find(folder: Path, filename: str) -> Path | None:
    return _idx._find(folder, filename)  # the IDX loaders also accept unpacked files


def locate(name: str) -> dict[str, Path]:
    """Where each file of dataset ``name`` is found: ``{filename: path}`` (missing: absent).

    A file is taken from the first folder that holds it, as the loaders do.
    """
    ds = _get(name)
    found: dict[str, Path] = {}
    for folder in search_dirs(name):
        for f in ds.files:
            if f not in found and (path := _find(folder, f)) is not None:
                found[f] = path
    return found


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _where(path: Path) -> str:
    """``path`` and which setting made it a search folder."""
    data = os.environ.get("DLCOURSE_DATA")
    cache = _dl.cache_dir("x").parent
    if data and path.is_relative_to(Path(data).expanduser()):
        return f"{path} ($DLCOURSE_DATA)"
    if path.is_relative_to(cache):
        return f"{path} (cache)"
    return str(path)


# ---- the commands ----------------------------------------------------------------------------


def run_list(out: TextIO) -> int:
    """Print each dataset: what it is, its download size, where it is found or searched."""
    for ds in DATASETS.values():
        found = locate(ds.name)
        print(f"{ds.name}: {ds.title}, {ds.description}", file=out)
        print(f"  source: {ds.source}", file=out)
        url = _dl.dataset_url(ds.name, "")
        print(f"  download: {_human(ds.size)} in {len(ds.downloads)} file(s) from {url}", file=out)
        if len(found) == len(ds.files):
            folders = sorted({_where(p.parent) for p in found.values()})
            print(f"  status: present in {', '.join(folders)}", file=out)
        else:
            missing = [f for f in ds.files if f not in found]
            state = "partial" if found else "missing"
            print(f"  status: {state} ({len(missing)} of {len(ds.files)} files missing); "
                  f"searched: {', '.join(map(str, search_dirs(ds.name)))}", file=out)
            print(f"  get it: dlcourse data download {ds.name}", file=out)
    print("digits: the 8x8 digits (1,797 images) ship with scikit-learn; nothing to download.",
          file=out)
    return EXIT_OK


def _fetch_idx(ds: Dataset, options: dict[str, Any]) -> None:
    for split in _idx._SPLIT_FILES:
        _idx._locate(ds.name, ds.title, split, None, True, options)


def _fetch_cifar(ds: Dataset, options: dict[str, Any]) -> None:
    _cifar._download(ds.files, search_dirs(ds.name), options)


def _fetch_file(ds: Dataset, options: dict[str, Any]) -> None:
    for f in ds.downloads:
        _dl.fetch(
            _dl.dataset_url(ds.name, f.filename),
            _dl.cache_dir(ds.folder) / f.filename,
            _dl.SHA256[(ds.name, f.filename)],
            **options,
        )


_FETCHERS: dict[str, Callable[[Dataset, dict[str, Any]], None]] = {
    "mnist": _fetch_idx, "fashion-mnist": _fetch_idx, "cifar-10": _fetch_cifar,
    "airfoil": _fetch_file,
}  # fmt: skip


def run_download(
    names: list[str], out: TextIO, err: TextIO, *, timeout: float = 30.0, retries: int = 3
) -> int:
    """Download the datasets ``names`` (``["all"]``: every one) that are not present yet.

    Each file goes through :func:`dlcourse.data.download.fetch` with ``resume=True`` (progress
    bar on ``out``, SHA-256 checked). A failure is reported on ``err`` and the other datasets
    are still tried.

    Returns:
        :data:`EXIT_OK` if every dataset is present afterwards, else :data:`EXIT_FAILED`.
    """
    wanted = list(DATASETS) if "all" in names else [_get(n).name for n in names]
    failed = []
    for name in dict.fromkeys(wanted):
        ds = DATASETS[name]
        found = locate(name)
        if len(found) == len(ds.files):
            folders = sorted({_where(p.parent) for p in found.values()})
            print(f"{name}: already present in {', '.join(folders)}", file=out)
            continue
        if _dl.offline():
            print(f"{name}: not downloaded: downloads are off (DLCOURSE_OFFLINE is set); "
                  "unset it to download", file=err)
            failed.append(name)
            continue
        print(f"{name}: downloading {_human(ds.size)} from {_dl.dataset_url(name, '')} "
              f"into {_dl.cache_dir(ds.folder)}", file=out, flush=True)
        try:
            _FETCHERS[name](ds, {"timeout": timeout, "retries": retries, "resume": True})
        except (OSError, ValueError) as error:  # DownloadError, ChecksumError, CIFARFormatError
            print(f"{name}: FAILED: {error}", file=err)
            failed.append(name)
            continue
        print(f"{name}: done, SHA-256 verified", file=out)
    if failed:
        print(f"failed: {', '.join(failed)} (see above; run the same command again to retry: "
              "an interrupted download resumes where it stopped)", file=err)
        return EXIT_FAILED
    return EXIT_OK


def _check_cifar(path: Path) -> str | None:
    """None if ``path`` is a well-formed CIFAR-10 batch (or meta file), else the problem."""
    try:
        if path.name == _cifar._META:
            meta = _cifar.load_restricted(path)
            try:
                names = _cifar._get(meta, "label_names") if isinstance(meta, dict) else None
            except KeyError:
                names = None
            if not isinstance(names, list) or len(names) != 10:
                return f"{path}: expected b'label_names', a list of 10 names"
        else:
            _cifar.read_cifar_batch(path)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError) as error:
        return str(error)
    return None


def run_verify(out: TextIO, err: TextIO) -> int:
    """Check every file present (the one the loaders would read) and report each.

    Returns:
        :data:`EXIT_OK` if every present file passes, else :data:`EXIT_FAILED`; missing
        datasets are listed but are not failures.
    """
    bad = 0
    for ds in DATASETS.values():
        found = locate(ds.name)
        if not found:
            print(f"{ds.name}: not present (nothing to verify)", file=out)
            continue
        for f in ds.files:
            path = found.get(f)
            if path is None:
                print(f"{ds.name}: {f}: missing", file=out)
                continue
            if ds.name == "cifar-10":
                problem = _check_cifar(path)
                if problem is None:
                    print(f"{ds.name}: {path}: OK (structure)", file=out)
                    continue
                message = f"{problem}"
            else:
                expected = _dl.SHA256[(ds.name, f)]
                try:
                    actual = _dl.content_sha256(path, decompress=path.name.endswith(".gz"))
                except (_dl.ChecksumError, OSError) as error:
                    actual, message = None, str(error)
                if actual == expected:
                    print(f"{ds.name}: {path}: OK (sha256 {actual[:12]}...)", file=out)
                    continue
                if actual is not None:
                    message = f"{path}: SHA-256 mismatch: expected {expected}, got {actual}"
            bad += 1
            print(f"{ds.name}: BAD: {message}. Delete {path} and run: "
                  f"dlcourse data download {ds.name}", file=err)
    if bad:
        print(f"{bad} file(s) failed verification", file=err)
        return EXIT_FAILED
    print("every file present is intact", file=out)
    return EXIT_OK
