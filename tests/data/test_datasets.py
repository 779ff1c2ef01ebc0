"""Tests of dlcourse/data/datasets.py, idx.py and download.py. No network access.

Small files in the official IDX format are written into ``tmp_path`` with ``struct`` (an
encoder independent of the package's), then read back through every lookup route. The test
on the real MNIST / Fashion-MNIST runs only when ``DLCOURSE_DATA`` points at them.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import socket
import struct
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from dlcourse.data import download as dl
from dlcourse.data import load_digits, load_fashion_mnist, load_mnist
from dlcourse.data.idx import IDXFormatError, idx_bytes, read_idx, write_idx

REAL_DATA = os.environ.get("DLCOURSE_DATA")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real data, no mirror, downloads allowed, and an empty private cache for every test."""
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.delenv("DLCOURSE_MIRROR", raising=False)
    monkeypatch.delenv("DLCOURSE_OFFLINE", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_CACHE", str(cache))
    return cache


def _images_bytes(images: np.ndarray) -> bytes:
    n, h, w = images.shape
    return struct.pack(">IIII", 0x00000803, n, h, w) + images.astype(np.uint8).tobytes()


def _labels_bytes(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x00000801, labels.shape[0]) + labels.astype(np.uint8).tobytes()


def _write_split(
    folder: Path, split: str = "train", n: int = 12, seed: int = 0, gz: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Write a tiny split in the official format; return (images uint8, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    img_name, lbl_name = FILES[split]
    for name, raw in ((img_name, _images_bytes(images)), (lbl_name, _labels_bytes(labels))):
        if gz:
            (folder / name).write_bytes(gzip.compress(raw))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(raw)
    return images, labels


# ---- reading through the lookup routes ---------------------------------------------------------


def test_root_argument_reads_official_format(tmp_path: Path) -> None:
    images, labels = _write_split(tmp_path / "mnist", "train", n=12, seed=1)
    X, y = load_mnist("train", root=tmp_path, download=False)
    assert X.shape == (12, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (12,) and y.dtype == np.int64
    np.testing.assert_array_equal(X[:, 0], images.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, labels)
    assert X.min() >= 0.0 and X.max() <= 1.0


def test_flatten_and_normalize_options(tmp_path: Path) -> None:
    images, _ = _write_split(tmp_path, "test", n=5, seed=2)
    X, _ = load_mnist("test", root=tmp_path, download=False, flatten=True, normalize=False)
    assert X.shape == (5, 784) and X.dtype == np.float32
    np.testing.assert_array_equal(X, images.reshape(5, 784).astype(np.float32))


def test_dlcourse_data_env_and_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, y_env = _write_split(tmp_path / "env" / "mnist", n=7, seed=3)
    _, y_cache = _write_split(tmp_path / "cache" / "mnist", n=9, seed=4)
    _, y_root = _write_split(tmp_path / "root" / "mnist", n=5, seed=5)
    assert load_mnist(download=False)[1].tolist() == y_cache.tolist()  # only the cache
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    assert load_mnist(download=False)[1].tolist() == y_env.tolist()  # env before cache
    assert load_mnist(root=tmp_path / "root", download=False)[1].tolist() == y_root.tolist()


def test_unpacked_files_and_fashion_folder(tmp_path: Path) -> None:
    images, labels = _write_split(tmp_path / "fashion-mnist", "test", n=4, seed=6, gz=False)
    X, y = load_fashion_mnist("test", root=tmp_path, download=False)
    np.testing.assert_array_equal(X[:, 0] * np.float32(255), images.astype(np.float32))
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(FileNotFoundError):
        load_mnist("test", root=tmp_path / "nowhere", download=False)


def test_repeated_loads_return_fresh_arrays(tmp_path: Path) -> None:
    _write_split(tmp_path, n=6, seed=7)
    X1, y1 = load_mnist(root=tmp_path, download=False)
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = load_mnist(root=tmp_path, download=False)
    assert X2.min() >= 0.0 and y2.min() >= 0


def test_missing_files_message_lists_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist("test", root=tmp_path / "r", download=False)
    msg = str(info.value)
    for folder in (tmp_path / "r" / "mnist", tmp_path / "r", tmp_path / "env" / "mnist",
                   tmp_path / "cache" / "mnist"):
        assert str(folder / "t10k-images-idx3-ubyte.gz") in msg
        assert str(folder / "t10k-labels-idx1-ubyte.gz") in msg
    assert "DLCOURSE_DATA" in msg and "download=True" in msg


def test_argument_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'test'\]"):
        load_mnist("validation", root=tmp_path, download=False)
    with pytest.raises(TypeError, match=r"download: expected a bool"):
        load_mnist("train", root=tmp_path, download="no")


# ---- corrupt files ------------------------------------------------------------------------------


def _corrupt(tmp_path: Path, which: int, data: bytes) -> None:
    _write_split(tmp_path, n=4, seed=8)
    (tmp_path / FILES["train"][which]).write_bytes(data)


@pytest.mark.parametrize(
    ("which", "payload", "pattern"),
    [
        (0, b"not gzip at all", r"corrupt or truncated gzip"),
        (0, gzip.compress(b"\x12\x34\x56\x78" + bytes(100)), r"not an IDX file: magic number"),
        (0, gzip.compress(struct.pack(">IIII", 0x803, 4, 28, 28) + bytes(100)), r"truncated"),
        (0, gzip.compress(struct.pack(">IIII", 0x803, 1, 2, 2) + bytes(5)), r"trailing bytes"),
        (0, gzip.compress(struct.pack(">II", 0x801, 4) + bytes(4)), r"expected uint8 images"),
        (1, gzip.compress(struct.pack(">II", 0x801, 3) + bytes(3)), r"expected 4 labels"),
        (1, gzip.compress(struct.pack(">II", 0x801, 4) + bytes([0, 1, 2, 10])), r"labels 0-9"),
        (1, gzip.compress(b"\x00\x00\x08"), r"shorter than the 4-byte magic"),
        (1, gzip.compress(struct.pack(">I", 0x803) + bytes(6)), r"truncated IDX header"),
    ],
)
def test_corrupt_files_raise_clear_errors(
    tmp_path: Path, which: int, payload: bytes, pattern: str
) -> None:
    _corrupt(tmp_path, which, payload)
    with pytest.raises(IDXFormatError, match=pattern) as info:
        load_mnist(root=tmp_path, download=False)
    assert str(tmp_path / FILES["train"][which]) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    _write_split(tmp_path, n=4, seed=9)
    path = tmp_path / FILES["train"][0]
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(IDXFormatError, match=r"corrupt or truncated gzip"):
        load_mnist(root=tmp_path, download=False)


def test_idx_writer_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    assert idx_bytes(images) == _images_bytes(images)
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        arr = rng.normal(size=(2, 3, 4)).astype(dtype)
        np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a.gz", arr)), arr)
        np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", arr)), arr)


# ---- downloading (file:// mirror, no network) ----------------------------------------------------


def _mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _write_split(tmp_path / "mirror" / "mnist", "test", n=6, seed=10)
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "mirror").as_uri())
    return images, labels


def test_download_from_mirror_with_checksums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    images, labels = _mirror(tmp_path, monkeypatch)
    raws = (_images_bytes(images), _labels_bytes(labels))
    for name, raw in zip(FILES["test"], raws, strict=True):
        monkeypatch.setitem(dl.SHA256, ("mnist", name), hashlib.sha256(raw).hexdigest())
    X, y = load_mnist("test", download=True)
    np.testing.assert_array_equal(X[:, 0] * np.float32(255), images.astype(np.float32))
    np.testing.assert_array_equal(y, labels)
    cached = sorted(p.name for p in (_isolated_env / "mnist").iterdir())
    assert cached == sorted(FILES["test"])  # final names only, no temporary files
    assert load_mnist("test", download=False)[1].tolist() == labels.tolist()


def test_checksum_mismatch_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    _mirror(tmp_path, monkeypatch)  # the real SHA-256 table does not match these files
    with pytest.raises(dl.ChecksumError, match=r"SHA-256 of the content is [0-9a-f]{64}, expected"):
        load_mnist("test", download=True)
    assert list((_isolated_env / "mnist").iterdir()) == []


def test_download_failure_names_url_and_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "empty").as_uri())
    with pytest.raises(dl.DownloadError, match=r"could not download file://") as info:
        load_fashion_mnist("train", download=True)
    assert "fashion-mnist/train-images-idx3-ubyte.gz" in str(info.value)
    assert "Searched:" in str(info.value)


