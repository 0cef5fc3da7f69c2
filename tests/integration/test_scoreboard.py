"""The scoreboard as the status page shows it, against the real daemon.

What an operator reads on ``/fcgigate/status?json&full`` must be true of the
processes it describes, so every number here is checked against something
measured from outside: the pids that answered (the ``slow`` app answers its
pid), the requests the test sent (exactly N, over HTTP and FastCGI), the
children of the master in /proc, and the signals the test sent. The daemon
binds one HTTP and one FastCGI listener; the status page is read over HTTP on
a fresh connection each time (its own connection is counted as accepted,
which the accounting below allows for). Every wait has a deadline, and
``graceful_timeout`` and ``timeout`` are set short and explicit.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import served as support
from tests.support.fcgi import FastCGIClient, default_params
from tests.support.served import TIMEOUT, Start, pid_of, wait_for

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------- helpers


class Served(support.Served):
    def wait_status(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Read the status page until ``predicate`` holds (or ``timeout`` passes); the last read."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.status()
            if predicate(data) or time.monotonic() > deadline:
                return data
            time.sleep(0.1)


def by_pid(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {worker["pid"]: worker for worker in data["worker_list"]}


def exits(data: dict[str, Any]) -> dict[str, int]:
    return data["master"]["worker_exits"]


def send_slow(served: Served, protocol: str, seconds: float) -> Any:
    """Start ``GET /sleep?seconds=S`` without waiting for the answer: the open
    socket (HTTP) or client (FastCGI), to be read by ``read_slow``."""
    uri = f"/sleep?seconds={seconds:g}"
    if protocol == "http":
        sock = socket.create_connection(("127.0.0.1", served.http_port), timeout=seconds + TIMEOUT)
        sock.sendall(f"GET {uri} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        return sock
    client = FastCGIClient(("127.0.0.1", served.fcgi_port), seconds + TIMEOUT)
    client.send_request(default_params("GET", uri))
    return client


def read_slow(pending: Any) -> tuple[int, bytes]:
    """(status, body) of a request started by ``send_slow``."""
    if isinstance(pending, FastCGIClient):
        with pending:
            response = pending.read_response()
        return response.status, response.body
    with pending:
        data = b""
        while chunk := pending.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# --------------------------------------------------------------------------- 1. counters add up


def test_requests_add_up_to_a_bounded_load_over_both_protocols(daemon_factory: Start) -> None:
    """Exactly 60 requests (four clients, two per protocol, 15 each, all on
    fresh connections) against two workers: the totals and the per-worker
    counters say 60, and each worker's count is what its pid answered."""
    served = Served(daemon_factory, workers=2, threads=2)
    assert len(served.daemon.worker_pids(2)) == 2
    # The launcher's readiness probes are connections too: wait until they are
    # counted, i.e. until a status read adds exactly its own connection.
    previous = served.status()
    for _ in range(50):
        before = served.status()
        if before["accepted_connections"] == previous["accepted_connections"] + 1:
            break
        previous = before
    else:
        pytest.fail(f"accepted_connections does not settle: {previous} then {before}")
    reads_before = served.status_reads
    assert before["requests"] == 0, before  # the status page is not the app's request

    per_client, answers, errors = 15, Counter[int](), []
    lock = threading.Lock()

    def client(fetch: Callable[[str], tuple[int, bytes]], name: str) -> None:
        for number in range(per_client):
            try:
                status, body = fetch(f"/load/{name}/{number}")
            except Exception as exc:  # reported below
                errors.append(f"{name} #{number}: {exc!r}")
                continue
            if status != 200:
                errors.append(f"{name} #{number}: {status} {body!r}")
                continue
            with lock:
                answers[pid_of(body)] += 1

    clients = [
        threading.Thread(target=client, args=(fetch, f"{kind}{i}"), daemon=True)
        for kind, fetch in (("http", served.http), ("fastcgi", served.fastcgi))
        for i in range(2)
    ]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(60)
    assert not any(thread.is_alive() for thread in clients), "a load client is stuck"
    total = per_client * len(clients)
    assert errors == [] and sum(answers.values()) == total, (errors, answers)

    # Every connection of the load closed, no request left active (only the
    # status read's own connection is open when the page is rendered).
    after = served.wait_status(lambda d: d["open_connections"] == 1 and d["active_requests"] == 0, 5.0)
    assert after["open_connections"] == 1 and after["active_requests"] == 0, after
    assert after["requests"] == total, after
    workers = by_pid(after)
    assert set(workers) == set(served.daemon.children()), (workers, served.daemon.children())
    assert sum(worker["requests"] for worker in workers.values()) == total, workers
    assert {pid: workers[pid]["requests"] for pid in answers} == dict(answers), (workers, answers)
    assert all(worker["requests"] == 0 for pid, worker in workers.items() if pid not in answers), workers
    # Connections: the 60 of the load and the status reads since ``before``.
    accepted = after["accepted_connections"] - before["accepted_connections"]
    assert accepted == total + served.status_reads - reads_before, (before, after)
    assert sum(worker["accepted"] for worker in workers.values()) == after["accepted_connections"]
    assert after["workers"]["idle"] == 2 and after["total_workers"] == 2, after
    assert all(worker["status"] == "idle" and worker["request"] == "" for worker in workers.values())
    assert served.daemon.stop() == 0


