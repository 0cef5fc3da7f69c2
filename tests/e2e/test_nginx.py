"""Real nginx (the Debian package) in front of the real daemon.

Every test runs over the four ways nginx reaches an upstream: TCP or a unix
socket, each with and without ``fastcgi_keep_conn on`` + upstream
``keepalive``. One daemon (``threads = 4``, the router fixture app) and one
nginx serve each of the four, for the whole module.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.apps.stream import expected_bytes
from tests.support.daemon import Daemon, short_socket_dir
from tests.support.nginx import Nginx

pytestmark = pytest.mark.e2e

MB = 1024 * 1024


@pytest.fixture(
    scope="module",
    params=[("tcp", False), ("tcp", True), ("unix", False), ("unix", True)],
    ids=["tcp", "tcp-keepconn", "unix", "unix-keepconn"],
)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    transport, keep_conn = request.param
    tmp = tmp_path_factory.mktemp(f"nginx-{transport}-{keep_conn}")
    sockdir = Path(short_socket_dir())
    bind = f"fastcgi+unix://{sockdir}/fcgi.sock" if transport == "unix" else None
    settings: dict[str, Any] = {"threads": 4, "socket_mode": "0666"}
    if bind:
        settings["bind"] = bind
    daemon = Daemon(tmp / "daemon", settings, "tests.apps.router:app").start()
    nginx = Nginx(tmp / "nginx", daemon.address(), keep_conn=keep_conn).start()
    yield daemon, nginx
    nginx.stop()
    daemon.stop()


def test_get_with_query_string_and_headers(stack: Any) -> None:
    daemon, nginx = stack
    r = nginx.request(
        "GET", "/echo/some/path?x=1&y=%20z", headers={"X-Custom": "hello world", "Cookie": "a=1"}
    )
    assert r.status == 200, r.body
    env = r.json()
    assert env["REQUEST_METHOD"] == "GET"
    assert env["QUERY_STRING"] == "x=1&y=%20z"
    # nginx sends the whole path as SCRIPT_NAME and no PATH_INFO; the app must still route.
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/echo/some/path")
    assert env["HTTP_X_CUSTOM"] == "hello world" and env["HTTP_COOKIE"] == "a=1"
    assert env["wsgi.url_scheme"] == "http" and env["SERVER_NAME"] == "localhost"


def test_post_5mb_body_returns_its_checksum(stack: Any) -> None:
    _, nginx = stack
    body = os.urandom(5 * MB)
    r = nginx.request("POST", "/echo/upload", body=body, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200
    assert r.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert r.json()["body_len"] == len(body)


def test_20mb_streamed_response_with_bounded_memory(stack: Any) -> None:
    daemon, nginx = stack
    size = 20 * MB
    before = daemon.rss_kb()
    conn = nginx.connection()
    try:
        conn.request("GET", f"/stream?size={size}&chunk=65536")
        response = conn.getresponse()
        digest = hashlib.sha256()
        received = 0
        while chunk := response.read(256 * 1024):
            digest.update(chunk)
            received += len(chunk)
    finally:
        conn.close()
    assert response.status == 200 and received == size
    assert digest.hexdigest() == hashlib.sha256(expected_bytes(size)).hexdigest()
    grown_mb = (daemon.rss_kb() - before) / 1024
    assert grown_mb < 64, f"the daemon grew by {grown_mb:.1f} MB while streaming 20 MB"


def test_1000_sequential_requests_over_kept_connections(stack: Any) -> None:
    daemon, nginx = stack
    conn = nginx.connection()
    statuses = []
    try:
        for i in range(1000):
            conn.request("GET", f"/hello?i={i}")
            response = conn.getresponse()
            body = response.read()
            statuses.append((response.status, body))
    finally:
        conn.close()
    assert len(statuses) == 1000
    assert {status for status, _ in statuses} == {200} and {body for _, body in statuses} == {
        b"Hello, World!"
    }
    assert "Traceback" not in daemon.log()


def test_app_stderr_reaches_nginx_error_log(stack: Any) -> None:
    _, nginx = stack
    marker = f"stderr-marker-{time.monotonic_ns()}"
    r = nginx.request("GET", f"/stderr?msg={marker}")
    assert r.status == 200
    deadline = time.monotonic() + 5
    while marker not in nginx.error_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "FastCGI sent in stderr" in nginx.error_log() and marker in nginx.error_log()


def test_client_disconnect_mid_response_closes_the_iterable(stack: Any, tmp_path: Path) -> None:
    daemon, nginx = stack
    marker = tmp_path / "closed.txt"
    sock = socket.create_connection(("127.0.0.1", nginx.port), timeout=10)
    sock.sendall(f"GET /closing?marker={marker}&chunks=400&sleep=0.01 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "close() was not called on the response iterable"
    assert marker.read_text().split()[2] == "incomplete"
    # and the daemon still serves
    assert nginx.request("GET", "/hello").status == 200


def test_validator_wrapped_app_raises_nothing(stack: Any) -> None:
    daemon, nginx = stack
    assert nginx.request("GET", "/validated/x?q=1").status == 200
    body = b"field=value&other=1"
    r = nginx.request("POST", "/validated/form", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status == 200 and r.json()["body_len"] == len(body)
    log = daemon.log()
    assert "AssertionError" not in log and "WSGIWarning" not in log and "Traceback" not in log


def test_chunked_upload_without_request_buffering(tmp_path: Path) -> None:
    """nginx with ``fastcgi_request_buffering off`` streams a chunked body with an
    empty CONTENT_LENGTH; the end of STDIN is the end of the body."""
    daemon = Daemon(tmp_path / "d", {"threads": 2}, "tests.apps.router:app").start()
    nginx = Nginx(tmp_path / "n", daemon.address(), request_buffering=False).start()
    try:
        parts = [os.urandom(100_000) for _ in range(10)]
        conn = nginx.connection()
        conn.request("POST", "/echo/chunked", body=iter(parts), headers={"Transfer-Encoding": "chunked"},
                     encode_chunked=True)  # fmt: skip
        response = conn.getresponse()
        data = response.read()
        conn.close()
        assert response.status == 200, data
        env = json.loads(data)
        assert env["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
        assert "CONTENT_LENGTH" not in env and env["wsgi.input_terminated"] is True
    finally:
        nginx.stop()
        daemon.stop()


def test_app_exception_is_a_500_without_traceback(stack: Any) -> None:
    daemon, nginx = stack
    r = nginx.request("GET", "/error?when=before")
    assert r.status == 500 and b"Traceback" not in r.body
    assert nginx.request("GET", "/hello").status == 200
