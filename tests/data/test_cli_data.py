"""``dlcourse data list | download | verify`` and resumable downloads, against 127.0.0.1.

A local HTTP server (``_local_http.py``, shared with ``test_download_server.py``)
plays the mirror (``$DLCOURSE_MIRROR/<dataset>/<file>``) and serves tiny stand-ins for every
dataset: IDX files written here with ``struct``, a CIFAR-10 tar.gz of pickled batches, an
airfoil file. The expected SHA-256 values are put into ``download.SHA256`` from ``hashlib``
on the bytes served (the real ones belong to the real files). The server can honour or ignore
HTTP Range requests and cut a file's first response halfway, to test resuming. No internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from _local_http import QuietHandler, ctrl_c_after_download, local_http_server

from dlcourse.cli import main
from dlcourse.data import catalog
from dlcourse.data import download as dl
from dlcourse.data.datasets import load_mnist

# ---- stand-in datasets --------------------------------------------------------------------------


def _idx_images(n: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=n * 4 * 4, dtype=np.uint8)
    return struct.pack(">IIII", 0x00000803, n, 4, 4) + pixels.tobytes()


def _idx_labels(n: int, seed: int) -> bytes:
    labels = np.random.default_rng(seed).integers(0, 10, size=n, dtype=np.uint8)
    return struct.pack(">II", 0x00000801, n) + labels.tobytes()


def _cifar_archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        names = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]
        for k, name in enumerate(names):
            if name == "batches.meta":
                obj: dict[bytes, object] = {b"label_names": [b"c%d" % i for i in range(10)]}
            else:
                rng = np.random.default_rng(k)
                obj = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8),
                       b"labels": [int(v) for v in rng.integers(0, 10, 2)]}
            raw = pickle.dumps(obj, protocol=4)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


AIRFOIL = b"800\t0\t0.3048\t71.3\t0.00266337\t126.201\r\n" * 200  # 7,800 bytes
CONTENT: dict[tuple[str, str], bytes] = {  # (dataset, file) -> content (decompressed)
    ("airfoil", "airfoil_self_noise.dat"): AIRFOIL,
    ("cifar-10", "cifar-10-python.tar.gz"): _cifar_archive(),
}
for _k, _name in enumerate(["mnist", "fashion-mnist"]):
    CONTENT[(_name, "train-images-idx3-ubyte.gz")] = _idx_images(6, 10 * _k)
    CONTENT[(_name, "train-labels-idx1-ubyte.gz")] = _idx_labels(6, 10 * _k + 1)
    CONTENT[(_name, "t10k-images-idx3-ubyte.gz")] = _idx_images(3, 10 * _k + 2)
    CONTENT[(_name, "t10k-labels-idx1-ubyte.gz")] = _idx_labels(3, 10 * _k + 3)


def _served(key: tuple[str, str]) -> bytes:
    """The bytes on the wire: IDX content gzipped (hashes are of the content)."""
    raw = CONTENT[key]
    return gzip.compress(raw, mtime=0) if key[0].endswith("mnist") else raw


# ---- the server ----------------------------------------------------------------------------------


@dataclass
class Server:
    base: str = ""  # set once the server is listening
    ranges: bool = True  # honour Range requests with 206
    cut: set[str] = field(default_factory=set)  # paths whose next response stops halfway
    missing: set[str] = field(default_factory=set)  # paths answered with 404
    hits: Counter[str] = field(default_factory=Counter)
    range_headers: list[str] = field(default_factory=list)


def _handler(state: Server) -> type[http.server.BaseHTTPRequestHandler]:
    files = {f"{d}/{f}": _served((d, f)) for d, f in CONTENT}

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = self.path.lstrip("/")
            state.hits[path] += 1
            self.close_connection = True
            body = files.get(path)
            if body is None or path in state.missing:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, status = 0, 200
            wanted = self.headers.get("Range")
            if wanted:
                state.range_headers.append(wanted)
                if state.ranges:
                    start, status = int(wanted.removeprefix("bytes=").split("-")[0]), 206
            part = body[start:]
            self.send_response(status)
            self.send_header("Content-Length", str(len(part)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            try:
                if path in state.cut:
                    state.cut.discard(path)
                    self.wfile.write(part[: len(part) // 2])  # then close: a cut connection
                else:
                    self.wfile.write(part)
                self.wfile.flush()
            except OSError:
                pass

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    state = Server()
    with local_http_server(_handler(state)) as base:
        state.base = base
        for key, content in CONTENT.items():
            monkeypatch.setitem(dl.SHA256, key, hashlib.sha256(content).hexdigest())
        monkeypatch.setenv("DLCOURSE_MIRROR", state.base)
        monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
        for var in ("DLCOURSE_DATA", "DLCOURSE_OFFLINE"):
            monkeypatch.delenv(var, raising=False)
        yield state


def _run(*argv: str) -> int:
    return main(["data", *argv])


# ---- download, list, verify ----------------------------------------------------------------------


def test_download_all_then_list_and_verify(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("list") == 0
    assert capsys.readouterr().out.count("status: missing") == 4
    assert _run("download", "all", "--retries", "0") == 0
    out = capsys.readouterr().out
    cache = tmp_path / "cache"
    for key, content in CONTENT.items():
        if key[0] == "cifar-10":
            continue
        path = cache / key[0] / key[1]
        raw = path.read_bytes()
        assert (gzip.decompress(raw) if path.name.endswith(".gz") else raw) == content
    batches = sorted(p.name for p in (cache / "cifar-10-batches-py").iterdir())
    assert batches == sorted([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch",
                              "batches.meta"])
    assert not list(cache.glob("*.tgz")) and not list(cache.rglob("*.part"))  # nothing left over
    assert out.count("SHA-256 verified") == 4
    X, y = load_mnist("test", download=False)  # the loaders find what the command downloaded
    assert X.shape == (3, 1, 4, 4) and y.tolist() == list(CONTENT["mnist",
                                                                   "t10k-labels-idx1-ubyte.gz"][8:])
    assert _run("list") == 0
    listing = capsys.readouterr().out
    assert listing.count("status: present") == 4 and "(cache)" in listing
    assert _run("verify") == 0
    report = capsys.readouterr().out
    assert report.count(": OK (sha256") == 9 and report.count("OK (structure)") == 7
    hits = sum(server.hits.values())
    assert _run("download", "all") == 0  # everything present: nothing fetched again
    assert sum(server.hits.values()) == hits
    assert capsys.readouterr().out.count("already present") == 4


def test_verify_names_file_expected_and_actual_hash(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("download", "airfoil", "mnist") == 0
    path = tmp_path / "cache" / "airfoil" / "airfoil_self_noise.dat"
    path.write_bytes(AIRFOIL.replace(b"126.201", b"126.202", 1))
    assert _run("verify") == 1
    err = capsys.readouterr().err
    expected = hashlib.sha256(AIRFOIL).hexdigest()
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(path) in err and expected in err and actual in err
    assert "dlcourse data download airfoil" in err
    labels = tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(b"not gzip")  # a broken .gz is reported, not a crash
    path.write_bytes(AIRFOIL)
    assert _run("verify") == 1
    err = capsys.readouterr().err
    assert str(labels) in err and "1 file(s) failed" in err


def test_verify_with_nothing_present_succeeds(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("verify") == 0
    assert capsys.readouterr().out.count("not present") == 4


def test_present_in_dlcourse_data_is_not_downloaded(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    (data / "airfoil").mkdir(parents=True)
    (data / "airfoil" / "airfoil_self_noise.dat").write_bytes(AIRFOIL)
    monkeypatch.setenv("DLCOURSE_DATA", str(data))
    assert _run("download", "airfoil") == 0
    assert sum(server.hits.values()) == 0
    assert "($DLCOURSE_DATA)" in capsys.readouterr().out


def test_failed_download_exits_1_and_others_still_download(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.missing.add("fashion-mnist/train-images-idx3-ubyte.gz")
    assert _run("download", "fashion-mnist", "airfoil", "--retries", "0") == 1
    captured = capsys.readouterr()
    assert "fashion-mnist: FAILED" in captured.err and "404" in captured.err
    assert "failed: fashion-mnist" in captured.err
    assert (tmp_path / "cache" / "airfoil" / "airfoil_self_noise.dat").read_bytes() == AIRFOIL


def test_wrong_checksum_exits_1_and_saves_nothing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(dl.SHA256, ("airfoil", "airfoil_self_noise.dat"), "0" * 64)
    assert _run("download", "airfoil") == 1
    err = capsys.readouterr().err
    assert "0" * 64 in err and hashlib.sha256(AIRFOIL).hexdigest() in err
    assert server.hits["airfoil/airfoil_self_noise.dat"] == 1  # not retried
    assert list((tmp_path / "cache" / "airfoil").iterdir()) == []  # no file, no .part


def test_offline_refuses_to_download(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    assert _run("download", "airfoil") == 1
    assert "DLCOURSE_OFFLINE" in capsys.readouterr().err
    assert sum(server.hits.values()) == 0


# ---- resume --------------------------------------------------------------------------------------


def test_cut_download_resumes_with_a_range_request(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "airfoil/airfoil_self_noise.dat"
    server.cut.add(path)
    assert _run("download", "airfoil", "--retries", "0") == 1  # the connection was cut
    part = tmp_path / "cache" / "airfoil" / ".airfoil_self_noise.dat.part"
    assert part.read_bytes() == AIRFOIL[: len(AIRFOIL) // 2]  # kept for the next run
    assert "resumes where it stopped" in capsys.readouterr().err
    assert _run("download", "airfoil") == 0
    assert server.range_headers == [f"bytes={len(AIRFOIL) // 2}-"]
    assert (tmp_path / "cache" / "airfoil" / "airfoil_self_noise.dat").read_bytes() == AIRFOIL
    assert not part.exists()


def test_retry_within_one_run_resumes(server: Server, tmp_path: Path) -> None:
    path = "cifar-10/cifar-10-python.tar.gz"
    server.cut.add(path)
    assert _run("download", "cifar-10", "--retries", "1") == 0
    half = len(_served(("cifar-10", "cifar-10-python.tar.gz"))) // 2
    assert server.hits[path] == 2 and server.range_headers == [f"bytes={half}-"]
    assert (tmp_path / "cache" / "cifar-10-batches-py" / "test_batch").is_file()


def test_server_without_ranges_starts_over(server: Server, tmp_path: Path) -> None:
    server.ranges = False
    dest = tmp_path / "out" / "airfoil_self_noise.dat"
    dest.parent.mkdir()
    (dest.parent / f".{dest.name}.part").write_bytes(b"stale bytes from elsewhere")
    sha = hashlib.sha256(AIRFOIL).hexdigest()
    url = f"{server.base}/airfoil/airfoil_self_noise.dat"
    dl.fetch(url, dest, sha, resume=True, retries=0, progress=False)
    assert dest.read_bytes() == AIRFOIL  # the 200 answer replaced the partial file
    assert server.range_headers == ["bytes=26-"]
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]


def test_wrong_partial_file_fails_the_hash_and_is_deleted(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "airfoil_self_noise.dat"
    part = tmp_path / f".{dest.name}.part"
    part.write_bytes(b"X" * 100)  # garbage the server would continue from byte 100
    url = f"{server.base}/airfoil/airfoil_self_noise.dat"
    with pytest.raises(dl.ChecksumError):
        dl.fetch(url, dest, hashlib.sha256(AIRFOIL).hexdigest(), resume=True, retries=0,
                 progress=False)
    assert list(tmp_path.iterdir()) == []  # a wrong file is not resumed next time
    dl.fetch(url, dest, hashlib.sha256(AIRFOIL).hexdigest(), resume=True, progress=False)
    assert dest.read_bytes() == AIRFOIL


def test_interrupt_keeps_the_partial_file_when_resuming(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctrl_c_after_download(monkeypatch)
    dest = tmp_path / "airfoil_self_noise.dat"
    with pytest.raises(KeyboardInterrupt):
        dl.fetch(f"{server.base}/airfoil/airfoil_self_noise.dat", dest, None, resume=True,
                 progress=False)
    assert (tmp_path / f".{dest.name}.part").read_bytes() == AIRFOIL
    assert not dest.exists()


# ---- usage and help ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["data"], ["data", "download"], ["data", "download", "nope"],
                                  ["data", "download", "airfoil", "--timeout", "0"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["data"], ["data", "list"], ["data", "download"],
                                  ["data", "verify"], ["doctor"]])
def test_help_on_each_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert "exit status: 0" in capsys.readouterr().out


def test_console_entry_point_runs(tmp_path: Path) -> None:
    env = {**os.environ, "DLCOURSE_CACHE": str(tmp_path), "DLCOURSE_DATA": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "dlcourse.cli", "data", "list"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("status: missing") == 4


@pytest.mark.skipif(not os.environ.get("DLCOURSE_DATA"), reason="needs the course's data copy")
def test_verify_accepts_the_course_data_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real SHA-256 table against the real files (re-gzipped copies: content hashes)."""
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path))
    assert catalog.run_verify(sys.stdout, sys.stderr) == 0
    out = capsys.readouterr().out
    for name in catalog.DATASETS:
        assert f"{name}: not present" not in out, out