# --------------------------------------------------------------------------- 2. a blocked worker


@pytest.mark.parametrize(
    ("threads", "workers", "protocol"),
    [(4, 1, "http"), (4, 2, "fastcgi"), (0, 2, "http"), (0, 2, "fastcgi")],
    ids=["threads-1-worker-http", "threads-2-workers-fastcgi", "inline-http", "inline-fastcgi"],
)
def test_a_slow_request_shows_busy_with_its_uri_and_a_growing_duration(
    daemon_factory: Start, threads: int, workers: int, protocol: str
) -> None:
    """While the app sleeps, the page (answered by the same worker on its loop
    with threads, by the other one when the app blocks the loop) shows the
    worker busy with that request, and the request's age grows."""
    served = Served(daemon_factory, workers=workers, threads=threads)
    pids = served.daemon.worker_pids(workers)
    assert len(pids) == workers
    pending = send_slow(served, protocol, 3)
    sent_at = time.monotonic()
    try:
        # Not before the request is in: an inline worker that accepted a status
        # connection together with it would answer that one only afterwards.
        time.sleep(0.3)
        first = served.wait_status(lambda d: d["workers"]["busy"] == 1, 2.0)
        first_at = time.monotonic()
        busy = [worker for worker in first["worker_list"] if worker["status"] == "busy"]
        assert len(busy) == 1, first
        (worker,) = busy
        assert worker["request"] == "GET /sleep?seconds=3", worker
        assert (worker["protocol"], worker["client"], worker["active"]) == (protocol, "127.0.0.1", 1), worker
        assert 0.2 <= worker["seconds"] <= first_at - sent_at + 0.1, (worker, first_at - sent_at)
        assert first["active_requests"] == 1 and first["workers"]["idle"] == workers - 1, first
        time.sleep(0.6)
        began = time.monotonic()
        second = served.status()
        # Answered at once: neither by the sleeping app thread nor by a blocked loop.
        assert time.monotonic() - began < 1.0
        again = by_pid(second)[worker["pid"]]
        assert again["status"] == "busy" and again["request"] == worker["request"], again
        grew = again["seconds"] - worker["seconds"]
        assert 0.5 <= grew <= time.monotonic() - first_at + 0.1, (worker, again)
        status, body = read_slow(pending)
    finally:
        pending.close()
    assert status == 200 and pid_of(body) == worker["pid"], body
    after = served.wait_status(lambda d: d["workers"]["busy"] == 0, 3.0)
    done = by_pid(after)[worker["pid"]]
    assert (done["status"], done["request"], done["seconds"], done["requests"]) == ("idle", "", None, 1), done
    assert after["requests"] == 1, after
    assert served.daemon.stop() == 0


def test_a_short_request_that_ends_leaves_the_slow_one_shown(daemon_factory: Start) -> None:
    """threads = 4, one worker: a slow request, then a short one that comes and
    goes. The worker is still busy with the slow one, and the page must say so
    (it is the one an operator needs to see), not name the finished one."""
    served = Served(daemon_factory, workers=1, threads=4)
    pending = send_slow(served, "http", 2.5)
    try:
        # The slow one runs first (waited for, not slept for: a loaded machine is slow to start it).
        started = served.wait_status(lambda d: d["worker_list"][0]["active"] == 1, TIMEOUT)
        assert started["worker_list"][0]["request"] == "GET /sleep?seconds=2.5", started
        time.sleep(0.3)
        status, body = served.http("/short")
        assert status == 200, body
        data = served.status()
        (worker,) = data["worker_list"]
        assert worker["status"] == "busy" and worker["active"] == 1, worker
        assert worker["request"] == "GET /sleep?seconds=2.5", worker
        assert worker["seconds"] >= 0.3, worker
        assert read_slow(pending)[0] == 200
    finally:
        pending.close()


