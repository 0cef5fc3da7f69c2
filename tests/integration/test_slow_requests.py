"""Slow requests against the real daemon: the slow log, the hard limit, the accounting.

- Past ``slow_request_timeout`` the worker logs the request once, with the
  Python stack of the code serving it: the app's thread (threads > 0, seen by
  the worker's once-a-second watch) or the blocked event loop (inline, where
  the master, seeing the request run long in the scoreboard, sends SIGUSR2
  and the worker's handler logs the frame it interrupted). The ``slow`` app
  spends its time in functions with telling names (``sleepy_database_call``,
  ``busy_cpu_loop``), so the stack can be checked for the right one.
- Past ``request_terminate_timeout`` (threads > 0) the client gets 504 over
  either protocol and the worker is recycled (a replacement first, then the
  old one drains); requests running alongside, over both protocols, from
  before until after the episode, must all succeed.
- The access log's ``wait_us``, ``app_us`` and ``cpu_us`` against requests
  whose time is known: sleeping (wall, no CPU), burning CPU, and queued
  behind another with one app thread.

Every wait has a deadline; ``graceful_timeout`` and ``timeout`` are explicit.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import served as support
from tests.support.daemon import wait_lines
from tests.support.served import TIMEOUT, Start, pid_of, wait_for

pytestmark = pytest.mark.integration

# A log record starts with its timestamp; the lines that follow (a stack) belong to it.
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)


# --------------------------------------------------------------------------- helpers


class Served(support.Served):
    def __init__(self, daemon_factory: Start, **settings: Any) -> None:
        super().__init__(daemon_factory, **{"graceful_timeout": 5, **settings})

    def records(self, containing: str) -> list[str]:
        """The error-log records (a first line and its stack) that contain ``containing``."""
        log = self.daemon.log()
        starts = [match.start() for match in RECORD_START.finditer(log)] + [len(log)]
        records = [log[a:b] for a, b in zip(starts, starts[1:], strict=False)]
        return [record for record in records if containing in record]


class Background(threading.Thread):
    """``fetch(path)`` in a thread; its (status, body), its duration, or the exception."""

    def __init__(self, fetch: Callable[[str], tuple[int, bytes]], path: str) -> None:
        super().__init__(daemon=True)
        self.fetch, self.path = fetch, path
        self.result: tuple[int, bytes] | None = None
        self.error: BaseException | None = None
        self.took = 0.0

    def run(self) -> None:
        began = time.monotonic()
        try:
            self.result = self.fetch(self.path)
        except BaseException as exc:  # reported by outcome()
            self.error = exc
        self.took = time.monotonic() - began

    def outcome(self, timeout: float) -> tuple[int, bytes]:
        self.join(timeout)
        assert not self.is_alive(), f"{self.path} still running after {timeout} s"
        assert self.error is None and self.result is not None, repr(self.error)
        return self.result


class ClientLoop(threading.Thread):
    """Short requests on fresh connections, one after another, until stopped;
    no retries: every outcome is kept."""

    def __init__(self, fetch: Callable[[str], tuple[int, bytes]], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.fetch = fetch
        self.results: list[tuple[int | str, int | None]] = []  # status or error, pid
        self.halt = threading.Event()

    def run(self) -> None:
        number = 0
        while not self.halt.is_set():
            number += 1
            try:
                status, body = self.fetch(f"/{self.name}/{number}")
            except Exception as exc:
                self.results.append((f"{type(exc).__name__}: {exc}", None))
                continue
            self.results.append((status, pid_of(body) if status == 200 else None))

    def stop(self) -> None:
        self.halt.set()
        self.join(TIMEOUT + 1)
        assert not self.is_alive(), f"{self.name} is stuck"

    def failures(self) -> list[tuple[int | str, int | None]]:
        return [result for result in self.results if result[0] != 200]

    def pids(self) -> set[int | None]:
        return {pid for _, pid in self.results}


# --------------------------------------------------------------------------- 1. the slow log


# The slow requests run 3.2 s against slow_request_timeout = 1: the watch looks
# about once a second, so at least two looks fall past the limit within each
# request's life; a second record would show.
SLOW = 3.2


def slow_entry(served: Served, uri: str) -> str:
    """The one slow-request record for ``uri``, checked for its shape."""
    entries = served.records(f"slow request: GET {uri} from 127.0.0.1, running for ")
    assert len(entries) == 1, f"{len(entries)} slow-request records for {uri}:\n{served.daemon.log()}"
    (entry,) = entries
    running = float(re.search(r"running for ([\d.]+) s \(slow_request_timeout 1 s\)", entry)[1])
    assert 1.0 <= running <= 2.5, entry  # the first look past 1 s: within about a second
    return entry


def test_a_slow_app_thread_is_logged_once_with_its_own_stack(daemon_factory: Start) -> None:
    """threads = 4: two requests past the limit at once (one sleeping, one
    burning CPU), and one under it. One record each for the slow two, each with
    the stack of its own thread; none for the quick one; the worker stays."""
    served = Served(daemon_factory, workers=1, threads=4, slow_request_timeout=1)
    (worker,) = served.daemon.worker_pids(1)
    quick = Background(served.http, "/sleep?seconds=0.5")
    sleeper = Background(served.http, f"/sleep?seconds={SLOW}")
    burner = Background(served.fastcgi, f"/burn?seconds={SLOW}")
    for request in (quick, sleeper, burner):
        request.start()
    for request in (quick, sleeper, burner):
        status, body = request.outcome(10)
        assert status == 200 and pid_of(body) == worker, (request.path, body)
    assert sleeper.took >= SLOW and burner.took >= SLOW, (sleeper.took, burner.took)

    sleeping = slow_entry(served, f"/sleep?seconds={SLOW}")
    assert re.search(r'File ".*tests/apps/slow\.py", line \d+, in sleepy_database_call\n'
                     r"\s+time\.sleep\(seconds\)", sleeping), sleeping  # fmt: skip
    assert "the stack of its thread" in sleeping and "busy_cpu_loop" not in sleeping, sleeping
    burning = slow_entry(served, f"/burn?seconds={SLOW}")
    assert re.search(r"in busy_cpu_loop\n", burning) and "sleepy_database_call" not in burning, burning
    assert served.records("slow request: GET /sleep?seconds=0.5") == [], served.daemon.log()
    assert len(served.records("slow request:")) == 2, served.daemon.log()
    # Only logged: the worker serves on, not recycled.
    assert served.daemon.children() == [worker]
    data = served.status()
    assert sum(data["master"]["worker_exits"].values()) == 0 and data["requests"] == 3, data
    assert served.daemon.stop() == 0


def test_a_slow_inline_app_is_logged_once_with_the_stack_of_the_blocked_loop(daemon_factory: Start) -> None:
    """threads = 0: the app blocks the loop, so the worker cannot look at
    itself; the master's SIGUSR2 makes it log the frame it interrupted. Once:
    the master keeps looking every second while the request runs."""
    served = Served(daemon_factory, workers=1, threads=0, slow_request_timeout=1, timeout=10)
    (worker,) = served.daemon.worker_pids(1)
    status, body = served.http("/sleep?seconds=0.3")
    assert status == 200, body
    began = time.monotonic()
    status, body = served.fastcgi(f"/sleep?seconds={SLOW}", timeout=10)
    took = time.monotonic() - began
    # The SIGUSR2 interrupted the sleep, which went on (PEP 475): the app's answer, on time.
    assert status == 200 and pid_of(body) == worker and SLOW <= took < SLOW + 1, (body, took)

    entry = slow_entry(served, f"/sleep?seconds={SLOW}")
    assert "the event loop's stack (most recent call last)" in entry, entry
    assert re.search(r'File ".*tests/apps/slow\.py", line \d+, in sleepy_database_call\n'
                     r"\s+time\.sleep\(seconds\)", entry), entry  # fmt: skip
    assert served.records("slow request: GET /sleep?seconds=0.3") == [], served.daemon.log()
    # A second slow request is logged too (once per request, not once per worker).
    assert served.http(f"/sleep?seconds={SLOW}", timeout=10)[0] == 200
    assert len(served.records(f"slow request: GET /sleep?seconds={SLOW} from 127.0.0.1")) == 2
    assert served.daemon.children() == [worker]
    assert "killing it" not in served.daemon.log()
    assert served.daemon.stop() == 0


# --------------------------------------------------------------------------- 2. the hard limit


def test_past_request_terminate_timeout_504_and_the_worker_is_recycled(daemon_factory: Start) -> None:
    """threads = 4, one worker, request_terminate_timeout = 2: a request
    sleeping 30 s over HTTP and one over FastCGI both get 504 after about 2 s;
    the worker is replaced and exits as "recycled"; two client loops (one per
    protocol) running from before until the replacement serves see no failure."""
    served = Served(
        daemon_factory, workers=1, threads=4, request_terminate_timeout=2, slow_request_timeout=0,
        graceful_timeout=5,
    )  # fmt: skip
    (old,) = served.daemon.worker_pids(1)
    loops = [ClientLoop(served.http, "http-loop"), ClientLoop(served.fastcgi, "fastcgi-loop")]
    for loop in loops:
        loop.start()
    try:
        assert wait_for(lambda: all(len(loop.results) >= 10 for loop in loops), 5.0), "the loops do not run"
        slow = [Background(served.http, "/sleep?seconds=30"), Background(served.fastcgi, "/sleep?seconds=30")]
        for request in slow:
            request.start()
        answers = [request.outcome(10) for request in slow]
        replaced = wait_for(lambda: (pids := served.daemon.children()) and old not in pids and pids, 10.0)
        assert replaced, f"the old worker {old} is still there: {served.daemon.children()}"
        (new,) = replaced
        assert wait_for(lambda: all(new in loop.pids() for loop in loops), 5.0), "the new worker never served"
    finally:
        for loop in loops:
            loop.stop()

    for request, (status, body) in zip(slow, answers, strict=True):
        assert status == 504, (request.path, status, body)
        assert body == b"The application did not answer in time (request_terminate_timeout)\n", body
        assert 2.0 <= request.took <= 4.0, f"504 after {request.took:.2f} s with request_terminate_timeout 2"
    for loop in loops:
        assert loop.failures() == [], f"{loop.name}: {loop.failures()} of {len(loop.results)}"
        assert {old, new} <= loop.pids(), (loop.name, old, new, loop.pids())
    data = served.status()
    assert [worker["pid"] for worker in data["worker_list"]] == [new], data
    assert data["master"]["worker_exits"] == {
        "recycled": 1, "retired": 0, "timeout": 0, "crashed": 0, "signal": 0, "boot_failed": 0
    }, data  # fmt: skip
    assert data["master"]["generation"] == 1, data
    records = served.records("request_terminate_timeout (2 s): GET /sleep?seconds=30 from 127.0.0.1")
    assert len(records) == 2, served.daemon.log()
    for record in records:
        assert f"[{old}]" in record and "answering 504 and recycling worker 1" in record, record
        assert re.search(r"in sleepy_database_call\n\s+time\.sleep\(seconds\)", record), record
    assert "killing it" not in served.daemon.log()
    assert served.daemon.stop() == 0


# --------------------------------------------------------------------------- 3. accounting


def test_access_log_wait_app_and_cpu_time(daemon_factory: Start, tmp_path: Path) -> None:
    """threads = 1: a sleeping request spends wall time in the app and little
    CPU; a burning one CPU close to its wall time; and one sent while another
    holds the only thread waits for it (wait_us) before its own short app time."""
    log = tmp_path / "access.log"
    served = Served(
        daemon_factory, workers=1, threads=1, access_log=str(log),
        access_log_format="{wait_us} {app_us} {cpu_us} {uri}",
    )  # fmt: skip
    assert served.http("/sleep?seconds=0.3")[0] == 200
    assert served.fastcgi("/burn?seconds=0.3")[0] == 200
    holder = Background(served.http, "/sleep?seconds=0.6")
    holder.start()
    time.sleep(0.1)  # the holder has the thread (the app's time starts at once: it is free)
    queued_at = time.monotonic()
    assert served.http("/queued")[0] == 200
    queued_took = time.monotonic() - queued_at
    assert holder.outcome(5)[0] == 200

    lines = wait_lines(log, 4)
    fields = {
        uri: (int(wait), int(app), int(cpu)) for wait, app, cpu, uri in (line.split() for line in lines)
    }
    assert len(lines) == 4 and len(fields) == 4, lines

    # Lower bounds and CPU-against-wall relations only: on a loaded machine the
    # wall times grow, and timing ceilings belong in bench/, not here.
    wait, app, cpu = fields["/sleep?seconds=0.3"]
    assert 300_000 <= app and cpu < 50_000 and wait <= app, lines[0]
    wait, app, cpu = fields["/burn?seconds=0.3"]
    assert 300_000 <= cpu <= app + 10_000, lines[1]
    wait, app, cpu = fields["/sleep?seconds=0.6"]
    assert 600_000 <= app and cpu < 50_000, lines
    # Queued ~0.5 s behind the holder (the only thread); its own app time is short.
    wait, app, cpu = fields["/queued"]
    assert 300_000 <= wait <= queued_took * 1e6 and app < wait and cpu < 50_000, (lines, queued_took)
    assert served.daemon.stop() == 0