def test_fetch_retries_then_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload" * 100)
    real = dl._download_to
    calls = []

    def flaky(url: str, out: object, timeout: float, desc: str, progress: bool) -> None:
        calls.append(url)
        if len(calls) < 3:
            out.write(b"partial")  # type: ignore[attr-defined]
            raise TimeoutError("simulated timeout")
        real(url, out, timeout, desc, progress)

    monkeypatch.setattr(dl, "_download_to", flaky)
    dest = tmp_path / "out" / "file.bin"
    sha = hashlib.sha256(b"payload" * 100).hexdigest()
    assert dl.fetch(src.as_uri(), dest, sha, retries=2, backoff=0.0, progress=False) == dest
    assert dest.read_bytes() == b"payload" * 100
    assert len(calls) == 3
    assert [p.name for p in dest.parent.iterdir()] == ["file.bin"]
    calls.clear()
    with pytest.raises(dl.DownloadError, match=r"after 2 attempt\(s\): simulated timeout"):
        dl.fetch(src.as_uri(), tmp_path / "out2" / "f.bin", sha, retries=1, backoff=0.0)
    assert list((tmp_path / "out2").iterdir()) == []


@pytest.mark.parametrize(
    "reason",
    [
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        OSError(errno.ENETUNREACH, "Network is unreachable"),
        FileNotFoundError(errno.ENOENT, "No such file"),
    ],
    ids=["dns", "unreachable", "missing-file"],
)
def test_fetch_does_not_retry_what_cannot_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reason: OSError
) -> None:
    calls = []

    def no_network(url: str, out: object, timeout: float, desc: str, progress: bool) -> None:
        calls.append(url)
        raise urllib.error.URLError(reason)

    monkeypatch.setattr(dl, "_download_to", no_network)
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError, match=r"after 1 attempt\(s\)"):
        dl.fetch("https://example.org/f.gz", tmp_path / "f.gz", None, retries=3, backoff=5.0)
    assert len(calls) == 1  # a retry would have slept 5 s first
    assert time.perf_counter() - start < 2.0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_offline_switch_stops_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path, value: str
) -> None:
    _mirror(tmp_path, monkeypatch)  # a working mirror that must not be used
    monkeypatch.setattr(dl, "fetch", lambda *a, **k: pytest.fail("fetch called while offline"))
    monkeypatch.setenv("DLCOURSE_OFFLINE", value)
    assert dl.offline()
    with pytest.raises(FileNotFoundError, match="DLCOURSE_OFFLINE is set"):
        load_mnist("test", download=True)
    assert not (_isolated_env / "mnist").exists()
    _write_split(_isolated_env / "mnist", "test", n=3, seed=11)  # local files still load
    assert load_mnist("test")[0].shape == (3, 1, 28, 28)


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_offline_switch_off_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DLCOURSE_OFFLINE", value)
    assert not dl.offline()


