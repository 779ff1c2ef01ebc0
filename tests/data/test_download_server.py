"""``fetch`` against a real HTTP server on 127.0.0.1 (standard library, in a thread).

The server serves a good file, a truncated one (Content-Length larger than the body, then the
connection closes), one with the wrong content, two that stall (before the headers and in the
middle of the body), a 404, and one that fails with 503 a few times before it works. Every
failure must leave no file (final or temporary) behind and raise an error that names the URL
and says what to do. No test touches the internet; timeouts and back-offs are tiny.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _local_http import QuietHandler, ctrl_c_after_download, local_http_server

from dlcourse.data import download as dl

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB: several read chunks
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()  # independent of fetch: hashlib on the bytes
OTHER = b"not the expected content" * 1000
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()
STALL_LIMIT = 3.0  # a stalled handler gives up after this (or at teardown)
ADVICE = ("retry", "DLCOURSE_MIRROR", "DLCOURSE_DATA")


@dataclass
class Server:
    base: str = ""  # set once the server is listening
    hits: Counter[str] = field(default_factory=Counter)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


def _handler(state: Server) -> type[http.server.BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(QuietHandler):
        def _send(self, body: bytes, length: int | None = None, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            name = self.path.lstrip("/")
            with lock:
                state.hits[name] += 1
                hit = state.hits[name]
            self.close_connection = True
            try:
                if name in ("good.bin", "good.gz"):
                    self._send(gzip.compress(PAYLOAD) if name.endswith(".gz") else PAYLOAD)
                elif name in ("truncated.bin", "truncated.gz"):
                    body = gzip.compress(PAYLOAD) if name.endswith(".gz") else PAYLOAD
                    self._send(body[: len(body) // 2], length=len(body))
                elif name in ("wronghash.bin", "wronghash.gz"):
                    self._send(gzip.compress(OTHER) if name.endswith(".gz") else OTHER)
                elif name == "notgzip.gz":
                    self._send(PAYLOAD)  # a .gz name whose content is not gzip at all
                elif name == "stall-headers.bin":
                    state.release.wait(STALL_LIMIT)
                elif name == "stall-body.bin":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    self.wfile.write(PAYLOAD[:1000])
                    self.wfile.flush()
                    state.release.wait(STALL_LIMIT)
                elif name == "flaky.bin":
                    if hit <= 2:
                        self._send(b"busy", status=503)
                    else:
                        self._send(PAYLOAD)
                elif name == "busy.bin":
                    self._send(b"busy", status=503)
                else:
                    self._send(b"no such file", status=404)
            except OSError:
                pass  # the client gave up (timeout) and closed the connection

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()
    with local_http_server(_handler(state)) as base:
        state.base = base
        try:
            yield state
        finally:
            state.release.set()  # wake the stalled handlers


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DLCOURSE_MIRROR", "DLCOURSE_OFFLINE", "DLCOURSE_DATA"):
        monkeypatch.delenv(var, raising=False)


def _fetch(url: str, dest: Path, sha: str | None, **kw: object) -> Path:
    opts: dict[str, object] = {"timeout": 0.3, "retries": 0, "backoff": 0.0, "progress": False}
    opts.update(kw)
    return dl.fetch(url, dest, sha, **opts)  # type: ignore[arg-type]


def _assert_empty(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == []  # no final file, no .part file


def _assert_advice(message: str, url: str) -> None:
    assert url in message
    for word in ADVICE:
        assert word in message, f"{word!r} missing from: {message}"


# ---- success ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["good.bin", "good.gz"])
def test_good_file_is_written_whole(server: Server, tmp_path: Path, name: str) -> None:
    dest = tmp_path / "out" / name
    assert _fetch(server.url(name), dest, PAYLOAD_SHA) == dest
    raw = dest.read_bytes()
    assert (gzip.decompress(raw) if name.endswith(".gz") else raw) == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == [name]


def test_good_file_without_checksum_and_with_progress_bar(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "good.bin"
    _fetch(server.url("good.bin"), dest, None, progress=True)
    assert dest.read_bytes() == PAYLOAD
    assert capsys.readouterr().err == ""  # the bar goes to stdout (the book treats stderr as error)


def test_existing_file_is_replaced_only_by_a_verified_one(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "good.bin"
    dest.write_bytes(b"old")
    with pytest.raises(dl.ChecksumError):
        _fetch(server.url("wronghash.bin"), dest, PAYLOAD_SHA)
    assert dest.read_bytes() == b"old"  # a failed download does not clobber the old file
    _fetch(server.url("good.bin"), dest, PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


# ---- failures leave nothing behind --------------------------------------------------------------


@pytest.mark.parametrize("name", ["truncated.bin", "truncated.gz"])
@pytest.mark.parametrize("sha", [PAYLOAD_SHA, None], ids=["hash", "nohash"])
def test_truncated_download_is_retried_and_leaves_nothing(
    server: Server, tmp_path: Path, name: str, sha: str | None
) -> None:
    url = server.url(name)
    with pytest.raises(dl.DownloadError) as info:
        _fetch(url, tmp_path / name, sha, retries=2)
    message = str(info.value)
    _assert_advice(message, url)
    assert "after 3 attempt(s)" in message
    assert "truncated" in message or "incomplete" in message.lower()
    assert server.hits[name] == 3  # a cut connection is worth retrying
    _assert_empty(tmp_path)


@pytest.mark.parametrize("name", ["wronghash.bin", "wronghash.gz"])
def test_wrong_hash_names_url_both_hashes_and_advice(
    server: Server, tmp_path: Path, name: str
) -> None:
    url = server.url(name)
    with pytest.raises(dl.ChecksumError) as info:
        _fetch(url, tmp_path / name, PAYLOAD_SHA, retries=2)
    message = str(info.value)
    _assert_advice(message, url)
    assert PAYLOAD_SHA in message and OTHER_SHA in message
    assert server.hits[name] == 1  # the same server would send the same wrong file
    _assert_empty(tmp_path)


def test_not_gzip_content_names_url_not_temp_file(server: Server, tmp_path: Path) -> None:
    url = server.url("notgzip.gz")
    with pytest.raises(dl.ChecksumError) as info:
        _fetch(url, tmp_path / "notgzip.gz", PAYLOAD_SHA)
    message = str(info.value)
    _assert_advice(message, url)
    assert ".part" not in message  # the temporary file is gone; do not send the user to it
    _assert_empty(tmp_path)


@pytest.mark.parametrize("name", ["stall-headers.bin", "stall-body.bin"])
def test_stalled_server_times_out_bounded(server: Server, tmp_path: Path, name: str) -> None:
    url = server.url(name)
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError) as info:
        _fetch(url, tmp_path / name, PAYLOAD_SHA, timeout=0.2, retries=1, backoff=0.05)
    elapsed = time.perf_counter() - start
    # two attempts of 0.2 s each plus 0.05 s back-off; far below the server's 3 s stall
    assert elapsed < 2.0
    assert server.hits[name] == 2
    message = str(info.value)
    _assert_advice(message, url)
    assert "timed out" in message.lower()
    _assert_empty(tmp_path)


def test_404_is_not_retried(server: Server, tmp_path: Path) -> None:
    url = server.url("missing.bin")
    start = time.perf_counter()
    with pytest.raises(dl.DownloadError) as info:
        _fetch(url, tmp_path / "missing.bin", PAYLOAD_SHA, retries=3, backoff=5.0)
    assert time.perf_counter() - start < 2.0  # a retry would have slept 5 s first
    assert server.hits["missing.bin"] == 1
    message = str(info.value)
    _assert_advice(message, url)
    assert "404" in message
    _assert_empty(tmp_path)


def test_server_errors_are_retried_with_backoff(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "flaky.bin"
    start = time.perf_counter()
    _fetch(server.url("flaky.bin"), dest, PAYLOAD_SHA, retries=3, backoff=0.1)
    elapsed = time.perf_counter() - start
    assert dest.read_bytes() == PAYLOAD
    assert server.hits["flaky.bin"] == 3  # two 503s, then the file
    assert elapsed >= 0.1 + 0.2  # waited backoff * 2**0, then backoff * 2**1
    assert [p.name for p in tmp_path.iterdir()] == ["flaky.bin"]


def test_retries_are_bounded(server: Server, tmp_path: Path) -> None:
    url = server.url("busy.bin")
    with pytest.raises(dl.DownloadError) as info:
        _fetch(url, tmp_path / "busy.bin", None, retries=2, backoff=0.01)
    assert server.hits["busy.bin"] == 3  # 1 attempt + 2 retries, then stop
    message = str(info.value)
    _assert_advice(message, url)
    assert "503" in message and "after 3 attempt(s)" in message
    _assert_empty(tmp_path)


def test_interrupted_download_leaves_nothing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctrl_c_after_download(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        _fetch(server.url("good.bin"), tmp_path / "good.bin", PAYLOAD_SHA, retries=2)
    assert server.hits["good.bin"] == 1
    _assert_empty(tmp_path)
