"""A corrupt or truncated file already on disk (download cache or ``DLCOURSE_DATA``).

Bad gzip CRC, damaged compressed data, a short IDX file, a wrong magic number, a wrong array
size: each is detected when the dataset is loaded, as an ``IDXFormatError`` (a ValueError)
whose message names the file and says what to do. The cache is never trusted blindly and a
corrupt cached file is not silently replaced by a download. The files are built by hand
here with ``struct`` and ``gzip`` (not with the package's own writer).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data import download as dl
from dlcourse.data import load_mnist
from dlcourse.data.idx import IDXFormatError, read_idx

IMAGES, LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
N = 5


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty private cache, no data folder, and a mirror that must never be used."""
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.delenv("DLCOURSE_OFFLINE", raising=False)
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "no-mirror").as_uri())
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "fetch", _no_fetch)
    return tmp_path / "cache" / "mnist"


def _no_fetch(*args: object, **kwargs: object) -> None:
    pytest.fail("a file exists in the cache: it must be checked, not downloaded again")


def _images_raw(n: int = N) -> bytes:
    pixels = np.arange(n * 28 * 28, dtype=np.int64).astype(np.uint8).tobytes()
    return struct.pack(">IIII", 0x00000803, n, 28, 28) + pixels


def _labels_raw(n: int = N) -> bytes:
    return struct.pack(">II", 0x00000801, n) + bytes(i % 10 for i in range(n))


def _put(folder: Path, images: bytes, labels: bytes) -> tuple[Path, Path]:
    """Write the train split as (already compressed or raw) file contents."""
    folder.mkdir(parents=True, exist_ok=True)
    img, lbl = folder / IMAGES, folder / LABELS
    img.write_bytes(images)
    lbl.write_bytes(labels)
    return img, lbl


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


def _bad_crc(raw: bytes) -> bytes:
    data = bytearray(_gz(raw))
    data[-8] ^= 0xFF  # the CRC-32 of the gzip trailer
    return bytes(data)


def _bad_length(raw: bytes) -> bytes:
    data = bytearray(_gz(raw))
    data[-1] ^= 0x01  # ISIZE, the length of the trailer
    return bytes(data)


def _damaged_deflate(raw: bytes) -> bytes:
    data = bytearray(_gz(raw))
    for i in range(12, 40):
        data[i] ^= 0x5A  # garbage inside the compressed stream
    return bytes(data)


def _cut_gz(raw: bytes) -> bytes:
    return _gz(raw)[:-30]  # the download stopped before the end of the stream


