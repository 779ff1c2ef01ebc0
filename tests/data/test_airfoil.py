"""Tests of dlcourse/data/airfoil.py. No network: downloads come from a ``file://`` mirror.

Small files are written in the official format (six tab-separated numbers per line, CRLF).
The test on the real file runs only when ``DLCOURSE_DATA`` holds it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from dlcourse.data import download as dl
from dlcourse.data.airfoil import AIRFOIL_COLUMNS, AirfoilFormatError, load_airfoil

REAL_DATA = os.environ.get("DLCOURSE_DATA")
FILE = "airfoil_self_noise.dat"
# The first three lines of UCI's file, as published.
ROWS = [
    "800\t0\t0.3048\t71.3\t0.00266337\t126.201",
    "1000\t0\t0.3048\t71.3\t0.00266337\t125.201",
    "1250\t0\t0.3048\t71.3\t0.00266337\t125.951",
]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("DLCOURSE_DATA", "DLCOURSE_MIRROR", "DLCOURSE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_CACHE", str(cache))
    return cache


def _write(folder: Path, rows: list[str] = ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    path.write_bytes("".join(r + "\r\n" for r in rows).encode())
    return path


def test_reads_official_format(tmp_path: Path) -> None:
    _write(tmp_path)
    X, y = load_airfoil(root=tmp_path, download=False)
    assert X.shape == (3, 5) and y.shape == (3,)
    assert X.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(
        X[1], np.array([1000, 0, 0.3048, 71.3, 0.00266337], dtype=np.float32)
    )
    np.testing.assert_array_equal(y, np.array([126.201, 125.201, 125.951], dtype=np.float32))
    X64, y64 = load_airfoil(root=tmp_path, download=False, dtype=np.float64)
    assert X64.dtype == np.float64 and X64[2, 4] == 0.00266337 and y64[0] == 126.201
    assert len(AIRFOIL_COLUMNS) == 6 and "[dB]" in AIRFOIL_COLUMNS[5]


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "cache" / "airfoil", [ROWS[0]])
    _write(tmp_path / "env", ROWS[:2])  # flat, as the course's DLCOURSE_DATA holds it
    _write(tmp_path / "root" / "airfoil", ROWS)
    assert load_airfoil(download=False)[1].shape == (1,)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    assert load_airfoil(download=False)[1].shape == (2,)
    assert load_airfoil(root=tmp_path / "root", download=False)[1].shape == (3,)


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load_airfoil(root=tmp_path / "r", download=False)
    msg = str(info.value)
    for folder in (tmp_path / "r", tmp_path / "env", tmp_path / "cache" / "airfoil"):
        assert str(folder / FILE) in msg
    assert "download=True" in msg
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="DLCOURSE_OFFLINE"):
        load_airfoil(root=tmp_path / "r")


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("800\t0\t0.3048\t71.3\t0.00266337", r"5 tab-separated fields"),
        ("800\t0\t0.3048\t71.3\t0.00266337\t126\t1", r"7 tab-separated fields"),
        ("800\t0\tabc\t71.3\t0.00266337\t126.201", r"could not convert"),
        ("800\t0\tnan\t71.3\t0.00266337\t126.201", r"expected finite numbers"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, pattern: str) -> None:
    path = _write(tmp_path, [ROWS[0], line, ROWS[2]])
    with pytest.raises(AirfoilFormatError, match=rf"{path}, line 2: .*{pattern}"):
        load_airfoil(root=tmp_path, download=False)


def test_empty_file_and_arguments(tmp_path: Path) -> None:
    (tmp_path / FILE).write_bytes(b"\r\n")
    with pytest.raises(AirfoilFormatError, match="empty file"):
        load_airfoil(root=tmp_path, download=False)
    with pytest.raises(TypeError, match="download: expected a bool"):
        load_airfoil(root=tmp_path, download=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        load_airfoil(root=tmp_path, download=False, dtype=np.int32)


def test_download_from_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_env: Path
) -> None:
    src = _write(tmp_path / "mirror" / "airfoil")
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "mirror").as_uri())
    wrong = hashlib.sha256(b"something else").hexdigest()
    monkeypatch.setitem(dl.SHA256, ("airfoil", FILE), wrong)
    with pytest.raises(dl.ChecksumError):
        load_airfoil()
    assert not (_isolated_env / "airfoil" / FILE).exists()
    monkeypatch.setitem(dl.SHA256, ("airfoil", FILE), hashlib.sha256(src.read_bytes()).hexdigest())
    X, y = load_airfoil()
    assert X.shape == (3, 5) and (_isolated_env / "airfoil" / FILE).read_bytes() == src.read_bytes()


def test_official_url_and_checksum() -> None:
    assert dl.dataset_url("airfoil", FILE) == (
        "https://archive.ics.uci.edu/ml/machine-learning-databases/00291/" + FILE
    )
    assert dl.SHA256[("airfoil", FILE)].startswith("74c75fd7")


@pytest.mark.skipif(
    not (REAL_DATA and (Path(REAL_DATA) / FILE).is_file()),
    reason=f"DLCOURSE_DATA does not hold {FILE}",
)
def test_real_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLCOURSE_DATA", str(REAL_DATA))
    raw = (Path(str(REAL_DATA)) / FILE).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == dl.SHA256[("airfoil", FILE)]
    X, y = load_airfoil(download=False, dtype=np.float64)
    assert X.shape == (1503, 5) and y.shape == (1503,)
    np.testing.assert_array_equal(X[0], [800, 0, 0.3048, 71.3, 0.00266337])
    assert y[0] == 126.201
    # The experiment's test matrix (Brooks, Pope and Marcolini 1989): one-third-octave bands
    # 200 Hz-20 kHz, chords 1-12 in (0.0254-0.3048 m), speeds up to 71.3 m/s, angles 0-22.2 deg.
    np.testing.assert_array_equal(X.min(axis=0)[:4], [200, 0, 0.0254, 31.7])
    np.testing.assert_array_equal(X.max(axis=0)[:4], [20000, 22.2, 0.3048, 71.3])
