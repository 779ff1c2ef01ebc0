"""Tests of dlcourse/data/fallback.py: the real dataset when present, else the 8×8 digits.

No network: tiny IDX files are written with ``struct`` into ``tmp_path``; a failed download is
a ``file://`` mirror pointing at an empty folder (or a simulated unresolvable host).
"""

from __future__ import annotations

import gzip
import socket
import struct
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from dlcourse.data import ImageDataset, load_dataset
from dlcourse.data import download as dl
from dlcourse.data.idx import IDXFormatError

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
HINTS = ("DLCOURSE_DATA", "DLCOURSE_MIRROR", "DLCOURSE_OFFLINE", "download")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real data, a mirror that has nothing, downloads allowed, an empty private cache."""
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    monkeypatch.delenv("DLCOURSE_OFFLINE", raising=False)
    (tmp_path / "empty-mirror").mkdir()
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "empty-mirror").as_uri())
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_CACHE", str(cache))
    return cache


def _write_split(folder: Path, split: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A tiny split in the official gzip-compressed IDX format; returns (images, labels)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    img_name, lbl_name = FILES[split]
    (folder / img_name).write_bytes(
        gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
    )
    (folder / lbl_name).write_bytes(gzip.compress(struct.pack(">II", 0x801, n) + labels.tobytes()))
    return images, labels


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = sk_load_digits()
    return bunch.data / 16.0, bunch.target


def _assert_is_the_digits(data: ImageDataset) -> None:
    """Train and test are scikit-learn's 1,797 digits, split 1,438 / 359 without overlap."""
    X, y = _sklearn_digits()
    assert data.X_train.shape == (1438, 64) and data.X_test.shape == (359, 64)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    both = np.concatenate([data.X_train, data.X_test]).astype(np.float64)
    rows = {r.tobytes(): i for i, r in enumerate(X)}
    idx = [rows[r.tobytes()] for r in both]  # every image is one of scikit-learn's
    assert sorted(idx) == list(range(1797))  # and each one exactly once
    np.testing.assert_array_equal(np.concatenate([data.y_train, data.y_test]), y[idx])


# ---- the real dataset is used when it is there ---------------------------------------------------


def test_real_dataset_when_both_splits_are_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img_tr, lbl_tr = _write_split(tmp_path / "root" / "mnist", "train", n=10, seed=1)
    img_te, lbl_te = _write_split(tmp_path / "root" / "mnist", "test", n=4, seed=2)
    data = load_dataset("mnist", root=tmp_path / "root", flatten=True)
    assert (data.name, data.requested, data.title) == ("mnist", "mnist", "MNIST")
    assert not data.is_fallback and data.note == ""
    assert data.image_shape == (28, 28) and data.num_features == 784
    np.testing.assert_array_equal(data.X_train * 255, img_tr.reshape(10, 784).astype(np.float32))
    np.testing.assert_array_equal(data.X_test * 255, img_te.reshape(4, 784).astype(np.float32))
    np.testing.assert_array_equal(data.y_train, lbl_tr)
    np.testing.assert_array_equal(data.y_test, lbl_te)
    assert capsys.readouterr() == ("", "")  # silent when nothing is replaced
    assert repr(data) == "ImageDataset(MNIST: train (10, 784), test (4, 784))"


def test_real_dataset_found_through_dlcourse_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_split(tmp_path / "data" / "fashion-mnist", "train", n=3, seed=3)
    _write_split(tmp_path / "data" / "fashion-mnist", "test", n=2, seed=4)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    data = load_dataset("fashion-mnist")
    assert data.title == "Fashion-MNIST" and not data.is_fallback
    assert data.X_train.shape == (3, 1, 28, 28) and data.X_test.shape == (2, 1, 28, 28)


# ---- the fallback ----------------------------------------------------------------------------


def test_failed_download_falls_back_to_digits_with_a_note_on_stdout(
    capsys: pytest.CaptureFixture[str], _isolated_env: Path
) -> None:
    start = time.perf_counter()
    data = load_dataset("mnist", flatten=True)
    assert time.perf_counter() - start < 5.0  # fails fast: no retry storm
    out, err = capsys.readouterr()
    assert err == ""  # the book build fails on stderr
    assert (data.name, data.requested, data.title) == ("digits", "mnist", "8×8 digits")
    assert data.is_fallback and data.image_shape == (8, 8) and data.num_features == 64
    _assert_is_the_digits(data)
    assert data.note and data.note in out
    assert "MNIST is not available" in out and "8×8 digits instead" in out
    assert "could not download file://" in out  # the reason, from the loader's error
    for hint in HINTS:
        assert hint in out
    assert str(_isolated_env / "mnist") in out  # where the files can go
    assert "fallback for 'mnist'" in repr(data)
    assert not list((_isolated_env / "mnist").iterdir())  # nothing half-written


