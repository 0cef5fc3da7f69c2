"""The HTTP listener under hostile or idle clients: slowloris, many idle
keep-alive connections, stalled bodies, and the connection cap.

Each test starts its own daemon (the settings differ) and drives many sockets
from the test process, every loop bounded in count and in time. The helpers
(bind parsing, readiness, the raw response reader) are those of
``test_http_daemon``.
"""

from __future__ import annotations

import resource
import selectors
import socket
import threading
import time
from collections.abc import Callable

import pytest

from tests.integration.test_http_daemon import THREADS, RawReader, connect, raw_request, start_http
from tests.support.daemon import Daemon

Start = Callable[..., Daemon]


@pytest.fixture(params=THREADS)
def threads(request: pytest.FixtureRequest) -> int:
    return request.param


def timed_get(daemon: Daemon) -> float:
    """One GET /hello on a fresh connection; the seconds it took."""
    started = time.monotonic()
    with connect(daemon, timeout=5.0) as sock:
        sock.sendall(raw_request("GET", "/hello"))
        response = RawReader(sock).response()
    assert response.status == 200 and response.body == b"Hello, World!"
    return time.monotonic() - started


def wait_closed(sock: socket.socket, timeout: float) -> tuple[float | None, bytes]:
    """Read until the server closes (FIN or RST) or ``timeout`` passes:
    (seconds until the close, or None; the bytes that came before it)."""
    started = time.monotonic()
    data = bytearray()
    sock.settimeout(0.2)
    while time.monotonic() - started < timeout:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            return time.monotonic() - started, bytes(data)
        data += chunk
    return None, bytes(data)


