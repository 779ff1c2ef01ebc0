"""Download dataset files safely: mirrors, checksums, retries, atomic writes.

Where files come from:
    ``BASE_URLS[name] + filename``, or, when the environment variable ``DLCOURSE_MIRROR`` is
    set, ``$DLCOURSE_MIRROR/<name>/<filename>``: a mirror is laid out like ``DLCOURSE_DATA``
    (so ``DLCOURSE_MIRROR=file:///path/to/data`` works too).

Where they go:
    the cache folder ``$DLCOURSE_CACHE/<name>/`` (default ``~/.cache/dlcourse/<name>/``).

Offline:
    ``DLCOURSE_OFFLINE=1`` (or ``true``/``yes``/``on``) turns downloads off: the loaders of
    :mod:`dlcourse.data.datasets` then use local files only (see :func:`offline`).

Checksums:
    every downloaded file is checked against ``SHA256[(name, filename)]``, the SHA-256 of the
    file's **decompressed** content (the raw IDX bytes). We hash the content rather than the
    ``.gz`` file because the same data circulates gzip-compressed in different ways (the
    course's offline copy of MNIST was re-compressed; mirrors may differ): the content is
    what must be right. The values were computed from the course's reference copies, whose
    decompressed MD5s equal the MD5s published by the datasets' authors.

Safety:
    a file is written to a temporary file in the destination folder, verified, then moved in
    place with ``os.replace`` (atomic), so an interrupted or corrupt download never leaves a
    half file under the final name. Network errors (including a connection that closes before
    the announced ``Content-Length``, which ``http.client`` does not flag) are retried with
    exponential back-off; errors that retrying cannot fix are not: HTTP 4xx (e.g. 404), a
    missing ``file://`` file, and the signs of a machine without network (the host name cannot
    be resolved, the network or host is unreachable), so an offline machine fails in well under
    a second. The progress bar (tqdm) writes to ``sys.stdout`` (not stderr: the book build
    treats any stderr output of a notebook cell as an error).

Resume:
    ``fetch(..., resume=True)`` (what ``dlcourse data download`` uses) writes to
    ``.<file>.part`` next to the destination and keeps it after a network error or a Ctrl-C;
    the next attempt (a retry, or the next run) asks only for the missing bytes with an HTTP
    ``Range: bytes=N-`` request and appends them when the server answers ``206 Partial
    Content`` from byte N; a server that answers with the whole file (200, or a ``file://``
    URL) or 416 starts the file over. The SHA-256 is checked on the whole file, and a file that
    fails it is deleted, not resumed. Without ``resume`` nothing is kept after a failure.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from dlcourse._validate import check_int, check_nonnegative, check_positive

__all__ = [
    "BASE_URLS",
    "SHA256",
    "ChecksumError",
    "DownloadError",
    "cache_dir",
    "dataset_url",
    "content_sha256",
    "fetch",
    "offline",
]

#: Official (or reliable public mirror) base URL of each dataset's files.
BASE_URLS: dict[str, str] = {
    # yann.lecun.com often refuses downloads; this is the mirror torchvision uses.
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "cifar-10": "https://www.cs.toronto.edu/~kriz/",
    "airfoil": "https://archive.ics.uci.edu/ml/machine-learning-databases/00291/",
}

#: SHA-256 of each file's decompressed content (see the module docstring).
SHA256: dict[tuple[str, str], str] = {
    ("mnist", "train-images-idx3-ubyte.gz"):
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ("mnist", "train-labels-idx1-ubyte.gz"):
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ("mnist", "t10k-images-idx3-ubyte.gz"):
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ("mnist", "t10k-labels-idx1-ubyte.gz"):
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ("fashion-mnist", "train-images-idx3-ubyte.gz"):
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ("fashion-mnist", "train-labels-idx1-ubyte.gz"):
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ("fashion-mnist", "t10k-images-idx3-ubyte.gz"):
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ("fashion-mnist", "t10k-labels-idx1-ubyte.gz"):
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    # Not compressed content: the official archive's own SHA-256 (as Keras and torchvision
    # publish it; 170,498,071 bytes). dlcourse.data.cifar saves it under a name that does not
    # end in .gz, so fetch hashes the archive's bytes.
    ("cifar-10", "cifar-10-python.tar.gz"):
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    # UCI's file (59,984 bytes, CRLF line ends), equal to the course's offline copy.
    ("airfoil", "airfoil_self_noise.dat"):
        "74c75fd71783f1e6b71f8a622b993dc592897a97cd689c5090a07147a1b097b3",
}

_CHUNK = 1 << 16
_RETRYABLE = (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError)
_NO_NETWORK_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})


class DownloadError(OSError):
    """A file could not be downloaded (after the retries)."""


class ChecksumError(ValueError):
    """A downloaded file's content does not have the expected SHA-256."""