def test_urls_and_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DLCOURSE_CACHE")
    assert dl.cache_dir("mnist") == Path.home() / ".cache" / "dlcourse" / "mnist"
    assert dl.dataset_url("mnist", "a.gz") == "https://ossci-datasets.s3.amazonaws.com/mnist/a.gz"
    assert dl.dataset_url("fashion-mnist", "b.gz") == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/b.gz"
    )
    monkeypatch.setenv("DLCOURSE_MIRROR", "https://example.org/data/")
    assert dl.dataset_url("mnist", "a.gz") == "https://example.org/data/mnist/a.gz"


# ---- the real data (only when DLCOURSE_DATA provides it) ----------------------------------------

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _real(name: str) -> Path:
    folder = Path(REAL_DATA or "/nonexistent") / name
    if not REAL_DATA or not all((folder / f).is_file() for s in FILES.values() for f in s):
        pytest.skip(f"DLCOURSE_DATA does not provide {name}/")
    return folder


def test_real_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    _real("mnist")
    monkeypatch.setenv("DLCOURSE_DATA", str(REAL_DATA))
    X, y = load_mnist("train", download=False)
    assert X.shape == (60000, 1, 28, 28) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == MNIST_TRAIN_COUNTS
    Xt, yt = load_mnist("test", download=False, flatten=True)
    assert Xt.shape == (10000, 784)
    assert np.bincount(yt).tolist() == MNIST_TEST_COUNTS


def test_real_fashion_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    _real("fashion-mnist")
    monkeypatch.setenv("DLCOURSE_DATA", str(REAL_DATA))
    _, y = load_fashion_mnist("train", download=False)
    _, yt = load_fashion_mnist("test", download=False)
    assert np.bincount(y).tolist() == [6000] * 10
    assert np.bincount(yt).tolist() == [1000] * 10


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_files_match_checksum_table(name: str) -> None:
    folder = _real(name)
    for split in FILES.values():
        for f in split:
            content = gzip.decompress((folder / f).read_bytes())
            assert hashlib.sha256(content).hexdigest() == dl.SHA256[(name, f)]


def test_real_download_through_file_mirror(
    monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    _real("mnist")
    monkeypatch.setenv("DLCOURSE_MIRROR", Path(str(REAL_DATA)).resolve().as_uri())
    _, y = load_mnist("test", download=True)
    assert np.bincount(y).tolist() == MNIST_TEST_COUNTS
    assert sorted(p.name for p in (_isolated_env / "mnist").iterdir()) == sorted(FILES["test"])


# ---- digits (scikit-learn, offline) ------------------------------------------------------------


def test_digits_split_is_fixed_stratified_and_complete() -> None:
    sk = sk_load_digits()
    Xtr, ytr = load_digits("train")
    Xte, yte = load_digits("test")
    assert Xtr.shape == (1438, 64) and Xte.shape == (359, 64)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert 0.0 <= Xtr.min() and Xtr.max() <= 1.0
    expected_test = np.round(0.2 * np.bincount(sk.target)).astype(int)
    np.testing.assert_array_equal(np.bincount(yte, minlength=10), expected_test)
    # train + test is a partition of the 1,797 images (rows compared as multisets)
    both = np.concatenate([Xtr, Xte]) * 16
    key = np.lexsort(both.T)
    ref = sk.data.astype(np.float32)
    np.testing.assert_array_equal(both[key], ref[np.lexsort(ref.T)])
    X2, y2 = load_digits("train")
    np.testing.assert_array_equal(X2, Xtr)
    np.testing.assert_array_equal(y2, ytr)


def test_digits_all_and_options() -> None:
    sk = sk_load_digits()
    X, y = load_digits("all", normalize=False, flatten=False)
    assert X.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(X.reshape(1797, 64), sk.data.astype(np.float32))
    np.testing.assert_array_equal(y, sk.target)
    with pytest.raises(ValueError, match=r"split: expected one of"):
        load_digits("val")
