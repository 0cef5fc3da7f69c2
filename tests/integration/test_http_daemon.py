"""The real daemon's HTTP/1.1 listener, over real sockets.

Every test starts ``python -m fcgigate`` with an ``http://`` (or ``http+unix://``)
bind and talks to it with curl, ``http.client``, wrk, or a raw socket read by the
small response parser below (which shares no code with fcgigate). Wherever a user
must see the same behaviour from both, the daemon runs inline (``threads = 0``)
and with a pool (``threads = 4``).

Most tests serve ``tests.apps.router``: ``/echo/...`` returns the environ as JSON
(with ``REQUEST_URI`` and the body's sha256), ``/stream``, ``/closing``,
``/error``, ``/validated`` and ``/hello`` the other fixture apps.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import selectors
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.apps.stream import expected_bytes
from tests.support.daemon import Daemon, free_port
from tests.support.fcgi import FastCGIClient, default_params
from tests.support.fcgi import parse_address as parse_fastcgi_address

THREADS = [pytest.param(0, id="inline"), pytest.param(4, id="threads4")]
MiB = 1024 * 1024
TIMEOUT = 10.0  # every socket operation of these tests
READY_TIMEOUT = 15.0
ROUTER = "tests.apps.router:app"

Start = Callable[..., Daemon]


# --------------------------------------------------------------------------- daemon helpers


def bind_address(url: str) -> tuple[socket.AddressFamily, Any]:
    """``(family, sockaddr)`` of a bind URL, HTTP ones included."""
    if url.startswith("http+unix://"):
        return socket.AF_UNIX, url[len("http+unix://") :]
    if url.startswith("http://"):
        host, _, port = url[len("http://") :].rstrip("/").rpartition(":")
        if host.startswith("["):
            return socket.AF_INET6, (host[1:-1], int(port))
        return socket.AF_INET, (host, int(port))
    return parse_fastcgi_address(url)


def wait_ready(daemon: Daemon, timeout: float = READY_TIMEOUT) -> Daemon:
    """Wait until every bind of ``daemon`` accepts a connection.

    ``Daemon.wait_ready`` cannot do it for HTTP binds: ``can_connect`` goes
    through ``tests.support.fcgi.parse_address``, which raises ValueError
    ("not a FastCGI address") for ``http://`` and ``http+unix://`` URLs.
    """
    deadline = time.monotonic() + timeout
    waiting = list(daemon.binds)
    while waiting:
        if not daemon.running:
            raise AssertionError(f"the daemon exited before it was ready:\n{daemon.log()}")
        still = []
        for url in waiting:
            family, sockaddr = bind_address(url)
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                try:
                    sock.connect(sockaddr)
                except OSError:
                    still.append(url)
        waiting = still
        if waiting:
            if time.monotonic() > deadline:
                raise AssertionError(f"{waiting} not accepting after {timeout}s:\n{daemon.log()}")
            time.sleep(0.05)
    return daemon


def start_http(
    daemon_factory: Start, app: str = ROUTER, threads: int = 0, bind: str | None = None, **settings: Any
) -> Daemon:
    """A daemon serving ``app`` on ``bind`` (default: a fresh ``http://127.0.0.1`` port)."""
    settings["bind"] = bind or f"http://127.0.0.1:{free_port()}"
    settings["threads"] = threads
    return wait_ready(daemon_factory(settings, app=app, wait=False))


def hostport(daemon: Daemon, index: int = 0) -> tuple[str, int]:
    family, sockaddr = bind_address(daemon.address(index))
    assert family == socket.AF_INET, sockaddr
    return sockaddr


def base_url(daemon: Daemon) -> str:
    host, port = hostport(daemon)
    return f"http://{host}:{port}"


def connect(daemon: Daemon, timeout: float = TIMEOUT, source: str | None = None) -> socket.socket:
    family, sockaddr = bind_address(daemon.address())
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if source is not None:
        sock.bind((source, 0))
    sock.connect(sockaddr)
    return sock


def client(daemon: Daemon, timeout: float = TIMEOUT) -> http.client.HTTPConnection:
    host, port = hostport(daemon)
    return http.client.HTTPConnection(host, port, timeout=timeout)


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket."""

    def __init__(self, path: str, timeout: float = TIMEOUT) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------- a raw HTTP/1.1 response reader


@dataclass
class RawResponse:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    sha256: str = ""
    body_len: int = 0

    def header(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


class RawReader:
    """Reads HTTP/1.1 responses from a socket: status line, headers, and a body
    framed by Content-Length, chunked encoding or the connection's end."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _fill(self) -> None:
        try:
            data = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise EOFError(f"connection closed; {len(self.buf)} bytes buffered: {bytes(self.buf[:200])!r}")
        self.buf += data

    def line(self, limit: int = 1 << 20) -> bytes:
        while True:
            index = self.buf.find(b"\r\n")
            if index >= 0:
                out = bytes(self.buf[:index])
                del self.buf[: index + 2]
                return out
            assert len(self.buf) < limit, "line too long"
            self._fill()

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def some(self, most: int) -> bytes:
        if not self.buf:
            self._fill()
        out = bytes(self.buf[:most])
        del self.buf[: len(out)]
        return out

    def head(self) -> RawResponse:
        status_line = self.line().decode("latin-1")
        match = re.fullmatch(r"(HTTP/1\.[01]) ([0-9]{3}) ?(.*)", status_line)
        assert match, f"bad status line {status_line!r}"
        response = RawResponse(int(match[2]), match[3], match[1])
        while True:
            text = self.line().decode("latin-1")
            if not text:
                return response
            name, colon, value = text.partition(":")
            assert colon and name == name.strip(), f"bad header line {text!r}"
            response.headers.append((name, value.strip(" \t")))

    def response(
        self, method: str = "GET", sink: Callable[[bytes], None] | None = None, keep: bool = True
    ) -> RawResponse:
        """The next final response (1xx responses are returned too: the caller
        decides). ``sink`` gets every body piece; ``keep`` stores the body."""
        response = self.head()
        digest = hashlib.sha256()
        parts: list[bytes] = []

        def take(data: bytes) -> None:
            digest.update(data)
            response.body_len += len(data)
            if keep:
                parts.append(data)
            if sink is not None:
                sink(data)

        no_body = method == "HEAD" or response.status < 200 or response.status in (204, 304)
        te = response.header("Transfer-Encoding")
        length = response.header("Content-Length")
        if no_body:
            pass
        elif te is not None:
            assert te.lower() == "chunked", te
            assert length is None, "both Content-Length and Transfer-Encoding in a response"
            response.chunked = True
            while True:
                size_line = self.line().decode("latin-1")
                size = int(size_line.partition(";")[0].strip(), 16)
                if size == 0:
                    while self.line():  # trailers
                        pass
                    break
                remaining = size
                while remaining:
                    piece = self.some(remaining)
                    remaining -= len(piece)
                    take(piece)
                assert self.exact(2) == b"\r\n", "chunk not followed by CRLF"
        elif length is not None:
            remaining = int(length)
            while remaining:
                piece = self.some(min(remaining, 256 * 1024))
                remaining -= len(piece)
                take(piece)
        else:  # close-delimited
            while True:
                try:
                    take(self.some(256 * 1024))
                except EOFError:
                    break
        response.body = b"".join(parts)
        response.sha256 = digest.hexdigest()
        return response

    def closed(self, timeout: float = 5.0) -> bool:
        """True if the server closes (FIN or RST) within ``timeout``, with no
        bytes arriving first (AssertionError if some do)."""
        if self.eof:
            return True
        assert not self.buf, f"unexpected bytes after the response: {bytes(self.buf[:200])!r}"
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return False
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError:
                    return True
                if not data:
                    self.eof = True
                    return True
                raise AssertionError(f"unexpected bytes after the response: {data[:200]!r}")

    def quiet(self, seconds: float) -> bool:
        """True if nothing arrives (and the connection stays open) for ``seconds``."""
        if self.buf:
            return False
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            return not selector.select(seconds)


def raw_request(
    method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: test.local"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def chunked(data: bytes, size: int) -> bytes:
    out = bytearray()
    for offset in range(0, len(data), size):
        piece = data[offset : offset + size]
        out += b"%x\r\n%b\r\n" % (len(piece), piece)
    return bytes(out) + b"0\r\n\r\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def failed(request: pytest.FixtureRequest) -> bool:
    """True if the test failed (conftest keeps each phase's report on the item)."""
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )


def shared_daemon(
    tmp_path_factory: pytest.TempPathFactory, name: str, threads: int, **settings: Any
) -> Daemon:
    settings.update(bind=f"http://127.0.0.1:{free_port()}", threads=threads)
    daemon = Daemon(tmp_path_factory.mktemp(name), settings, ROUTER)
    daemon.start(wait=False)
    try:
        return wait_ready(daemon)
    except BaseException:
        daemon.kill()
        raise


@contextlib.contextmanager
def log_on_failure(daemon: Daemon, request: pytest.FixtureRequest) -> Iterator[Daemon]:
    start = len(daemon.log())
    yield daemon
    if failed(request):
        print(f"--- {daemon.log_path} (this test's part)\n{daemon.log()[start:]}")


# One daemon per threads mode serves most tests (a daemon start and stop costs
# about half a second); tests that need other settings start their own.


@pytest.fixture(scope="module", params=THREADS)
def router_daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Daemon]:
    daemon = shared_daemon(tmp_path_factory, "router", request.param)
    yield daemon
    daemon.stop()