def raise_nofile(wanted: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE (the daemon inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# --------------------------------------------------------------------------- slowloris

SLOW_HEAD = b"GET /hello HTTP/1.1\r\nHost: test.local\r\nX-Slow: " + b"s" * 100 + b"\r\n\r\n"


def test_slowloris_does_not_delay_others_and_is_cut_at_header_timeout(
    daemon_factory: Start, threads: int
) -> None:
    header_timeout = 2.0
    count = 100
    daemon = start_http(daemon_factory, threads=threads, header_timeout=header_timeout)
    socks = [connect(daemon, timeout=5.0) for _ in range(count)]
    first_byte: list[float | None] = [None] * count
    closed_at: list[float | None] = [None] * count
    received = [bytearray() for _ in range(count)]
    errors: list[BaseException] = []

    def drive() -> None:
        """Send the head one byte a second to every socket; note when each closes."""
        try:
            with selectors.DefaultSelector() as selector:
                for index, sock in enumerate(socks):
                    sock.setblocking(False)
                    selector.register(sock, selectors.EVENT_READ, index)
                position, next_send = 0, time.monotonic()
                deadline = next_send + header_timeout + 6
                while time.monotonic() < deadline and None in closed_at:
                    now = time.monotonic()
                    if now >= next_send and position < len(SLOW_HEAD):
                        for index, sock in enumerate(socks):
                            if closed_at[index] is not None:
                                continue
                            try:
                                sock.send(SLOW_HEAD[position : position + 1])
                            except OSError:
                                closed_at[index] = now
                                selector.unregister(sock)
                                continue
                            if first_byte[index] is None:
                                first_byte[index] = now
                        position += 1
                        next_send += 1.0
                    wait = min(0.2, max(0.0, next_send - time.monotonic()))
                    for key, _ in selector.select(wait):
                        index = key.data
                        try:
                            data = socks[index].recv(4096)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if data:
                            received[index] += data
                        else:
                            closed_at[index] = time.monotonic()
                            selector.unregister(socks[index])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    driver = threading.Thread(target=drive, name="slowloris", daemon=True)
    try:
        driver.start()
        time.sleep(0.3)  # every slowloris connection has begun its head
        latencies = []
        window_end = time.monotonic() + header_timeout - 0.5
        while time.monotonic() < window_end and len(latencies) < 50:
            latencies.append(timed_get(daemon))
            time.sleep(0.05)
        assert all(at is None for at in closed_at), "slowloris connections closed before header_timeout"
        driver.join(header_timeout + 8)
        assert not driver.is_alive(), "the slowloris driver did not finish"
        assert not errors, errors
    finally:
        for sock in socks:
            sock.close()
    assert len(latencies) >= 5
    assert max(latencies) < 1.0, f"normal requests delayed by slowloris: {latencies}"
    late = []
    for index in range(count):
        assert first_byte[index] is not None
        if closed_at[index] is None:
            late.append((index, None))
            continue
        took = closed_at[index] - first_byte[index]
        if not header_timeout - 0.2 <= took <= header_timeout + 2:
            late.append((index, round(took, 2)))
        data = bytes(received[index])
        assert not data or data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert not late, f"(connection, seconds from first byte to close) outside the timeout: {late[:10]}"
    assert timed_get(daemon) < 1.0


# --------------------------------------------------------------------------- many idle connections


def test_thousand_idle_keepalive_connections(daemon_factory: Start, threads: int) -> None:
    count = 1000
    raise_nofile(count + 500)
    daemon = start_http(daemon_factory, threads=threads, keepalive_timeout=60, max_connections=2000)
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(connect(daemon, timeout=5.0))
        request = raw_request("GET", "/hello")
        for sock in socks:
            sock.sendall(request)
        answers = {sock: bytearray() for sock in socks}
        with selectors.DefaultSelector() as selector:
            for sock in socks:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            pending = len(socks)
            deadline = time.monotonic() + 10
            while pending and time.monotonic() < deadline:
                for key, _ in selector.select(0.5):
                    sock = key.fileobj
                    data = sock.recv(65536)
                    assert data, "the server closed a keep-alive connection"
                    answers[sock] += data
                    if answers[sock].endswith(b"Hello, World!"):
                        selector.unregister(sock)
                        pending -= 1
            assert not pending, f"{pending} of {count} connections got no answer within 10 s"
        for answer in answers.values():
            assert answer.startswith(b"HTTP/1.1 200 "), bytes(answer[:200])
            assert b"connection: close" not in answer.lower()

        # Held open, idle: a new client is still served at once.
        latencies = [timed_get(daemon) for _ in range(10)]
        assert max(latencies) < 1.0, latencies

        # They are all still open (nothing to read, no EOF)...
        for index, sock in enumerate(socks):
            try:
                data = sock.recv(1)
            except BlockingIOError:
                continue
            raise AssertionError(f"connection {index} closed or sent {data!r} while idle")
        # ...and still usable.
        for sock in socks[::100]:
            sock.settimeout(5.0)
            sock.sendall(raw_request("GET", "/hello"))
            assert RawReader(sock).response().body == b"Hello, World!"
    finally:
        for sock in socks:
            sock.close()


# --------------------------------------------------------------------------- keep-alive timeout


def test_keepalive_timeout_closes_an_idle_connection(daemon_factory: Start) -> None:
    daemon = start_http(daemon_factory, keepalive_timeout=1)
    with connect(daemon) as sock:
        sock.sendall(raw_request("GET", "/hello"))
        response = RawReader(sock).response()
        assert response.status == 200 and response.header("Connection") is None
        took, data = wait_closed(sock, 5.0)
    assert data == b""
    assert took is not None, "the idle connection was still open after 5 s"
    assert 0.8 <= took <= 3.0, took


def test_keepalive_timeout_zero_disables_keepalive(daemon_factory: Start) -> None:
    """docs/settings.md: ``keepalive_timeout`` "0 disables keep-alive"."""
    daemon = start_http(daemon_factory, keepalive_timeout=0)
    with connect(daemon) as sock:
        sock.sendall(raw_request("GET", "/hello"))
        response = RawReader(sock).response()
        assert response.status == 200
        assert response.header("Connection", "").lower() == "close"
        took, data = wait_closed(sock, 3.0)
    assert took is not None and took < 0.5 and data == b"", (took, data)


# --------------------------------------------------------------------------- body timeout


def test_stalled_body_is_cut_and_a_slow_one_is_not(daemon_factory: Start, threads: int) -> None:
    """With body_timeout = 1: a body with Content-Length and a chunked one that
    stop arriving are cut after about a second, while a body trickling one byte
    every 0.4 s completes."""
    body_timeout = 1.0
    daemon = start_http(daemon_factory, threads=threads, body_timeout=body_timeout)
    trickle = b"abcdef"
    stalled_cl = connect(daemon)
    stalled_chunked = connect(daemon)
    slow = connect(daemon)
    try:
        stalled_cl.sendall(raw_request("POST", "/echo/cl", headers={"Content-Length": "1000"}) + b"x" * 10)
        chunk_head = raw_request("POST", "/echo/ch", headers={"Transfer-Encoding": "chunked"})
        stalled_chunked.sendall(chunk_head + b"a\r\n01234")
        slow.sendall(raw_request("POST", "/echo/slow", headers={"Content-Length": str(len(trickle))}))
        started = time.monotonic()
        closed: dict[str, float] = {}
        data: dict[str, bytes] = {"cl": b"", "chunked": b""}
        stalled = {"cl": stalled_cl, "chunked": stalled_chunked}
        sent = 0
        with selectors.DefaultSelector() as selector:
            for name, sock in stalled.items():
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, name)
            while time.monotonic() - started < body_timeout + 3:
                if sent < len(trickle) and time.monotonic() - started >= 0.4 * sent:
                    slow.sendall(trickle[sent : sent + 1])
                    sent += 1
                for key, _ in selector.select(0.1):
                    try:
                        chunk = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if chunk:
                        data[key.data] += chunk
                    else:
                        closed[key.data] = time.monotonic() - started
                        selector.unregister(key.fileobj)
                if len(closed) == 2 and sent == len(trickle):
                    break
        for name in stalled:
            assert name in closed, f"the stalled {name} body was not cut within {body_timeout + 3}s"
            assert body_timeout - 0.2 <= closed[name] <= body_timeout + 2, (name, closed[name])
            assert data[name] == b"" or data[name].startswith(b"HTTP/1.1 408 "), data[name][:200]
        response = RawReader(slow).response()
        assert response.status == 200
        assert response.json()["body_len"] == len(trickle)
    finally:
        for sock in (stalled_cl, stalled_chunked, slow):
            sock.close()
    assert timed_get(daemon) < 1.0


# --------------------------------------------------------------------------- max_connections


def test_max_connections_makes_the_next_one_wait(daemon_factory: Start, threads: int) -> None:
    daemon = start_http(daemon_factory, threads=threads, max_connections=5, keepalive_timeout=30)
    # Let the readiness probe's connection be gone for good (see the next test).
    time.sleep(0.3)
    held = [connect(daemon, timeout=5.0) for _ in range(5)]
    sixth = None
    try:
        for sock in held:
            sock.sendall(raw_request("GET", "/hello"))
            assert RawReader(sock).response().status == 200
        sixth = connect(daemon, timeout=5.0)  # the kernel's backlog takes it: not refused
        sixth.sendall(raw_request("GET", "/echo/sixth"))
        reader = RawReader(sixth)
        assert reader.quiet(1.5), "the 6th connection was served while 5 were open"
        held.pop(0).close()
        released = time.monotonic()
        response = reader.response()
        assert time.monotonic() - released < 2.0
        assert response.status == 200
        assert response.json()["REQUEST_URI"] == "/echo/sixth"
        for sock in held:  # the others are still served
            sock.sendall(raw_request("GET", "/hello"))
            assert RawReader(sock).response().status == 200
    finally:
        for sock in held:
            sock.close()
        if sixth is not None:
            sixth.close()


def test_max_connections_slot_of_a_connection_closed_at_once_is_reused(daemon_factory: Start) -> None:
    """A connection that opens and closes at once, then five that stay: all
    five are served, since only five are open (max_connections = 5)."""
    daemon = start_http(daemon_factory, max_connections=5, keepalive_timeout=30)
    time.sleep(0.3)
    held = []
    try:
        with connect(daemon):
            pass
        held = [connect(daemon, timeout=3.0) for _ in range(5)]
        served = 0
        for sock in held:
            sock.sendall(raw_request("GET", "/hello"))
            try:
                served += RawReader(sock).response().status == 200
            except TimeoutError:
                pass
        assert served == 5, f"only {served} of 5 connections served with max_connections = 5"
    finally:
        for sock in held:
            sock.close()