CASES: dict[str, tuple[Callable[[], tuple[bytes, bytes]], int, str]] = {
    # name: (contents of (images, labels) files, index of the bad file, expected words)
    "bad-crc": (lambda: (_bad_crc(_images_raw()), _gz(_labels_raw())), 0, r"gzip"),
    "bad-gzip-length": (lambda: (_gz(_images_raw()), _bad_length(_labels_raw())), 1, r"gzip"),
    "damaged-deflate": (lambda: (_damaged_deflate(_images_raw()), _gz(_labels_raw())), 0, "gzip"),
    "cut-gzip": (lambda: (_cut_gz(_images_raw()), _gz(_labels_raw())), 0, r"gzip"),
    "not-gzip": (lambda: (_images_raw(), _gz(_labels_raw())), 0, r"gzip"),
    "empty-file": (lambda: (b"", _gz(_labels_raw())), 0, r"gzip|0 bytes"),
    "short-idx": (lambda: (_gz(_images_raw()[:-100]), _gz(_labels_raw())), 0, r"truncated"),
    "short-header": (lambda: (_gz(_images_raw()[:10]), _gz(_labels_raw())), 0, r"truncated"),
    "trailing-bytes": (lambda: (_gz(_images_raw() + b"\0" * 7), _gz(_labels_raw())), 0, "trail"),
    "wrong-magic": (
        lambda: (_gz(b"\x1f\x8b\x08\x00" + _images_raw()[4:]), _gz(_labels_raw())),
        0,
        r"magic number 0x1F8B0800",
    ),
    "labels-magic-in-images": (lambda: (_gz(_labels_raw()), _gz(_labels_raw())), 0, r"0x00000803"),
    "images-magic-in-labels": (lambda: (_gz(_images_raw()), _gz(_images_raw())), 1, r"0x00000801"),
    "int32-images": (
        lambda: (_gz(struct.pack(">IIII", 0x00000C03, N, 28, 28) + bytes(4 * N * 784)),
                 _gz(_labels_raw())),
        0,
        r"uint8",
    ),  # fmt: skip
    "fewer-labels": (lambda: (_gz(_images_raw()), _gz(_labels_raw(N - 1))), 1, rf"{N} labels"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupt_file_in_cache_is_detected_and_named(cache: Path, case: str) -> None:
    make, bad, words = CASES[case]
    paths = _put(cache, *make())
    with pytest.raises(IDXFormatError, match=words) as info:
        load_mnist("train", download=True)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(paths[bad]) in message, message  # the full path of the bad file
    assert paths[bad].exists()  # reported, not silently deleted or replaced


@pytest.mark.parametrize("case", ["bad-crc", "cut-gzip", "short-idx", "wrong-magic"])
def test_message_says_what_to_do(cache: Path, case: str) -> None:
    make, _, _ = CASES[case]
    _put(cache, *make())
    with pytest.raises(IDXFormatError, match=r"delete .* download it again"):
        load_mnist("train", download=True)


@pytest.mark.parametrize("case", ["bad-crc", "short-idx", "wrong-magic", "fewer-labels"])
def test_corrupt_file_in_data_folder_is_detected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    make, bad, words = CASES[case]
    paths = _put(tmp_path / "data" / "mnist", *make())
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    with pytest.raises(IDXFormatError, match=words) as info:
        load_mnist("train", download=False)
    assert str(paths[bad]) in str(info.value)


def test_unpacked_short_file_is_detected(cache: Path) -> None:
    cache.mkdir(parents=True)
    img = cache / IMAGES.removesuffix(".gz")
    img.write_bytes(_images_raw()[:-1])  # one byte short
    (cache / LABELS).write_bytes(_gz(_labels_raw()))
    with pytest.raises(IDXFormatError, match=r"truncated") as info:
        load_mnist("train")
    assert str(img) in str(info.value)
    assert f"{N * 784} bytes of data, the file has {N * 784 - 1}" in str(info.value)


def test_file_corrupted_after_a_good_load_is_detected(cache: Path) -> None:
    """The in-memory parse cache must not hide a file that changed on disk."""
    img, _ = _put(cache, _gz(_images_raw()), _gz(_labels_raw()))
    X, y = load_mnist("train", normalize=False, flatten=True)
    assert X.shape == (N, 784) and y.tolist() == [i % 10 for i in range(N)]
    np.testing.assert_array_equal(X[0, :3], [0, 1, 2])
    good_stat = img.stat()
    img.write_bytes(_bad_crc(_images_raw()))
    os.utime(img, ns=(good_stat.st_atime_ns, good_stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(IDXFormatError, match="gzip") as info:
        load_mnist("train")
    assert str(img) in str(info.value)


def test_huge_header_is_reported_as_truncated_with_the_right_size(tmp_path: Path) -> None:
    """A header announcing more than 2**63 bytes must not overflow into a wrong message."""
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(struct.pack(">IIII", 0x00000803, 2**32 - 1, 2**32 - 1, 2) + bytes(64))
    expected = (2**32 - 1) ** 2 * 2  # bytes announced; computed with Python integers
    assert expected > 2**63
    with pytest.raises(IDXFormatError, match=r"truncated") as info:
        read_idx(path)
    assert f"= {expected} bytes of data, the file has 64" in str(info.value)
    assert str(path) in str(info.value)


def test_bad_crc_really_is_a_crc_error() -> None:
    """Guard of the fixture above: the standard library itself rejects these bytes."""
    with pytest.raises((OSError, EOFError, zlib.error), match=r"CRC"):
        gzip.decompress(_bad_crc(_images_raw()))