def offline() -> bool:
    """True when ``DLCOURSE_OFFLINE`` is ``1``/``true``/``yes``/``on``: never download."""
    return os.environ.get("DLCOURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _cannot_help_to_retry(err: BaseException) -> bool:
    """Whether a network error will happen again on retry (missing file, no network)."""
    reason = getattr(err, "reason", err)  # URLError wraps the socket error in .reason
    if isinstance(reason, (FileNotFoundError, socket.gaierror)):
        return True  # a file:// URL to a missing file; a host name that does not resolve
    return isinstance(reason, OSError) and reason.errno in _NO_NETWORK_ERRNOS


def cache_dir(name: str) -> Path:
    """``$DLCOURSE_CACHE/<name>`` if the variable is set, else ``~/.cache/dlcourse/<name>``."""
    base = os.environ.get("DLCOURSE_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "dlcourse"
    return root / name


def dataset_url(name: str, filename: str) -> str:
    """URL of ``filename`` of dataset ``name``, honouring ``DLCOURSE_MIRROR``."""
    mirror = os.environ.get("DLCOURSE_MIRROR")
    if mirror:
        return f"{mirror.rstrip('/')}/{name}/{filename}"
    if name not in BASE_URLS:
        raise ValueError(f"name: expected one of {sorted(BASE_URLS)}, got {name!r}")
    return BASE_URLS[name] + filename


def content_sha256(path: str | os.PathLike[str], decompress: bool | None = None) -> str:
    """SHA-256 (hex) of a file's content, decompressed first if it is gzip (``.gz``).

    Args:
        path: the file.
        decompress: hash the gunzipped content; default: whether the name ends in ``.gz``.

    Raises:
        ChecksumError: the file is not a valid gzip stream although ``decompress``.
    """
    path = Path(path)
    if decompress is None:
        decompress = path.name.endswith(".gz")
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") if decompress else open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ChecksumError(f"{path}: not a valid gzip file ({err})") from err
    return h.hexdigest()


def _range_start(response: object) -> int | None:
    """First byte of a ``206 Partial Content`` response (its Content-Range), else None."""
    if getattr(response, "status", None) != 206:
        return None
    value = response.headers.get("Content-Range", "")  # type: ignore[attr-defined]
    unit, _, rest = value.partition(" ")
    start = rest.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _open(url: str, offset: int, out: BinaryIO, timeout: float) -> tuple[Any, int]:
    """Open ``url`` from byte ``offset`` if the server allows it; else truncate ``out``."""
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:  # 416: the range is past the end; start over
            raise
        err.close()
        offset, response = 0, None
    if offset and _range_start(response) != offset:  # the whole file again: start over
        offset = 0
    if not offset:
        out.seek(0)
        out.truncate(0)
        if response is None:
            response = urllib.request.urlopen(url, timeout=timeout)
    return response, offset


def _download_to(url: str, out: BinaryIO, timeout: float, desc: str, progress: bool) -> None:
    """Stream ``url`` into the open binary file ``out``, with a progress bar on stdout.

    The bytes already in ``out`` (a resumed ``.part`` file, opened for appending) are asked
    for no more (see Resume in the module docstring).
    """
    response, offset = _open(url, out.seek(0, os.SEEK_END), out, timeout)
    with response:
        length = response.headers.get("Content-Length") if response.headers else None
        total = offset + int(length) if length and length.isdigit() else None
        with tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=desc,
            file=sys.stdout,
            leave=False,
            disable=not progress,
        ) as bar:
            received = offset
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    # http.client's read(n) returns b"" when the server closes the connection early, without
    # checking Content-Length: a cut connection would pass for a complete (short) file.
    if total is not None and received < total:
        raise http.client.IncompleteRead(b"", total - received)  # retried like a timeout


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None,
    *,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: bool = True,
    resume: bool = False,
) -> Path:
    """Download ``url`` to ``dest`` atomically and check its content's SHA-256.

    Args:
        url: ``http(s)://`` or ``file://`` URL.
        dest: final path; its folder is created if needed.
        sha256: expected :func:`content_sha256` of the file (hex), or None to skip the check.
        timeout: seconds to wait for the server on each attempt.
        retries: extra attempts after a network error (not after a 4xx HTTP error, a
            missing ``file://`` file, an unresolvable host name, an unreachable network or a
            checksum mismatch, which would fail again).
        backoff: wait ``backoff * 2**k`` seconds before retry ``k``.
        progress: show a tqdm progress bar on stdout.
        resume: keep the partial download ``.<dest name>.part`` after a network error or an
            interrupt and continue it with an HTTP Range request (module docstring, Resume).

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: the download failed on every attempt (a connection closed before the
            announced Content-Length counts as a failed attempt and is retried).
        ChecksumError: the content's SHA-256 differs from ``sha256`` or a ``.gz`` file is not
            valid gzip. Either way nothing is left behind (neither ``dest`` nor a temporary
            file, even with ``resume``; an existing ``dest`` is kept unchanged) and the message
            names the URL, the hashes and what to do (retry, ``DLCOURSE_MIRROR``, or the file
            by hand in ``DLCOURSE_DATA``).
    """
    dest = Path(dest)
    timeout = check_positive("timeout", timeout)
    retries = check_int("retries", retries, minimum=0)
    backoff = check_nonnegative("backoff", backoff)
    dest.parent.mkdir(parents=True, exist_ok=True)
    last_error: BaseException | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        if resume:
            tmp = dest.parent / f".{dest.name}.part"
            out = open(tmp, "ab")  # noqa: SIM115 - closed by the with below
        else:
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{dest.name}.", suffix=".part", dir=dest.parent
            )
            tmp, out = Path(tmp_name), os.fdopen(fd, "wb")
        keep = resume  # a resumable .part survives network errors and Ctrl-C
        try:
            with out:
                _download_to(url, out, timeout, dest.name, progress)
            keep = False  # every byte is here: a wrong file is deleted, not resumed
            if sha256 is not None:
                try:
                    actual = content_sha256(tmp, decompress=dest.name.endswith(".gz"))
                except ChecksumError as err:  # names the temporary file, which is deleted
                    reason = str(err.__cause__ or err)
                    raise ChecksumError(
                        f"{url}: the downloaded file is not a valid gzip file ({reason}), "
                        f"expected content with SHA-256 {sha256}; it was not saved. "
                        + _advice(dest)
                    ) from err
                if actual != sha256.lower():
                    raise ChecksumError(
                        f"{url}: SHA-256 of the content is {actual}, expected {sha256}; the "
                        "file is corrupt or not the expected one; it was not saved. "
                        + _advice(dest)
                    )
            os.replace(tmp, dest)
            return dest
        except urllib.error.HTTPError as err:
            err.close()  # it holds the response's socket (ResourceWarning if left open)
            last_error = err
            if 400 <= err.code < 500:
                keep = False
                break
        except _RETRYABLE as err:
            last_error = err
            if _cannot_help_to_retry(err):
                break
        finally:
            if not keep:
                tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {url} to {dest} after {attempt + 1} attempt(s): "
        f"{_describe(last_error)}. " + _advice(dest)
    ) from last_error


def _describe(err: BaseException | None) -> str:
    """A short reason for a failed attempt (IncompleteRead's repr is cryptic)."""
    if isinstance(err, http.client.IncompleteRead):
        return f"the connection closed early, the file is truncated ({err.expected} bytes missing)"
    return str(err)


def _advice(dest: Path) -> str:
    """What a user can do after a failed download of ``dest``."""
    name = dest.parent.name or "<dataset>"
    return (
        "What to do: retry later (a network or server problem may pass); or set "
        "DLCOURSE_MIRROR to a mirror laid out as <mirror>/<dataset>/<file>; or download "
        f"{dest.name} by hand and put it into $DLCOURSE_DATA/{name}/ (or into {dest.parent})."
    )