def test_both_splits_come_from_the_same_dataset(tmp_path: Path) -> None:
    _write_split(tmp_path / "mnist", "train", n=10, seed=5)  # no test split anywhere
    data = load_dataset("mnist", root=tmp_path, download=False, flatten=True)
    assert data.name == "digits"
    _assert_is_the_digits(data)  # also the training split: never MNIST train + digits test


def test_download_false_does_not_touch_the_mirror(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dl, "fetch", lambda *a, **k: pytest.fail("fetch called"))
    data = load_dataset("fashion-mnist", download=False)
    assert data.is_fallback and data.title == "8×8 digits"
    out = capsys.readouterr().out
    assert "Fashion-MNIST is not available" in out and "download=False" in out


def test_offline_switch_skips_a_working_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_split(tmp_path / "mirror" / "mnist", "train", n=3, seed=6)
    _write_split(tmp_path / "mirror" / "mnist", "test", n=3, seed=7)
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "mirror").as_uri())
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    monkeypatch.setattr(dl, "fetch", lambda *a, **k: pytest.fail("fetch called while offline"))
    assert load_dataset("mnist").is_fallback
    assert "DLCOURSE_OFFLINE is set" in capsys.readouterr().out


def test_no_network_costs_one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def unresolvable(url: str, out: object, timeout: float, desc: str, progress: bool) -> None:
        calls.append(url)
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service unknown"))

    monkeypatch.setattr(dl, "_download_to", unresolvable)
    assert load_dataset("mnist").is_fallback
    assert len(calls) == 1  # train images only: no retry, and the other files are not tried


def test_a_timeout_is_retried_once_with_a_short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts = []

    def hanging(url: str, out: object, timeout: float, desc: str, progress: bool) -> None:
        timeouts.append(timeout)
        raise TimeoutError("simulated timeout")

    monkeypatch.setattr(dl, "_download_to", hanging)
    start = time.perf_counter()
    assert load_dataset("mnist").is_fallback
    assert timeouts == [10.0, 10.0]  # one retry; a real hang would cost about 20 s in all
    assert time.perf_counter() - start < 3.0  # the back-off before the retry is short


def test_fallback_none_raises_the_loaders_error() -> None:
    with pytest.raises(dl.DownloadError, match="could not download file://"):
        load_dataset("mnist", fallback=None)
    with pytest.raises(FileNotFoundError, match="download=False"):
        load_dataset("mnist", download=False, fallback=None)


def test_a_corrupt_local_file_is_not_hidden(tmp_path: Path) -> None:
    _write_split(tmp_path / "mnist", "train", n=3, seed=8)
    _write_split(tmp_path / "mnist", "test", n=3, seed=9)
    (tmp_path / "mnist" / FILES["test"][1]).write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(IDXFormatError):
        load_dataset("mnist", root=tmp_path)


# ---- the digits asked for directly, shapes, arguments -----------------------------------------


def test_digits_requested_directly_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    data = load_dataset("digits")
    assert not data.is_fallback and data.note == ""
    assert data.X_train.shape == (1438, 1, 8, 8) and data.X_test.shape == (359, 1, 8, 8)
    assert capsys.readouterr() == ("", "")
    flat = load_dataset("digits", flatten=True)
    _assert_is_the_digits(flat)
    np.testing.assert_array_equal(data.X_train.reshape(-1, 64), flat.X_train)


def test_images_layout_of_the_fallback() -> None:
    data = load_dataset("mnist")
    assert data.X_train.shape == (1438, 1, 8, 8) and data.X_test.shape == (359, 1, 8, 8)
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"name": "cifar10"}, ValueError, r"name: expected one of .*'mnist'.*got 'cifar10'"),
        ({"fallback": "zeros"}, ValueError, r"fallback: expected one of \['digits'\], got 'zeros'"),
        ({"download": "yes"}, TypeError, r"download: expected a bool, got str 'yes'"),
        ({"flatten": 1}, TypeError, r"flatten: expected a bool, got int 1"),
    ],
)
def test_bad_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        load_dataset(**kwargs)