# --------------------------------------------------------------------------- 3. exits by cause


def test_a_killed_worker_counts_as_crashed_by_a_signal_and_its_replacement_is_listed(
    daemon_factory: Start,
) -> None:
    served = Served(daemon_factory, workers=2, threads=1)
    old = set(served.daemon.worker_pids(2))
    start = served.wait_status(lambda d: d["workers"]["idle"] == 2, 5.0)
    assert set(by_pid(start)) == old and len(old) == 2, (start, old)
    assert all(worker["generation"] == 1 for worker in start["worker_list"]), start
    # Requests served by the victim stay in the totals after it is gone.
    answered: Counter[int] = Counter()
    for number in range(30):
        status, body = served.http(f"/before/{number}")
        assert status == 200, body
        answered[pid_of(body)] += 1
    victim = max(answered, key=lambda pid: answered[pid])
    os.kill(victim, signal.SIGKILL)

    def replaced(data: dict[str, Any]) -> bool:
        pids = set(by_pid(data))
        return victim not in pids and len(pids) == 2 and data["workers"]["idle"] == 2

    after = served.wait_status(replaced, 5.0)
    assert replaced(after), after
    pids = set(by_pid(after))
    (new,) = pids - old
    assert pids == {new} | (old - {victim}) and set(served.daemon.children()) == pids, after
    assert exits(after) == {
        "recycled": 0, "retired": 0, "timeout": 0, "crashed": 1, "signal": 1, "boot_failed": 0
    }, after  # fmt: skip
    # Same generation: a respawn is not a reload.
    assert (after["master"]["generation"], after["master"]["reloads"]) == (1, 0), after
    assert by_pid(after)[new]["generation"] == 1 and by_pid(after)[new]["requests"] == 0, after
    assert after["requests"] == 30, after
    # The replacement serves (and is counted).
    assert wait_for(lambda: pid_of(served.http("/after")[1]) == new, 5.0, 0.0), "the replacement never served"
    assert by_pid(served.status())[new]["requests"] >= 1
    assert served.daemon.stop() == 0


def test_a_reload_makes_a_new_generation_and_retires_the_old_one(daemon_factory: Start) -> None:
    served = Served(daemon_factory, workers=2, threads=1)
    old = set(served.daemon.worker_pids(2))
    for number in range(10):
        assert served.http(f"/before/{number}")[0] == 200
    served.daemon.send_signal(signal.SIGHUP)

    def reloaded(data: dict[str, Any]) -> bool:
        workers = data["worker_list"]
        return (
            len(workers) == 2
            and all(worker["generation"] == 2 and worker["status"] == "idle" for worker in workers)
            and exits(data)["retired"] == 2
        )

    after = served.wait_status(reloaded, 10.0)
    assert reloaded(after), after
    assert (after["master"]["generation"], after["master"]["reloads"]) == (2, 1), after
    assert not set(by_pid(after)) & old, (old, after)
    assert set(by_pid(after)) == set(served.daemon.children())
    assert exits(after) == {
        "recycled": 0, "retired": 2, "timeout": 0, "crashed": 0, "signal": 0, "boot_failed": 0
    }, after  # fmt: skip
    assert after["requests"] == 10, after  # the old generation's requests are kept
    assert served.http("/after")[0] == 200
    assert served.status()["requests"] == 11
    assert served.daemon.stop() == 0


def test_a_worker_killed_for_timeout_counts_as_timeout_not_as_crashed(daemon_factory: Start) -> None:
    """An inline app that blocks its loop past ``timeout`` is killed by the
    master: that is the ``timeout`` cause, not a crash nor a stray signal. The
    other worker answers the page meanwhile."""
    served = Served(daemon_factory, workers=2, threads=0, timeout=2, slow_request_timeout=0)
    assert len(served.daemon.worker_pids(2)) == 2
    pending = send_slow(served, "http", 30)
    try:
        time.sleep(0.3)
        busy = served.wait_status(lambda d: d["workers"]["busy"] == 1, 2.0)
        (victim,) = [w["pid"] for w in busy["worker_list"] if w["status"] == "busy"]
        after = served.wait_status(lambda d: victim not in by_pid(d) and d["total_workers"] == 2, 6.0)
    finally:
        pending.close()
    assert victim not in by_pid(after) and after["total_workers"] == 2, after
    assert exits(after) == {
        "recycled": 0, "retired": 0, "timeout": 1, "crashed": 0, "signal": 0, "boot_failed": 0
    }, after  # fmt: skip
    assert served.daemon.stop() == 0
