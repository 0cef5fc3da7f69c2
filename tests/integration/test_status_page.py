"""The status and ping pages of the real daemon, read as their consumers read them.

The worker answers ``status_path`` and ``ping_path`` itself, before the app, on
every listener. What must hold, and why it is tested here rather than in unit
tests of the renderers:

- the numbers add up across processes: under a bounded load of exactly N
  requests, spread over two workers and both protocols, every form (OpenMetrics,
  JSON, text) says N in total, the per-worker counts sum to N and name the
  workers the kernel knows (``/proc``), and the status requests themselves are
  not counted;
- ``?openmetrics`` is read by a real consumer, prometheus_client's OpenMetrics
  parser (it rejects a missing ``# EOF``, a sample that does not fit its family's
  type, a badly escaped label), and has the master's series (start time,
  generation, exits by cause) and one listen-queue series per listener;
- ``status_allow`` is judged on the address the client really has: an HTTP peer
  bound to 127.0.0.2 is refused when only 127.0.0.1 is allowed (even when it
  claims 127.0.0.1 in X-Forwarded-For), FastCGI uses the REMOTE_ADDR the web
  server sends, and a peer on an ``http+unix://`` listener counts as ``unix``;
- an empty ``status_path`` hands the path back to the app;
- with threads, a busy worker names the request still running (not a later
  one that already ended), and its OpenMetrics series keep one label set
  whether it is busy or idle (its state is the ``fcgigate_worker_state`` stateset).

The load is made deterministic with an inline worker (``threads = 0``) blocked in
a slow request: its event loop accepts nothing until the sleep ends, so the
requests that follow are served by the other worker, and both serve some.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.support.daemon import Daemon, free_port
from tests.support.fcgi import FastCGIClient, Response, default_params

pytestmark = pytest.mark.integration

Start = Callable[..., Daemon]
TIMEOUT = 10.0  # every socket operation
STATUS = "/fcgigate/status"
PING = "/fcgigate/ping"
N = 50  # the bounded load: app requests, blocker included
BLOCK_SECONDS = 1.5
EXIT_CAUSES = {"recycled", "retired", "timeout", "crashed", "signal", "boot_failed"}


# --------------------------------------------------------------------------- clients


class HTTPResult:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def http_get(
    port: int,
    path: str,
    source: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPResult:
    """One request on a fresh connection to 127.0.0.1:port, from ``source`` if given."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=TIMEOUT, source_address=(source, 0) if source else None
    )
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return HTTPResult(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def unix_http_get(path: str, target: str, extra: str = "") -> tuple[int, bytes]:
    """GET ``target`` over HTTP/1.1 on the unix socket ``path`` (``extra``: more
    header lines, each ending in CRLF); (status, body), read to EOF."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        head = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n"
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    assert match, data[:200]
    return int(match[1]), body


def fcgi_get(address: str, uri: str, **params: str | None) -> Response:
    with FastCGIClient(address, TIMEOUT) as client:
        return client.request(default_params("GET", uri, **params))


# --------------------------------------------------------------------------- helpers


def start(daemon_factory: Start, app: str = "tests.apps.sleepy:app", **settings: Any) -> Daemon:
    """A 2-worker inline daemon on an HTTP and a FastCGI listener (in that order)."""
    settings.setdefault("bind", f"http://127.0.0.1:{free_port()}, fastcgi://127.0.0.1:{free_port()}")
    settings.setdefault("workers", 2)
    settings.setdefault("threads", 0)
    return daemon_factory(settings, app=app)


def port_of(daemon: Daemon, index: int = 0) -> int:
    return int(daemon.address(index).rpartition(":")[2])


def status_json(port: int, query: str = "json&full") -> dict[str, Any]:
    result = http_get(port, f"{STATUS}?{query}")
    assert result.status == 200, result.body
    return json.loads(result.body)


def wait_status(port: int, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict:
    """Poll ``?json&full`` until ``predicate`` holds; the last answer (the caller asserts)."""
    deadline = time.monotonic() + timeout
    while True:
        data = status_json(port)
        if predicate(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def settled(daemon: Daemon, port: int) -> dict[str, Any]:
    """Both workers idle in the scoreboard and every listener sampled by the master."""
    data = wait_status(
        port,
        lambda d: (
            d["workers"]["idle"] == 2 and d["total_workers"] == 2 and len(d["listeners"]) == len(daemon.binds)
        ),
    )
    assert data["workers"]["idle"] == 2 and data["total_workers"] == 2, data
    assert len(data["listeners"]) == len(daemon.binds), data
    return data


def serve_exactly(daemon: Daemon, n: int, marker: Path) -> int:
    """Exactly ``n`` app requests, over HTTP and FastCGI, on both workers.

    The first blocks its (inline) worker for BLOCK_SECONDS. Once it has started
    (``marker`` written by the app: no connection is made before, which the
    worker about to block might accept along with it and hold), the scoreboard
    must show it busy, and the other n - 1 go alternately over HTTP and FastCGI,
    accepted by the other worker. Returns the pid of the blocked worker.
    """
    http_port, fcgi_address = port_of(daemon, 0), daemon.address(1)
    target = f"/?seconds={BLOCK_SECONDS}&marker={quote(str(marker))}"
    outcome: list[Any] = []

    def block() -> None:
        try:
            result = http_get(http_port, target)
            outcome.append((result.status, result.body))
        except Exception as exc:  # reported by the assertion below
            outcome.append(exc)

    blocker = threading.Thread(target=block, name="blocker", daemon=True)
    blocker.start()
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), f"the blocking request never started: {outcome}"
    data = status_json(http_port)
    busy = [w for w in data["worker_list"] if w["status"] == "busy"]
    assert data["workers"]["busy"] == 1 and len(busy) == 1, data
    assert busy[0]["request"] == f"GET {target}" and busy[0]["protocol"] == "http", busy
    for i in range(n - 1):
        if i % 2:
            response = fcgi_get(fcgi_address, "/?seconds=0")
            assert (response.status, response.body) == (200, b"slept 0.0"), response
        else:
            result = http_get(http_port, "/?seconds=0")
            assert (result.status, result.body) == (200, b"slept 0.0"), result.body
    blocker.join(BLOCK_SECONDS + TIMEOUT)
    assert outcome == [(200, f"slept {BLOCK_SECONDS}".encode())], outcome
    return busy[0]["pid"]


def worker_requests(data: dict[str, Any]) -> dict[int, int]:
    return {w["pid"]: w["requests"] for w in data["worker_list"]}


# --------------------------------------------------------------------------- 1. OpenMetrics


def test_openmetrics_parses_and_adds_up_to_exactly_n(daemon_factory: Start, tmp_path: Path) -> None:
    daemon = start(daemon_factory)
    http_port = port_of(daemon)
    settled(daemon, http_port)
    workers = daemon.worker_pids(2)
    assert len(workers) == 2, workers
    started = time.time()
    blocked = serve_exactly(daemon, N, tmp_path / "started")
    assert blocked in workers

    result = http_get(http_port, f"{STATUS}?openmetrics")
    assert result.status == 200, result.body
    assert result.headers["content-type"].startswith("application/openmetrics-text"), result.headers
    families = {family.name: family for family in text_string_to_metric_families(result.body.decode())}

    expected_types = {
        "fcgigate": "info",
        "fcgigate_start_time_seconds": "gauge",
        "fcgigate_generation": "gauge",
        "fcgigate_reloads": "counter",
        "fcgigate_worker_exits": "counter",
        "fcgigate_workers": "gauge",
        "fcgigate_requests": "counter",
        "fcgigate_accepted_connections": "counter",
        "fcgigate_listen_queue": "gauge",
        "fcgigate_listen_queue_max": "gauge",
        "fcgigate_listen_queue_limit": "gauge",
        "fcgigate_worker_requests": "counter",
        "fcgigate_worker_accepted_connections": "counter",
        "fcgigate_worker_open_connections": "gauge",
        "fcgigate_worker_active_requests": "gauge",
        "fcgigate_worker_cpu_seconds": "counter",
        "fcgigate_worker_resident_memory_bytes": "gauge",
        "fcgigate_worker_start_time_seconds": "gauge",
        "fcgigate_worker_state": "stateset",
    }
    assert {name: families[name].type for name in expected_types if name in families} == expected_types
    for family in families.values():
        assert family.documentation, f"{family.name} has no HELP"

    def samples(name: str) -> list[Any]:
        return families[name].samples

    def value(name: str) -> float:
        (sample,) = samples(name)
        return sample.value

    # The info family, and the master's series.
    (info,) = samples("fcgigate")
    assert info.name == "fcgigate_info" and info.labels["app"] == "tests.apps.sleepy:app", info
    assert started - 60 < value("fcgigate_start_time_seconds") <= time.time(), value(
        "fcgigate_start_time_seconds"
    )
    assert value("fcgigate_generation") == 1
    assert [s.name for s in samples("fcgigate_reloads")] == ["fcgigate_reloads_total"]
    assert value("fcgigate_reloads") == 0
    exits = {s.labels["cause"]: s.value for s in samples("fcgigate_worker_exits")}
    assert exits == dict.fromkeys(EXIT_CAUSES, 0), exits
    states = {s.labels["state"]: s.value for s in samples("fcgigate_workers")}
    assert states["idle"] == 2 and states["busy"] == 0 and sum(states.values()) == 2, states

    # Exactly N: the status requests made while waiting are not among them.
    (total,) = samples("fcgigate_requests")
    assert total.name == "fcgigate_requests_total" and total.value == N, total
    per_worker = {int(s.labels["pid"]): s.value for s in samples("fcgigate_worker_requests")}
    assert sorted(per_worker) == workers, (per_worker, workers)
    assert sum(per_worker.values()) == N and all(per_worker.values()), per_worker
    assert per_worker[blocked] >= 1
    for name in ("fcgigate_worker_requests", "fcgigate_worker_accepted_connections",
                 "fcgigate_worker_cpu_seconds"):  # fmt: skip
        assert {s.name for s in samples(name)} == {f"{name}_total"}, samples(name)
    for name in ("fcgigate_worker_open_connections", "fcgigate_worker_active_requests",
                 "fcgigate_worker_resident_memory_bytes", "fcgigate_worker_start_time_seconds"):  # fmt: skip
        assert sorted(int(s.labels["pid"]) for s in samples(name)) == workers, samples(name)
    assert all(s.value > 0 for s in samples("fcgigate_worker_resident_memory_bytes"))
    assert all(s.value == 0 for s in samples("fcgigate_worker_active_requests"))
    # Each worker's state, as a stateset: exactly one state set, idle here.
    set_states = {
        (int(s.labels["pid"]), s.labels["fcgigate_worker_state"])
        for s in samples("fcgigate_worker_state")
        if s.value == 1
    }
    assert set_states == {(pid, "idle") for pid in workers}, set_states
    # Every app request came on its own connection, and so did every status request.
    accepted = value("fcgigate_accepted_connections")
    assert accepted >= N, accepted
    assert sum(s.value for s in samples("fcgigate_worker_accepted_connections")) == accepted

    # One listen-queue series per listener, labelled with its URL.
    for name in ("fcgigate_listen_queue", "fcgigate_listen_queue_max", "fcgigate_listen_queue_limit"):
        by_listener = {s.labels["listener"]: s.value for s in samples(name)}
        assert sorted(by_listener) == sorted(daemon.binds), (name, by_listener)
    limits = {s.labels["listener"]: s.value for s in samples("fcgigate_listen_queue_limit")}
    queues = {s.labels["listener"]: s.value for s in samples("fcgigate_listen_queue")}
    assert all(limit > 0 for limit in limits.values()), limits
    assert all(0 <= queues[url] <= limits[url] for url in queues), (queues, limits)


# --------------------------------------------------------------------------- 2. JSON and text


def text_fields(body: bytes) -> dict[str, str]:
    """The "name:  value" lines of the text page (up to the blank line before the table);
    a name may hold colons itself (``listen queue http://127.0.0.1:8000``)."""
    head = body.decode().partition("\n\n")[0]
    fields = {}
    for line in head.splitlines():
        match = re.fullmatch(r"(.+?):\s+(.*)", line)
        assert match, line
        fields[match[1]] = match[2]
    return fields


def test_json_and_text_say_the_same_n_and_full_lists_both_workers(
    daemon_factory: Start, tmp_path: Path
) -> None:
    daemon = start(daemon_factory)
    http_port, fcgi_address = port_of(daemon), daemon.address(1)
    settled(daemon, http_port)
    workers = daemon.worker_pids(2)
    serve_exactly(daemon, N, tmp_path / "started")

    # JSON, short and full, over both protocols.
    short = status_json(http_port, "json")
    assert "worker_list" not in short, short
    assert short["requests"] == N and short["total_workers"] == 2, short
    assert short["workers"]["idle"] == 2 and short["workers"]["busy"] == 0, short
    assert short["master"]["pid"] == daemon.pid and short["master"]["generation"] == 1, short
    assert short["master"]["worker_exits"] == dict.fromkeys(EXIT_CAUSES, 0), short
    assert sorted(item["url"] for item in short["listeners"]) == sorted(daemon.binds), short
    response = fcgi_get(fcgi_address, f"{STATUS}?json&full")
    assert response.status == 200 and response.header("Content-Type") == "application/json", response
    full = response.json()
    assert full["requests"] == N, full
    counts = worker_requests(full)
    assert sorted(counts) == workers and sum(counts.values()) == N and all(counts.values()), counts
    assert {w["status"] for w in full["worker_list"]} == {"idle"}, full["worker_list"]

    # Text: the default form.
    result = http_get(http_port, STATUS)
    assert result.status == 200 and result.headers["content-type"].startswith("text/plain"), result.headers
    fields = text_fields(result.body)
    assert fields["requests"] == str(N), result.body.decode()
    assert fields["busy workers"] == "0" and fields["idle workers"] == "2", result.body.decode()
    assert fields["total workers"] == "2" and fields["master pid"] == str(daemon.pid), result.body.decode()
    assert fields["worker exits"].startswith("recycled 0"), result.body.decode()
    for url in daemon.binds:
        assert f"listen queue {url}" in fields, result.body.decode()
    assert "\n\n" not in result.body.decode().rstrip("\n"), "no table without ?full"

    # Text with ?full, over FastCGI: a header row and one row per worker.
    response = fcgi_get(fcgi_address, f"{STATUS}?full")
    assert response.status == 200, response
    assert text_fields(response.body)["requests"] == str(N), response.text
    table = response.text.partition("\n\n")[2].splitlines()
    assert table[0].split()[:4] == ["slot", "pid", "gen", "state"], table
    rows = {int(line.split()[1]): line.split() for line in table[1:]}
    assert sorted(rows) == workers, table
    assert {pid: int(row[4]) for pid, row in rows.items()} == counts, table

    # Still N: none of the status requests above counted.
    assert status_json(http_port, "json")["requests"] == N


def test_ping_answers_pong_on_both_protocols_without_counting(daemon_factory: Start) -> None:
    daemon = start(daemon_factory)
    http_port = port_of(daemon)
    settled(daemon, http_port)
    result = http_get(http_port, PING)
    assert (result.status, result.body) == (200, b"pong\n")
    assert result.headers.get("cache-control") == "no-store", result.headers
    response = fcgi_get(daemon.address(1), PING)
    assert (response.status, response.body) == (200, b"pong\n"), response
    # A query string does not hide the page; the app sees the other paths.
    assert http_get(http_port, f"{PING}?x=1").body == b"pong\n"
    assert http_get(http_port, f"{PING}x?seconds=0").body == b"slept 0.0"
    assert http_get(http_port, f"{PING}/?seconds=0").body == b"slept 0.0"
    assert status_json(http_port, "json")["requests"] == 2  # only the two the app answered


# --------------------------------------------------------------------------- 3. access


def test_http_peer_outside_status_allow_gets_403(daemon_factory: Start) -> None:
    daemon = start(daemon_factory, "tests.apps.hello:app", status_allow="127.0.0.1")
    port = port_of(daemon)
    for path in (STATUS, f"{STATUS}?openmetrics", f"{STATUS}?html", PING):
        refused = http_get(port, path, source="127.0.0.2")
        assert refused.status == 403, (path, refused.status, refused.body)
        assert b"status_allow" in refused.body and b"fcgigate_" not in refused.body, refused.body
        allowed = http_get(port, path, source="127.0.0.1")
        assert allowed.status == 200, (path, allowed.status, allowed.body)
    # 127.0.0.2 is not a trusted proxy: a forwarded 127.0.0.1 does not open the page.
    spoofed = http_get(port, STATUS, source="127.0.0.2",
                       headers={"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"})  # fmt: skip
    assert spoofed.status == 403, spoofed.body
    # A trusted proxy (127.0.0.1) speaking for an outside client: refused too.
    proxied = http_get(port, STATUS, source="127.0.0.1", headers={"X-Forwarded-For": "10.1.2.3"})
    assert proxied.status == 403, proxied.body
    # Only the pages are guarded: the app answers 127.0.0.2.
    other = http_get(port, "/anything", source="127.0.0.2")
    assert (other.status, other.body) == (200, b"Hello, World!")


def test_status_allow_takes_networks(daemon_factory: Start) -> None:
    daemon = start(daemon_factory, "tests.apps.hello:app", status_allow="127.0.0.0/30")
    port = port_of(daemon)
    assert http_get(port, STATUS, source="127.0.0.2").status == 200
    assert http_get(port, PING, source="127.0.0.3").status == 200
    assert http_get(port, PING, source="127.0.0.4").status == 403


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [
        pytest.param("127.0.0.1", 200, id="allowed"),
        pytest.param("::ffff:127.0.0.1", 200, id="v4-mapped"),
        pytest.param("10.1.2.3", 403, id="outside"),
        pytest.param("::1", 403, id="v6-loopback-not-listed"),
        pytest.param("not-an-address", 403, id="garbage"),
        pytest.param(None, 403, id="no-remote-addr-is-unix"),
    ],
)
def test_fastcgi_is_judged_by_remote_addr(
    daemon_factory: Start, remote_addr: str | None, expected: int
) -> None:
    daemon = start(daemon_factory, "tests.apps.hello:app", status_allow="127.0.0.1", workers=1)
    for path in (f"{STATUS}?json", PING):
        response = fcgi_get(daemon.address(1), path, REMOTE_ADDR=remote_addr)
        assert response.status == expected, (path, remote_addr, response)


def test_fastcgi_without_remote_addr_counts_as_unix(daemon_factory: Start) -> None:
    daemon = start(daemon_factory, "tests.apps.hello:app", status_allow="10.0.0.0/8, unix", workers=1)
    assert fcgi_get(daemon.address(1), PING, REMOTE_ADDR=None).status == 200
    assert fcgi_get(daemon.address(1), PING, REMOTE_ADDR="10.9.9.9").status == 200
    assert fcgi_get(daemon.address(1), PING, REMOTE_ADDR="127.0.0.1").status == 403


@pytest.mark.parametrize(
    ("allow", "expected"),
    [pytest.param("127.0.0.1, unix", 200, id="unix-allowed"), pytest.param("127.0.0.1", 403, id="unix-not")],
)
def test_unix_socket_peer_is_unix(daemon_factory: Start, socket_dir, allow: str, expected: int) -> None:
    path = socket_dir / "http.sock"
    http_port = free_port()
    daemon = start(daemon_factory, "tests.apps.hello:app", status_allow=allow, workers=1,
                   bind=f"http+unix://{path}, http://127.0.0.1:{http_port}")  # fmt: skip
    for target in (STATUS, f"{STATUS}?json", PING):
        status, body = unix_http_get(str(path), target)
        assert status == expected, (target, status, body)
    status, body = unix_http_get(str(path), "/")
    assert (status, body) == (200, b"Hello, World!")
    # The TCP listener beside it is judged by its peer address as usual.
    assert http_get(http_port, PING, source="127.0.0.1").status == 200
    assert http_get(http_port, PING, source="127.0.0.2").status == 403
    assert daemon.running


def test_a_unix_peer_that_forwards_an_address_is_judged_by_it(daemon_factory: Start, socket_dir) -> None:
    """A unix peer is a trusted proxy: the client it names is the one judged
    (like a TCP proxy in forwarded_allow_ips); without one, it is `unix`."""
    path = socket_dir / "http.sock"
    start(daemon_factory, "tests.apps.hello:app", status_allow="127.0.0.1", workers=1,
          bind=f"http+unix://{path}")  # fmt: skip
    assert unix_http_get(str(path), PING)[0] == 403
    assert unix_http_get(str(path), PING, "X-Forwarded-For: 127.0.0.1\r\n")[0] == 200
    assert unix_http_get(str(path), PING, "X-Forwarded-For: ::1\r\n")[0] == 403
    assert unix_http_get(str(path), PING, 'Forwarded: for="[::1]"\r\n')[0] == 403
    assert unix_http_get(str(path), PING, "X-Forwarded-For: 10.9.8.7\r\n")[0] == 403
    # An absolute-form request target (RFC 9112 3.2.2) reaches the page too.
    assert unix_http_get(str(path), f"http://localhost{PING}", "X-Forwarded-For: 127.0.0.1\r\n") == (
        200, b"pong\n",
    )  # fmt: skip


def test_empty_status_path_hands_the_path_to_the_app(daemon_factory: Start) -> None:
    daemon = start(daemon_factory, "tests.apps.hello:app", status_path="", ping_path="/health", workers=1)
    port = port_of(daemon)
    for path in (STATUS, f"{STATUS}?json", PING):
        result = http_get(port, path)
        assert (result.status, result.body) == (200, b"Hello, World!"), path
        response = fcgi_get(daemon.address(1), path)
        assert (response.status, response.body) == (200, b"Hello, World!"), (path, response)
    assert http_get(port, "/health").body == b"pong\n"
    assert fcgi_get(daemon.address(1), "/health").body == b"pong\n"


# --------------------------------------------------------------------------- 4. a worker with threads


def test_busy_threaded_worker_names_the_request_still_running(daemon_factory: Start, tmp_path: Path) -> None:
    daemon = start(daemon_factory, workers=1, threads=2)
    port = port_of(daemon)
    marker = tmp_path / "started"
    slow = f"/?seconds=2&marker={quote(str(marker))}"
    blocker = threading.Thread(target=http_get, args=(port, slow), name="slow", daemon=True)
    blocker.start()
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), "the slow request never started"
    began = time.monotonic()
    # A quick request on the same worker (its other thread) starts and ends meanwhile.
    assert http_get(port, "/?seconds=0").body == b"slept 0.0"
    (worker,) = status_json(port)["worker_list"]
    assert worker["status"] == "busy" and worker["active"] == 1, worker
    assert worker["request"] == f"GET {slow}", worker
    assert worker["seconds"] >= time.monotonic() - began, worker
    blocker.join(2 + TIMEOUT)


def worker_series(port: int, family: str) -> dict[int, dict[str, str]]:
    """{pid: labels} of a per-worker OpenMetrics family."""
    body = http_get(port, f"{STATUS}?openmetrics").body.decode()
    (found,) = [f for f in text_string_to_metric_families(body) if f.name == family]
    return {int(s.labels["pid"]): s.labels for s in found.samples}


def test_a_workers_series_keep_their_labels_when_it_turns_busy(daemon_factory: Start, tmp_path: Path) -> None:
    daemon = start(daemon_factory, workers=1, threads=2)
    port = port_of(daemon)
    idle = worker_series(port, "fcgigate_worker_requests")
    marker = tmp_path / "started"
    blocker = threading.Thread(target=http_get, args=(port, f"/?seconds=1&marker={quote(str(marker))}"),
                               name="slow", daemon=True)  # fmt: skip
    blocker.start()
    deadline = time.monotonic() + TIMEOUT
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), "the slow request never started"
    busy = worker_series(port, "fcgigate_worker_requests")
    blocker.join(1 + TIMEOUT)
    assert list(idle) == list(busy) == daemon.worker_pids(1), (idle, busy)
    # A counter's identity is its label set: a scraper must see one series per worker.
    assert idle == busy, (idle, busy)
