"""One grading child: a pytest process, its event pipe and its bounded output (POSIX).

:class:`Child` starts ``python -m pytest`` in its own session with two pipes: the plugin's
events (JSON lines, on an fd passed with ``pass_fds``) and the child's stdout+stderr. The
parent drains both with :meth:`Child.poll`; the output is never kept whole, only its last
bytes (:class:`Tail`), so a test printing 200 MB costs the parent nothing.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
from collections.abc import Callable
from typing import Any

__all__ = ["Tail", "Child", "describe_exit"]

#: Longest event line accepted (a longer one is a forged or broken stream).
MAX_EVENT = 1 << 20
_CHUNK = 1 << 16


class Tail:
    """The last ``limit`` bytes written to it, and how many were written in all.

    Example:
        >>> t = Tail(4)
        >>> t.add(b"hello"); t.add(b" world")
        >>> t.text(), t.total
        ('orld', 11)
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._buf = bytearray()

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self._buf += data[-self.limit:]
        if len(self._buf) > 2 * self.limit:
            del self._buf[: -self.limit]

    def text(self) -> str:
        return bytes(self._buf[-self.limit:]).decode("utf-8", errors="replace")


class StreamError(Exception):
    """The event stream is not a sequence of JSON objects (forged or corrupted)."""


class Child:
    """A running grading child.

    Args:
        cmd, env, cwd: how to start it (``env`` gets ``DLCOURSE_GRADE_FD``).
        on_output: called with each chunk of the child's stdout/stderr.
    """

    def __init__(
        self,
        cmd: list[str],
        env: dict[str, str],
        cwd: str,
        on_output: Callable[[bytes], None],
    ) -> None:
        ev_r, ev_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env={**env, "DLCOURSE_GRADE_FD": str(ev_w)},
                stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                pass_fds=(ev_w,), start_new_session=True,
            )
        except BaseException:
            for fd in (ev_r, ev_w, out_r, out_w):
                os.close(fd)
            raise
        os.close(ev_w)
        os.close(out_w)
        self.on_output = on_output
        self._partial = bytearray()
        self._sel = selectors.DefaultSelector()
        self._sel.register(ev_r, selectors.EVENT_READ, "events")
        self._sel.register(out_r, selectors.EVENT_READ, "output")
        self._open = 2

    def poll(self, timeout: float) -> list[dict[str, Any]] | None:
        """Events that arrived within ``timeout`` s; ``None`` once both pipes are closed.

        Raises:
            StreamError: a line that is not a JSON object, or longer than :data:`MAX_EVENT`.
        """
        if self._open == 0:
            return None
        events: list[dict[str, Any]] = []
        for key, _ in self._sel.select(max(0.0, timeout)):
            fd = key.fd
            data = os.read(fd, _CHUNK)
            if not data:
                self._sel.unregister(fd)
                os.close(fd)
                self._open -= 1
                continue
            if key.data == "output":
                self.on_output(data)
                continue
            self._partial += data
            *lines, rest = bytes(self._partial).split(b"\n")
            self._partial = bytearray(rest)
            if len(self._partial) > MAX_EVENT:
                raise StreamError("an event line longer than 1 MB")
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    raise StreamError(f"not JSON: {line[:80]!r}") from None
                if not isinstance(event, dict):
                    raise StreamError(f"not an object: {line[:80]!r}")
                events.append(event)
        return events

    def kill(self) -> None:
        """Kill the child's whole process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> int:
        """Wait for the child, kill what is left of its group, close the pipes; the status."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # it closed its pipes but goes on running
            self.kill()
            code = self.proc.wait()
        self.kill()  # grandchildren a student may have left behind
        for key in list(self._sel.get_map().values()):
            self._sel.unregister(key.fd)
            os.close(key.fd)
        self._sel.close()
        self._open = 0
        return code


def describe_exit(code: int) -> str:
    """How a child ended: ``exited with status 3 (os._exit or similar)``, ``killed by SIGKILL``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with status {code} (os._exit or similar)"
