"""One local HTTP server for the download tests: 127.0.0.1, a free port, a thread.

``test_download_server.py`` (``fetch`` against good, broken and stalling files) and
``test_cli_data.py`` (``dlcourse data download`` against a mirror of stand-in datasets) each
write their own request handler on :class:`QuietHandler` and serve it with
:func:`local_http_server`; nothing here touches the internet. Both also press Ctrl-C in the
middle of a download (:func:`ctrl_c_after_download`).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dlcourse.data import download as dl


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler speaking HTTP/1.1 that keeps the test output clean (no access log)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


@contextmanager
def local_http_server(
    handler: type[http.server.BaseHTTPRequestHandler],
) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port) in a thread; yield the base URL.

    The base URL has no trailing slash (``http://127.0.0.1:PORT``). Each request runs in its own
    daemon thread, so a handler that stalls cannot keep the test run alive; leaving the block
    stops the server and closes its socket.
    """
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def ctrl_c_after_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every download raise KeyboardInterrupt once its bytes are written, before
    ``fetch`` checks and renames the file (a reader pressing Ctrl-C at the worst moment)."""
    real = dl._download_to

    def interrupted(url: str, out: object, timeout: float, desc: str, progress: bool) -> None:
        real(url, out, timeout, desc, progress)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(dl, "_download_to", interrupted)
