"""The parent's bookkeeping of a grading run (used by :func:`dlcourse.grading.runner.run_grade`).

:class:`Supervisor` holds the tests the first child collected and their results, follows a
child's event stream (:meth:`Supervisor.watch`), rejects forged or out-of-order events
("report tampered"), and decides after each child whether to start another
(:meth:`Supervisor.after`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TextIO

from dlcourse.grading.child import Child, StreamError, Tail, describe_exit

__all__ = ["Supervisor"]

#: pytest's exit codes for "usage error" and "no tests collected".
_USAGE_CODES = (4, 5)
_INFO = ("exercise", "points", "depends", "forbid")
_MESSAGE_LIMIT = 300
_OUTPUT_TAIL = 16 * 1024  # bytes of the child's output kept in all
_TEST_OUTPUT_TAIL = 2 * 1024  # ... and per failing test, in the report


def _short(nodeid: str | None) -> str:
    return str(nodeid).rsplit("::", 1)[-1]


class Supervisor:
    """The parent's view of the run: the collected tests, their results, the running test."""

    def __init__(self, root: Path, per_test: float, stream: TextIO | None) -> None:
        self.root = root
        self.per_test = per_test
        self.kill_after = per_test + max(3.0, 0.25 * per_test) if per_test else 0.0
        self.stream = stream
        self.tests: dict[str, dict[str, Any]] | None = None
        self.done: set[str] = set()
        self.running: str | None = None
        self.started = 0.0
        self.importing: str | None = None
        self.imports: dict[str, str] = {}  # path -> why its import fails (for later children)
        self.flags: dict[str, str] = {}
        self.finished = False
        self.last_crash: str | None = None
        self.unconfirmed: str | None = None  # the last result, until the child goes on
        self.output = Tail(_OUTPUT_TAIL)
        self.test_output = Tail(_TEST_OUTPUT_TAIL)

    # ------------------------------------------------------------ the child's output
    def on_output(self, data: bytes) -> None:
        self.output.add(data)
        if self.running is not None:
            self.test_output.add(data)
        if self.stream is not None:
            self.stream.write(data.decode("utf-8", errors="replace"))
            self.stream.flush()

    def label(self, path: str) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return path

    # ------------------------------------------------------------ the event stream
    def handle(self, ev: dict[str, Any]) -> tuple[str, str | None] | None:
        """Apply one event; ``(reason, test id)`` if it is forged or out of order."""
        kind, nid = ev.get("e"), ev.get("id")
        if kind in ("start", "finish", "restart"):
            self.unconfirmed = None
        if kind == "collected":
            tests = ev.get("tests")
            if not isinstance(tests, dict):
                return "a malformed list of tests", None
            if self.tests is None:
                self.tests = {
                    n: {**{k: info.get(k) for k in _INFO}, "outcome": "pending", "message": "",
                        "duration": 0.0, "modules": []}
                    for n, info in tests.items()
                }
            return None
        if kind in ("start", "result") and (self.tests is None or nid not in self.tests):
            return f"a {kind} for an unknown test {nid!r}", None
        if kind == "start":
            if nid in self.done:
                return f"a second run of {_short(nid)}", nid
            if self.running is not None:
                return f"a start of {_short(nid)} while {_short(self.running)} runs", nid
            self.running, self.started, self.importing = nid, time.monotonic(), None
            self.test_output = Tail(_TEST_OUTPUT_TAIL)
        elif kind == "result":
            return self._result(nid, ev)
        elif kind == "import":
            self.importing = str(ev.get("path")) if ev.get("phase") == "start" else None
        elif kind == "flag":
            target = nid if nid in (self.tests or {}) else self.running
            if target is not None:
                self.flags.setdefault(target, str(ev.get("message"))[:_MESSAGE_LIMIT])
        elif kind == "finish":
            self.finished = True
        elif kind != "restart":
            return f"an unknown event {kind!r}", None
        return None

    def _result(self, nid: str, ev: dict[str, Any]) -> tuple[str, str | None] | None:
        assert self.tests is not None
        if nid in self.done:
            return f"a second result for {_short(nid)}", nid
        if nid != self.running:
            return f"a result for {_short(nid)}, which is not running", nid
        outcome = ev.get("outcome")
        if outcome not in ("passed", "failed"):
            return f"an invalid outcome {outcome!r}", nid
        modules = ev.get("modules")
        rec = self.tests[nid]
        rec.update(
            outcome=outcome, message=str(ev.get("message", ""))[:_MESSAGE_LIMIT],
            duration=float(ev.get("duration") or 0.0),
            modules=[str(m) for m in modules] if isinstance(modules, list) else [],
        )
        if nid in self.flags:
            rec.update(outcome="failed", message=self.flags[nid])
        self._finish(nid)
        self.unconfirmed = nid
        return None

    def _finish(self, nid: str) -> None:
        assert self.tests is not None
        if self.test_output.total and self.tests[nid]["outcome"] != "passed":
            self.tests[nid]["output"] = self.test_output.text()
        self.done.add(nid)
        self.running = None

    def fail(self, nid: str, message: str, **extra: Any) -> None:
        """Give test ``nid`` a final failure (a crash, a kill, tampering)."""
        assert self.tests is not None
        self.tests[nid].update(outcome="failed", message=message, **extra)
        if nid == self.running:
            self._finish(nid)
        self.done.add(nid)

    # ------------------------------------------------------------ one child
    def watch(self, child: Child, deadline: float) -> str:
        """Follow ``child`` until it ends: ``eof``, ``deadline``, ``test timeout``, ``tampered``."""
        exited = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "deadline"
            if self.running is not None and self.kill_after and (
                now - self.started > self.kill_after
            ):
                return "test timeout"
            if child.proc.poll() is not None:
                exited = exited or now
                if now - exited > 2.0:  # a grandchild still holds the pipes
                    return "eof"
            try:
                events = child.poll(min(0.5, deadline - now))
            except StreamError as err:
                self._tamper(str(err), None)
                return "tampered"
            if events is None:
                return "eof"
            for ev in events:
                bad = self.handle(ev)
                if bad is not None:
                    self._tamper(*bad)
                    return "tampered"

    def _tamper(self, reason: str, nid: str | None) -> None:
        for victim in {v for v in (self.running, nid) if v is not None}:
            self.fail(victim, f"report tampered: {reason}", tampered=True)

    def after(self, end: str, code: int, progress: bool, timeout: float) -> str | None:
        """Record how a child ended; the run's status, or ``None`` to start a new child."""
        if self.tests is None:
            if end == "deadline":
                return "timed out"
            return "usage error" if code in _USAGE_CODES else "crashed"
        if end == "deadline":
            if self.running is not None:
                self.fail(self.running, f"timed out: the whole run's limit ({timeout:g} s) "
                                        "ran out during this test")
            return "timed out"
        if self.running is not None:
            nid, how = self.running, describe_exit(code)
            where = self.label(self.importing) if self.importing else None
            if end == "test timeout":
                message = (f"importing {where} did not finish within {self.per_test:g} s"
                           if where else
                           f"Timeout: the test did not stop within {self.per_test:g} s "
                           "(the per-test limit), so the grader killed it")
            elif where:
                message = f"importing {where} crashed: the test process {how}"
            else:
                message = f"crashed: the test process {how} during this test"
            if where:
                self.imports[str(self.importing)] = message
            self.last_crash = nid
            self.fail(nid, message)
            progress = True  # the crashed test has its result: the next child goes further
        elif end == "eof" and self.unconfirmed is not None:
            # The child died between a result and the next test: a forged result followed by
            # an exit looks exactly like this, so that result does not count.
            self.tests[self.unconfirmed].update(
                outcome="failed",
                message=f"crashed right after this test: the test process {describe_exit(code)}"
                " before the next test, so this test's result does not count",
            )
        self.unconfirmed = None
        remaining = [n for n in self.tests if n not in self.done]
        if not remaining:
            return "complete"
        if self.finished or not progress:  # a child that ran nothing would be restarted forever
            why = (f"earlier crash in {_short(self.last_crash)}" if self.last_crash
                   else f"the test process {describe_exit(code)}")
            for nid in remaining:
                self.tests[nid]["message"] = f"not run ({why})"
            return "complete" if self.finished else "crashed"
        return None