@pytest.fixture
def router(router_daemon: Daemon, request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """The shared daemon serving tests.apps.router with default settings."""
    with log_on_failure(router_daemon, request) as daemon:
        yield daemon


@pytest.fixture(scope="module", params=THREADS)
def limited_daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Daemon]:
    daemon = shared_daemon(
        tmp_path_factory,
        "limited",
        request.param,
        http_max_request_line=1024,
        http_max_headers=10,
        http_max_header_size="4k",
        max_body_size=1000,
    )
    yield daemon
    daemon.stop()


@pytest.fixture
def limited(limited_daemon: Daemon, request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """A shared daemon with small limits: request target 1024 bytes, 10 header
    fields, 4 KiB of head, 1000 bytes of body."""
    with log_on_failure(limited_daemon, request) as daemon:
        yield daemon


@pytest.fixture(params=THREADS)
def threads(request: pytest.FixtureRequest) -> int:
    return request.param


def threads_of(daemon: Daemon) -> int:
    return int(daemon.settings["threads"])


# --------------------------------------------------------------------------- basics


def test_curl_get(router: Daemon, tmp_path: Path) -> None:
    head_file = tmp_path / "head.txt"
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-D", str(head_file), f"{base_url(router)}/hello/any"],
        capture_output=True,
        timeout=15,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello, World!"
    lines = head_file.read_bytes().decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = {line.partition(":")[0].lower(): line.partition(":")[2].strip() for line in lines[1:] if line}
    assert headers["server"] == "fcgigate"
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", headers["date"])
    assert headers["content-length"] == "13"
    assert headers["content-type"] == "text/plain"


def test_http_client_get_and_post(router: Daemon) -> None:
    conn = client(router)
    try:
        conn.request("GET", "/echo/some/path?x=1&y=a%20b", headers={"X-Custom": "yes"})
        response = conn.getresponse()
        assert response.status == 200
        environ = json.loads(response.read())
        assert environ["REQUEST_METHOD"] == "GET"
        assert environ["PATH_INFO"] == "/echo/some/path"
        assert environ["SCRIPT_NAME"] == ""
        assert environ["QUERY_STRING"] == "x=1&y=a%20b"
        assert environ["REQUEST_URI"] == "/echo/some/path?x=1&y=a%20b"
        assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        assert environ["HTTP_X_CUSTOM"] == "yes"
        assert environ["HTTP_HOST"] == "{}:{}".format(*hostport(router))
        assert environ["REMOTE_ADDR"] == "127.0.0.1"
        assert environ["wsgi.url_scheme"] == "http"
        assert environ["wsgi.multithread"] is bool(threads_of(router))
        assert "CONTENT_LENGTH" not in environ and environ["body_len"] == 0

        body = os.urandom(100_000)
        conn.request("POST", "/echo/upload", body=body, headers={"Content-Type": "application/x-test"})
        response = conn.getresponse()
        assert response.status == 200
        environ = json.loads(response.read())
        assert environ["REQUEST_METHOD"] == "POST"
        assert environ["CONTENT_LENGTH"] == str(len(body))
        assert environ["CONTENT_TYPE"] == "application/x-test"
        assert "HTTP_CONTENT_LENGTH" not in environ and "HTTP_CONTENT_TYPE" not in environ
        assert environ["body_len"] == len(body)
        assert environ["body_sha256"] == sha(body)
    finally:
        conn.close()


def test_keepalive_twenty_requests_on_one_connection(router: Daemon) -> None:
    conn = client(router)
    try:
        first_sock = None
        ports = set()
        for i in range(20):
            if i % 2:
                body = f"body {i}".encode() * 50
                conn.request("POST", f"/echo/{i}", body=body)
            else:
                body = b""
                conn.request("GET", f"/echo/{i}?i={i}")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") is None
            environ = json.loads(response.read())
            assert environ["PATH_INFO"] == f"/echo/{i}"
            assert environ["body_sha256"] == sha(body)
            ports.add(environ["REMOTE_PORT"])
            if first_sock is None:
                first_sock = conn.sock
            assert conn.sock is first_sock, f"http.client reconnected at request {i}"
        assert len(ports) == 1, ports
    finally:
        conn.close()


def test_http10_without_keepalive_is_closed(router: Daemon) -> None:
    with connect(router) as sock:
        sock.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
        reader = RawReader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.body == b"Hello, World!"
        assert response.header("Connection", "").lower() == "close"
        assert reader.closed(5.0)


def test_http10_streamed_response_is_close_delimited(router: Daemon) -> None:
    with connect(router) as sock:
        sock.sendall(b"GET /stream?size=100000&chunk=7000&cl=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        reader = RawReader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.header("Transfer-Encoding") is None  # no chunked encoding for HTTP/1.0
        assert response.header("Connection", "").lower() == "close"
        assert response.body == expected_bytes(100000)


def test_http10_keepalive_stays_open(router: Daemon) -> None:
    with connect(router) as sock:
        reader = RawReader(sock)
        for i in range(3):
            sock.sendall(f"GET /echo/{i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
            response = reader.response()
            assert response.status == 200
            assert response.header("Connection", "").lower() == "keep-alive"
            assert response.header("Content-Length") is not None
            environ = response.json()
            assert environ["PATH_INFO"] == f"/echo/{i}"
            assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
        assert reader.quiet(0.3)


def test_connection_close_from_client_is_honoured(router: Daemon) -> None:
    with connect(router) as sock:
        sock.sendall(raw_request("GET", "/hello", headers={"Connection": "close"}))
        reader = RawReader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.body == b"Hello, World!"
        assert response.header("Connection", "").lower() == "close"
        assert reader.closed(5.0)


def test_requests_pipelined_after_connection_close_are_not_served(router: Daemon) -> None:
    start = len(router.log())
    with connect(router) as sock:
        sock.sendall(
            raw_request("GET", "/hello", headers={"Connection": "close"})
            + raw_request("GET", "/echo/after-close")
        )
        reader = RawReader(sock)
        response = reader.response()
        assert response.status == 200 and response.body == b"Hello, World!"
        assert response.header("Connection", "").lower() == "close"
        assert reader.closed(5.0), "the request after Connection: close was answered"
    time.sleep(0.2)
    log = router.log()[start:]
    assert "Traceback" not in log and "RuntimeError" not in log, log


def test_pipelining_ten_requests_in_one_send(router: Daemon) -> None:
    requests = []
    payload = bytearray()
    for i in range(10):
        if i % 3 == 1:
            body = f"post number {i} ".encode() * (i + 1)
            payload += raw_request("POST", f"/echo/p{i}?n={i}", body, {"Content-Type": "text/plain"})
            requests.append(("POST", f"/echo/p{i}?n={i}", body))
        else:
            payload += raw_request("GET", f"/echo/g{i}?n={i}")
            requests.append(("GET", f"/echo/g{i}?n={i}", b""))
    with connect(router) as sock:
        sock.sendall(bytes(payload))
        reader = RawReader(sock)
        for method, target, body in requests:
            response = reader.response()
            assert response.status == 200, (target, response)
            environ = response.json()
            assert environ["REQUEST_URI"] == target
            assert environ["REQUEST_METHOD"] == method
            assert environ["body_sha256"] == sha(body)
            assert environ["body_len"] == len(body)
        assert reader.quiet(0.3)  # nothing more, and the connection is kept


def test_chunked_upload_5mb(router: Daemon) -> None:
    data = os.urandom(5 * MiB)

    def pieces() -> Iterator[bytes]:
        for offset in range(0, len(data), 100_000):
            yield data[offset : offset + 100_000]

    conn = client(router, timeout=20)
    try:
        conn.request("POST", "/echo/upload", body=pieces(), encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 200
        environ = json.loads(response.read())
    finally:
        conn.close()
    assert environ["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.input_terminated"] is True
    assert environ["body_len"] == len(data)
    assert environ["body_sha256"] == sha(data)


def test_raw_chunked_upload_then_next_request(router: Daemon) -> None:
    data = os.urandom(300_001)
    with connect(router) as sock:
        head = raw_request("POST", "/echo/c", headers={"Transfer-Encoding": "chunked"})
        sock.sendall(head + chunked(data, 4093) + raw_request("GET", "/echo/after"))
        reader = RawReader(sock)
        environ = reader.response().json()
        assert environ["body_sha256"] == sha(data)
        assert "CONTENT_LENGTH" not in environ
        assert reader.response().json()["REQUEST_URI"] == "/echo/after"


def test_streamed_response_20mb_chunked_with_bounded_memory(router: Daemon) -> None:
    size = 20 * MiB
    # A first small request, so that the pool and buffers exist before the baseline.
    with connect(router) as sock:
        sock.sendall(raw_request("GET", "/stream?size=300000&chunk=65536&cl=0"))
        assert RawReader(sock).response().body == expected_bytes(300000)
    baseline = router.rss_kb()
    peak = baseline
    started = time.monotonic()
    with connect(router, timeout=20) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(raw_request("GET", f"/stream?size={size}&chunk=65536&cl=0"))
        # First nothing read for a second: without back-pressure the daemon
        # would buffer the whole 20 MB by then.
        time.sleep(1.0)
        stalled_mb = (router.rss_kb() - baseline) / 1024
        assert stalled_mb < 16, f"RSS grew by {stalled_mb:.1f} MB while the client read nothing"
        seen = 0

        def slow_start(data: bytes) -> None:
            # Then the first 1.5 MB slowly (about 1.5 s), checking the daemon's memory.
            nonlocal seen, peak
            seen += len(data)
            if seen < 1_500_000:
                time.sleep(len(data) / 1_000_000)
                peak = max(peak, router.rss_kb())
            elif seen % (2 * MiB) < len(data):
                peak = max(peak, router.rss_kb())

        response = RawReader(sock).response(sink=slow_start, keep=False)
    elapsed = time.monotonic() - started
    assert response.status == 200
    assert response.chunked
    assert response.header("Content-Length") is None
    assert response.body_len == size
    assert response.sha256 == sha(expected_bytes(size))
    growth_mb = (peak - baseline) / 1024
    assert growth_mb < 64, f"RSS grew by {growth_mb:.1f} MB while streaming 20 MB"
    assert elapsed < 15


def test_head_has_get_headers_and_no_body(router: Daemon) -> None:
    with connect(router) as sock:
        reader = RawReader(sock)
        sock.sendall(raw_request("GET", "/hello"))
        get = reader.response()
        # HEAD on a fixed-length response, then on a streamed one (no
        # Content-Length), then a GET: each parses only if HEAD sent no body.
        sock.sendall(
            raw_request("HEAD", "/hello")
            + raw_request("HEAD", "/stream?size=5000&chunk=1000&cl=0")
            + raw_request("GET", "/echo/after-head")
        )
        head = reader.response("HEAD")
        head_stream = reader.response("HEAD")
        after = reader.response()
    assert get.status == head.status == 200
    for name in ("Content-Type", "Content-Length", "Server"):
        assert head.header(name) == get.header(name), name
    assert head.header("Date") is not None
    assert head.body == b""
    assert head_stream.status == 200
    assert head_stream.header("Content-Length") is None
    assert head_stream.header("Connection") is None  # a HEAD needs no close-delimiting
    assert after.status == 200
    assert after.json()["REQUEST_URI"] == "/echo/after-head"


# --------------------------------------------------------------------------- Expect: 100-continue


def test_expect_continue_with_curl(router: Daemon, tmp_path: Path) -> None:
    data = os.urandom(MiB)
    path = tmp_path / "body.bin"
    path.write_bytes(data)
    started = time.monotonic()
    result = subprocess.run(
        [
            "curl", "-sS", "--max-time", "10", "--data-binary", f"@{path}",
            "-H", "Expect: 100-continue", "-H", "Content-Type: application/octet-stream",
            f"{base_url(router)}/echo/upload",
        ],
        capture_output=True,
        timeout=15,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    environ = json.loads(result.stdout)
    assert environ["HTTP_EXPECT"] == "100-continue"
    assert environ["body_sha256"] == sha(data)
    # curl waits up to 1 s for the 100 before it sends the body anyway.
    assert elapsed < 0.9, f"curl took {elapsed:.2f}s: the 100 Continue came late or never"


def test_expect_continue_raw(router: Daemon) -> None:
    body = os.urandom(50_000)
    with connect(router) as sock:
        reader = RawReader(sock)
        head = raw_request("POST", "/echo/expect", body, {"Expect": "100-continue"})[: -len(body)]
        sock.sendall(head)
        interim = reader.response()
        assert (interim.status, interim.version) == (100, "HTTP/1.1")
        assert reader.quiet(0.2)  # nothing more until the body comes
        sock.sendall(body)
        response = reader.response()
        assert response.status == 200
        assert response.json()["body_sha256"] == sha(body)
        # The connection stays usable, and a request without Expect gets no 100.
        sock.sendall(raw_request("POST", "/echo/plain", b"abc"))
        response = reader.response()
        assert response.status == 200
        assert response.json()["body_sha256"] == sha(b"abc")


def test_expect_continue_to_an_app_that_does_not_read(router: Daemon) -> None:
    """docs/http.md: with threads the 100 is sent when the app first reads
    wsgi.input, and an app that answers without reading gets no 100 and the
    connection is closed after its response; inline, the 100 goes out at once."""
    with connect(router) as sock:
        reader = RawReader(sock)
        head = raw_request("POST", "/hello", headers={"Expect": "100-continue", "Content-Length": "100000"})
        sock.sendall(head)
        response = reader.response()
        if threads_of(router) == 0:
            assert response.status == 100
            sock.sendall(b"x" * 100_000)
            response = reader.response()
            assert response.status == 200 and response.body == b"Hello, World!"
            assert reader.quiet(0.3)
        else:
            assert response.status == 200 and response.body == b"Hello, World!"
            # The server will close (the client may or may not send the body):
            # RFC 9112 9.6 wants it said.
            assert response.header("Connection", "").lower() == "close"
            assert reader.closed(5.0)


# --------------------------------------------------------------------------- limits


def refused(daemon: Daemon, payload: bytes, status: int) -> RawResponse:
    """Send ``payload``; expect ``status`` with Connection: close, then the close."""
    with connect(daemon) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before reading it all; the answer is still there
        reader = RawReader(sock)
        response = reader.response()
        assert response.status == status, response
        assert response.header("Connection", "").lower() == "close"
        assert response.header("Server") == "fcgigate"
        assert reader.closed(5.0), "the connection stayed open after a refusal"
    return response


def still_serving(daemon: Daemon) -> None:
    with connect(daemon) as sock:
        sock.sendall(raw_request("GET", "/hello"))
        assert RawReader(sock).response().body == b"Hello, World!"


def test_request_line_too_long_is_414(limited: Daemon) -> None:
    ok = "/echo/" + "a" * 900
    with connect(limited) as sock:
        sock.sendall(raw_request("GET", ok))
        assert RawReader(sock).response().json()["REQUEST_URI"] == ok
    refused(limited, raw_request("GET", "/echo/" + "a" * 2000), 414)
    still_serving(limited)


def test_too_many_headers_is_431(limited: Daemon) -> None:
    with connect(limited) as sock:  # Host + 9: at the limit
        sock.sendall(raw_request("GET", "/echo/ok", headers={f"X-H{i}": "v" for i in range(9)}))
        assert RawReader(sock).response().status == 200
    refused(limited, raw_request("GET", "/echo/many", headers={f"X-H{i}": "v" for i in range(20)}), 431)
    still_serving(limited)


def test_too_large_head_is_431(limited: Daemon) -> None:
    refused(limited, raw_request("GET", "/echo/big", headers={f"X-B{i}": "b" * 1000 for i in range(8)}), 431)
    # One single header line far past the limit, as well.
    refused(limited, raw_request("GET", "/echo/big", headers={"X-Huge": "h" * 20_000}), 431)
    still_serving(limited)


def test_body_over_max_body_size_is_413(limited: Daemon) -> None:
    with connect(limited) as sock:
        sock.sendall(raw_request("POST", "/echo/ok", b"x" * 1000))
        assert RawReader(sock).response().json()["body_len"] == 1000
    refused(limited, raw_request("POST", "/echo/declared", b"x" * 2000), 413)
    # Declared too large, body not sent at all: refused on the head.
    refused(limited, raw_request("POST", "/echo/declared", headers={"Content-Length": "5000000"}), 413)
    head = raw_request("POST", "/echo/chunked", headers={"Transfer-Encoding": "chunked"})
    refused(limited, head + chunked(b"y" * 3000, 500), 413)
    still_serving(limited)


# --------------------------------------------------------------------------- request smuggling


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param("Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n", id="cl-te"),
        pytest.param("Transfer-Encoding: chunked\r\nContent-Length: {n}\r\n", id="te-cl"),
        pytest.param("Content-Length: 5\r\nContent-Length: {n}\r\n", id="two-cl"),
        pytest.param("Transfer-Encoding: chunked, identity\r\n", id="te-chunked-identity"),
        pytest.param("Transfer-Encoding: gzip\r\n", id="te-gzip"),
        pytest.param("Transfer-Encoding: xchunked\r\n", id="te-xchunked"),
    ],
)
def test_smuggling_is_refused_and_closes(router: Daemon, framing: str, tmp_path: Path) -> None:
    """An ambiguously framed POST carrying a second request in its body: one
    400, the connection closed, and the app runs for neither request. (The
    closing app appends to ``marker`` whenever it ran.) Five tries each, as a
    race between the parser and an app thread would show only sometimes."""
    markers = []
    for attempt in range(5):
        first, second = tmp_path / f"first{attempt}", tmp_path / f"smuggled{attempt}"
        markers += [first, second]
        smuggled = f"GET /closing?chunks=0&marker={second} HTTP/1.1\r\nHost: test.local\r\n\r\n".encode()
        body = b"0\r\n\r\n" + smuggled
        head = (
            f"POST /closing?chunks=0&marker={first} HTTP/1.1\r\nHost: test.local\r\n"
            + framing.format(n=len(body))
            + "\r\n"
        ).encode()
        with connect(router) as sock:
            sock.sendall(head + body)
            reader = RawReader(sock)
            response = reader.response()
            assert response.status == 400, response
            assert response.header("Connection", "").lower() == "close"
            assert reader.closed(5.0), "a second response, or the connection stayed open"
    time.sleep(0.3)
    ran = [marker.name for marker in markers if marker.exists()]
    assert not ran, f"the app ran for refused or smuggled requests: {ran}"


# --------------------------------------------------------------------------- proxy headers


def echo_from(daemon: Daemon, headers: dict[str, str], source: str | None = None) -> dict[str, Any]:
    with connect(daemon, source=source) as sock:
        sock.sendall(raw_request("GET", "/echo/fwd", headers=headers))
        response = RawReader(sock).response()
        assert response.status == 200
        return response.json()


X_FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "example.com",
}
FORWARDED = {"Forwarded": 'for=198.51.100.9;proto=https;host="example.org"'}


def test_proxy_headers_from_a_trusted_peer(router: Daemon) -> None:
    # forwarded_allow_ips is the default there: 127.0.0.1 and ::1
    environ = echo_from(router, X_FORWARDED)
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.com"
    environ = echo_from(router, FORWARDED)
    assert environ["REMOTE_ADDR"] == "198.51.100.9"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.org"
    environ = echo_from(router, {})
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["HTTP_HOST"] == "test.local"


def test_proxy_headers_from_an_untrusted_peer_are_ignored(daemon_factory: Start) -> None:
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError as exc:
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")
    daemon = start_http(daemon_factory, forwarded_allow_ips="127.0.0.1")
    for headers in (X_FORWARDED, FORWARDED):
        environ = echo_from(daemon, headers, source="127.0.0.2")
        assert environ["REMOTE_ADDR"] == "127.0.0.2"
        assert environ["wsgi.url_scheme"] == "http"
        assert environ["HTTP_HOST"] == "test.local"
        assert "HTTPS" not in environ
    environ = echo_from(daemon, X_FORWARDED)  # and still honoured from 127.0.0.1
    assert environ["REMOTE_ADDR"] == "203.0.113.7"


# --------------------------------------------------------------------------- application failures


@pytest.mark.parametrize("when", ["before", "after_start"])
def test_app_exception_is_500_and_connection_survives(router: Daemon, when: str) -> None:
    start = len(router.log())
    conn = client(router)
    try:
        conn.request("GET", f"/error?when={when}")
        response = conn.getresponse()
        body = response.read()
        assert response.status == 500
        assert b"Traceback" not in body and b"FixtureError" not in body
        sock = conn.sock
        conn.request("GET", "/hello")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"Hello, World!"
        assert conn.sock is sock, "the connection was not kept after the 500"
    finally:
        conn.close()
    log = wait_for(lambda: "FixtureError" in (text := router.log()[start:]) and text, 5.0)
    assert log and "Traceback" in log, router.log()[start:]


def test_wsgiref_validator_is_happy(router: Daemon) -> None:
    start = len(router.log())
    conn = client(router)
    try:
        conn.request("GET", "/validated/v?x=1")
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["REQUEST_METHOD"] == "GET"
        body = os.urandom(70_000)
        conn.request("POST", "/validated/v", body=body, headers={"Content-Type": "application/octet-stream"})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["body_sha256"] == sha(body)
    finally:
        conn.close()
    time.sleep(0.1)
    log = router.log()[start:]
    for word in ("AssertionError", "WSGIWarning", "Traceback"):
        assert word not in log, log


# --------------------------------------------------------------------------- listeners


def test_http_and_fastcgi_listeners_in_one_daemon(daemon_factory: Start, threads: int) -> None:
    bind = f"http://127.0.0.1:{free_port()}, fastcgi://127.0.0.1:{free_port()}"
    daemon = start_http(daemon_factory, threads=threads, bind=bind)
    for _ in range(2):  # alternately, each twice
        conn = client(daemon)
        try:
            conn.request("GET", "/echo/over-http")
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Server") == "fcgigate"
            assert json.loads(response.read())["PATH_INFO"] == "/echo/over-http"
        finally:
            conn.close()
        with FastCGIClient(daemon.address(1), TIMEOUT) as fcgi:
            response = fcgi.request(default_params("GET", "/echo/over-fastcgi"))
            assert response.status == 200
            assert response.json()["PATH_INFO"] == "/echo/over-fastcgi"
            assert response.header("Server") is None  # the web server adds its own


def test_http_unix_listener(daemon_factory: Start, threads: int, socket_dir: Path) -> None:
    path = socket_dir / "http.sock"
    daemon = start_http(daemon_factory, threads=threads, bind=f"http+unix://{path}")
    family, sockaddr = bind_address(daemon.address())
    assert (family, sockaddr) == (socket.AF_UNIX, str(path))
    conn = UnixHTTPConnection(sockaddr)
    try:
        for i in range(3):
            body = b"over unix %d" % i
            conn.request("POST", f"/echo/unix/{i}", body=body)
            response = conn.getresponse()
            assert response.status == 200
            environ = json.loads(response.read())
            assert environ["PATH_INFO"] == f"/echo/unix/{i}"
            assert environ["body_sha256"] == sha(body)
    finally:
        conn.close()


# --------------------------------------------------------------------------- client aborts


def test_client_gone_mid_response_closes_the_iterable(router: Daemon, tmp_path: Path) -> None:
    marker = tmp_path / "closed.txt"
    with connect(router) as sock:
        sock.sendall(raw_request("GET", f"/closing?marker={marker}&chunks=200&sleep=0.01"))
        reader = RawReader(sock)
        assert reader.head().status == 200
        reader.exact(100_000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    text = wait_for(lambda: marker.exists() and marker.read_text(), 5.0)
    assert text, "close() was not called on the iterable"
    assert "incomplete" in text, text
    still_serving(router)


# --------------------------------------------------------------------------- load smoke


def test_wrk_smoke(router: Daemon) -> None:
    result = subprocess.run(
        ["wrk", "-t1", "-c10", "-d2s", "--timeout", "2s", f"{base_url(router)}/hello"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Socket errors" not in out, out
    assert "Non-2xx" not in out, out
    match = re.search(r"(\d+) requests in", out)
    assert match and int(match[1]) > 100, out
