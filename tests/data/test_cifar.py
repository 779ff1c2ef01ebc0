"""Tests of dlcourse/data/cifar.py. No network: downloads come from a ``file://`` mirror.

Tiny batches are pickled like the real ones (a dict with bytes keys, a uint8 (N, 3072) numpy
array of R, G, B planes, a list of int labels). The test on the real CIFAR-10 runs only when
``DLCOURSE_DATA`` holds it.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data import download as dl
from dlcourse.data.cifar import (
    CIFAR10_CLASSES,
    CIFARFormatError,
    cifar10_label_names,
    extract_batches,
    load_cifar10,
)

REAL_DATA = os.environ.get("DLCOURSE_DATA")
TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
ALL = [*TRAIN, "test_batch", "batches.meta"]
ARCHIVE = "cifar-10-python.tar.gz"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real data, no mirror, downloads allowed, and an empty private cache for every test."""
    for var in ("DLCOURSE_DATA", "DLCOURSE_MIRROR", "DLCOURSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_CACHE", str(cache))
    return cache


def _batch_bytes(n: int, seed: int, **override: object) -> tuple[bytes, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    batch: dict[bytes, object] = {
        b"batch_label": b"batch",
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    batch.update({k.encode(): v for k, v in override.items()})
    return pickle.dumps(batch, protocol=4), data, labels


def _meta_bytes() -> bytes:
    names = [c.encode() for c in CIFAR10_CLASSES]
    return pickle.dumps({b"label_names": names, b"num_cases_per_batch": 3, b"num_vis": 3072})


def _write_folder(folder: Path, n: int = 3, seed: int = 0) -> dict[str, tuple[np.ndarray, list]]:
    """Write every file of a tiny CIFAR-10 into ``folder``; return name -> (data, labels)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for k, name in enumerate([*TRAIN, "test_batch"]):
        raw, data, labels = _batch_bytes(n, seed + k)
        (folder / name).write_bytes(raw)
        out[name] = (data, labels)
    (folder / "batches.meta").write_bytes(_meta_bytes())
    return out


# ---- reading ------------------------------------------------------------------------------------


def test_layout_channels_and_order(tmp_path: Path) -> None:
    files = _write_folder(tmp_path / "cifar-10-batches-py", n=3, seed=10)
    X, y = load_cifar10("train", download=False, root=tmp_path)
    assert X.shape == (15, 3, 32, 32) and X.dtype == np.float32
    assert y.shape == (15,) and y.dtype == np.int64
    expected_labels = [v for name in TRAIN for v in files[name][1]]
    assert y.tolist() == expected_labels  # data_batch_1 ... 5, in order
    # Row layout, element by element: 1024 red, then 1024 green, then 1024 blue, row-major.
    for n, c, h, w in [(0, 0, 0, 0), (4, 1, 5, 7), (14, 2, 31, 31), (7, 2, 0, 31)]:
        data = files[TRAIN[n // 3]][0]
        assert X[n, c, h, w] == np.float32(data[n % 3, c * 1024 + h * 32 + w]) / np.float32(255)
    assert X.min() >= 0.0 and X.max() <= 1.0


def test_test_split_flatten_and_normalize(tmp_path: Path) -> None:
    files = _write_folder(tmp_path, n=4, seed=20)
    X, y = load_cifar10("test", download=False, root=tmp_path, flatten=True, normalize=False)
    data, labels = files["test_batch"]
    assert X.shape == (4, 3072) and X.dtype == np.float32
    np.testing.assert_array_equal(X, data.astype(np.float32))
    assert y.tolist() == labels


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _write_folder(tmp_path / "cache" / "cifar-10-batches-py", seed=30)
    env = _write_folder(tmp_path / "env" / "cifar-10-batches-py", seed=40)
    root = _write_folder(tmp_path / "root" / "cifar-10-batches-py", seed=50)
    assert load_cifar10("test", download=False)[1].tolist() == cache["test_batch"][1]
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    assert load_cifar10("test", download=False)[1].tolist() == env["test_batch"][1]
    got = load_cifar10("test", download=False, root=tmp_path / "root")[1].tolist()
    assert got == root["test_batch"][1]


def test_missing_files_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "r" / "cifar-10-batches-py"
    _write_folder(partial)
    (partial / "data_batch_3").unlink()  # a folder missing one train batch is not used
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10("train", download=False, root=tmp_path / "r")
    msg = str(info.value)
    for folder in (partial, tmp_path / "env" / "cifar-10-batches-py",
                   tmp_path / "cache" / "cifar-10-batches-py"):  # fmt: skip
        assert str(folder) in msg
    assert "data_batch_3" in msg and "download=True" in msg
    assert load_cifar10("test", download=False, root=tmp_path / "r")[0].shape == (3, 3, 32, 32)
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="DLCOURSE_OFFLINE"):
        load_cifar10("train", download=True, root=tmp_path / "r")


def test_argument_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'test'\]"):
        load_cifar10("valid", download=False, root=tmp_path)
    with pytest.raises(TypeError, match="download: expected a bool"):
        load_cifar10("test", download="yes", root=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flatten: expected a bool"):
        load_cifar10("test", download=False, root=tmp_path, flatten=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ({"data": np.zeros((3, 3071), np.uint8)}, r"uint8 array of shape \(N, 3072\), got uint8 array of shape \(3, 3071\)"),  # noqa: E501
        ({"data": np.zeros((3, 3072), np.float32)}, r"got float32 array"),
        ({"data": np.zeros(3072, np.uint8)}, r"shape \(3072,\)"),
        ({"labels": [0, 1]}, r"expected 3 labels \(one per image\), got 2"),
        ({"labels": [0, 1, 10]}, r"expected labels 0-9, got values from 0 to 10"),
        ({"labels": [0, 1, "2"]}, r"b'labels' a list of ints"),
        ({"data": [1, 2, 3]}, r"got list"),
    ],
)  # fmt: skip
def test_wrong_sizes_name_the_file(tmp_path: Path, override: dict, pattern: str) -> None:
    _write_folder(tmp_path)
    raw, _, _ = _batch_bytes(3, 0, **override)
    (tmp_path / "test_batch").write_bytes(raw)
    with pytest.raises(CIFARFormatError, match=rf"{tmp_path / 'test_batch'}: .*{pattern}"):
        load_cifar10("test", download=False, root=tmp_path)


def test_missing_key_and_not_a_dict(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8)}))
    with pytest.raises(CIFARFormatError, match=r"test_batch: expected the keys b'data' and"):
        load_cifar10("test", download=False, root=tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(CIFARFormatError, match=r"test_batch: expected a pickled dict, got list"):
        load_cifar10("test", download=False, root=tmp_path)


def test_truncated_batch(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    raw = (tmp_path / "data_batch_2").read_bytes()
    (tmp_path / "data_batch_2").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(pickle.UnpicklingError, match=str(tmp_path / "data_batch_2")):
        load_cifar10("train", download=False, root=tmp_path)


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return builtins.exec, (f"open({str(self.path)!r}, 'w').close()",)


def test_hostile_batch_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _write_folder(tmp_path)
    raw, _, _ = _batch_bytes(3, 0, labels=_Touch(marker))
    (tmp_path / "test_batch").write_bytes(raw)
    with pytest.raises(pickle.UnpicklingError, match=rf"{tmp_path / 'test_batch'}.*builtins\.exec"):
        load_cifar10("test", download=False, root=tmp_path)
    assert not marker.exists()


def test_label_names(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    assert cifar10_label_names(download=False, root=tmp_path) == CIFAR10_CLASSES
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"]}))
    with pytest.raises(CIFARFormatError, match="batches.meta: expected b'label_names'"):
        cifar10_label_names(download=False, root=tmp_path)


# ---- archive: download, checksum, safe extraction ----------------------------------------------


def _archive(
    path: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]] = (), n: int = 2
) -> dict:
    """Write a tar.gz laid out like the official one; ``extra`` members are appended."""
    src = _write_folder(path.parent / "src" / "cifar-10-batches-py", n=n, seed=60)
    with tarfile.open(path, "w:gz") as tar:
        for name in ALL:
            tar.add(
                path.parent / "src" / "cifar-10-batches-py" / name, f"cifar-10-batches-py/{name}"
            )
        readme = b"<html></html>"
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return src


def _mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list = ()) -> tuple[Path, dict]:
    archive = tmp_path / "mirror" / "cifar-10" / ARCHIVE
    archive.parent.mkdir(parents=True)
    src = _archive(archive, extra)
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "mirror").as_uri())
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()  # the archive's own bytes
    monkeypatch.setitem(dl.SHA256, ("cifar-10", ARCHIVE), sha)
    return archive, src


def test_download_from_mirror_extracts_into_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    _, src = _mirror(tmp_path, monkeypatch)
    X, y = load_cifar10("test", download=True)
    np.testing.assert_array_equal(X.reshape(2, 3072) * np.float32(255), src["test_batch"][0])
    assert y.tolist() == src["test_batch"][1]
    cache = _isolated_env
    assert sorted(p.name for p in (cache / "cifar-10-batches-py").iterdir()) == sorted(ALL)
    assert sorted(p.name for p in cache.iterdir()) == ["cifar-10-batches-py"]  # archive deleted
    assert not (cache / "cifar-10-batches-py" / "readme.html").exists()
    # Second call: found in the cache, the mirror is not needed any more.
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "nowhere").as_uri())
    assert load_cifar10("train", download=True)[1].shape == (10,)


def test_download_checks_the_archive_sha256(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    archive, _ = _mirror(tmp_path, monkeypatch)
    # The registered hash is of the .tar.gz bytes, not of the decompressed tar.
    import gzip

    tar_sha = hashlib.sha256(gzip.decompress(archive.read_bytes())).hexdigest()
    monkeypatch.setitem(dl.SHA256, ("cifar-10", ARCHIVE), tar_sha)
    with pytest.raises(dl.ChecksumError, match="SHA-256"):
        load_cifar10("test", download=True)
    cache = _isolated_env
    assert not cache.exists() or not any(cache.rglob("*"))  # nothing left behind


def test_official_checksum_registered() -> None:
    assert dl.SHA256[("cifar-10", ARCHIVE)] == (
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    )
    assert dl.dataset_url("cifar-10", ARCHIVE) == "https://www.cs.toronto.edu/~kriz/" + ARCHIVE


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"x") -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
        return info, None
    info.size = len(data)
    return info, data


@pytest.mark.parametrize(
    "member",
    [
        _member("../evil.txt"),
        _member("/tmp/dlcourse-evil-absolute.txt"),
        _member("cifar-10-batches-py/../../evil.txt"),
    ],
)
def test_unsafe_members_refuse_the_archive(tmp_path: Path, member: tuple) -> None:
    archive = tmp_path / "a" / ARCHIVE
    archive.parent.mkdir()
    _archive(archive, [member])
    dest = tmp_path / "dest"
    with pytest.raises(CIFARFormatError, match=r"refusing to extract the member"):
        extract_batches(archive, dest)
    assert not dest.exists()  # refused before anything was written
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "a" / "evil.txt").exists()


def test_link_in_place_of_a_batch_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        info, _ = _member("cifar-10-batches-py/data_batch_1", tarfile.SYMTYPE)
        tar.addfile(info)
    with pytest.raises(CIFARFormatError, match="regular file, got a link"):
        extract_batches(archive, tmp_path / "dest")


def test_incomplete_or_corrupt_archive(tmp_path: Path) -> None:
    archive = tmp_path / ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        info, data = _member("cifar-10-batches-py/test_batch")
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(CIFARFormatError, match="missing data_batch_1"):
        extract_batches(archive, tmp_path / "dest")
    archive.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(CIFARFormatError, match="not a valid .tar.gz"):
        extract_batches(archive, tmp_path / "dest")


# ---- the real files -----------------------------------------------------------------------------


@pytest.mark.skipif(
    not (REAL_DATA and (Path(REAL_DATA) / "cifar-10-batches-py" / "test_batch").is_file()),
    reason="DLCOURSE_DATA does not hold cifar-10-batches-py/",
)
def test_real_cifar10(monkeypatch: pytest.MonkeyPatch) -> None:
    from dlcourse.data.cifar import read_cifar_batch

    monkeypatch.setenv("DLCOURSE_DATA", str(REAL_DATA))
    X, y = load_cifar10("test", download=False)
    assert X.shape == (10000, 3, 32, 32) and X.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert np.bincount(y, minlength=10).tolist() == [1000] * 10
    counts = np.zeros(10, dtype=np.int64)
    for name in TRAIN:  # uint8, without the 600 MB float32 copy of the whole train split
        data, labels = read_cifar_batch(Path(str(REAL_DATA)) / "cifar-10-batches-py" / name)
        assert data.shape == (10000, 3072) and labels.min() >= 0 and labels.max() <= 9
        counts += np.bincount(labels, minlength=10)
    assert counts.tolist() == [5000] * 10
    # Published per-channel means of the test set (R, G, B): 0.4942, 0.4851, 0.4504.
    np.testing.assert_allclose(X.mean(axis=(0, 2, 3)), [0.4942, 0.4851, 0.4504], atol=2e-4)
    assert cifar10_label_names(download=False) == CIFAR10_CLASSES
