"""The access log: one line per request over both protocols, the combined
format by default, named fields, and SIGUSR1 reopening after a rename."""

from __future__ import annotations

import http.client
import re
import signal
import time
from pathlib import Path

import pytest

from tests.support.daemon import free_port, wait_lines
from tests.support.fcgi import FastCGIClient, default_params

pytestmark = pytest.mark.integration

COMBINED = re.compile(
    r"^(?P<addr>\S+) - (?P<user>\S+) \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)


def http_get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


def test_combined_lines_for_http_and_fastcgi(daemon_factory, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    http_port, fcgi_port = free_port(), free_port()
    daemon_factory({"bind": f"http://127.0.0.1:{http_port}, fastcgi://127.0.0.1:{fcgi_port}",
                    "access_log": str(log), "threads": 2}, "tests.apps.router:app")  # fmt: skip
    status, body = http_get(http_port, "/hello?a=1", {"Referer": "http://ref/", "User-Agent": "probe/1.0"})
    assert status == 200
    assert http_get(http_port, "/missing")[0] == 404
    with FastCGIClient(("127.0.0.1", fcgi_port)) as client:
        response = client.request(default_params("GET", "/hello", HTTP_USER_AGENT="fcgi-probe"))
        assert response.status == 200
    lines = wait_lines(log, 3)
    assert len(lines) == 3, lines
    first, second, third = (COMBINED.match(line) for line in lines)
    assert first and second and third, lines
    assert first["request"] == "GET /hello?a=1 HTTP/1.1" and first["status"] == "200"
    assert (
        first["bytes"] == str(len(body))
        and first["referer"] == "http://ref/"
        and first["agent"] == "probe/1.0"
    )
    assert first["addr"] == "127.0.0.1" and first["user"] == "-"
    assert second["request"].startswith("GET /missing") and second["status"] == "404"
    assert (
        third["request"].startswith("GET /hello")
        and third["status"] == "200"
        and third["agent"] == "fcgi-probe"
    )


def test_named_fields_and_reopen_on_usr1(daemon_factory, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    port = free_port()
    fmt = "{pid} {protocol} {request_id} {request_time_us} {method} {uri}"
    settings = {
        "bind": f"http://127.0.0.1:{port}",
        "access_log": str(log),
        "workers": 2,
        "access_log_format": fmt,
    }
    daemon = daemon_factory(settings, "tests.apps.router:app")
    workers = set(daemon.worker_pids(2))
    for _ in range(4):
        assert http_get(port, "/hello")[0] == 200
    lines = wait_lines(log, 4)
    for line in lines:
        pid, protocol, request_id, micros, method, uri = line.split()
        assert int(pid) in workers and protocol == "http" and request_id.startswith(f"{pid}-")
        assert int(micros) >= 0 and (method, uri) == ("GET", "/hello")
    assert len({line.split()[2] for line in lines}) == 4  # request ids are unique
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    daemon.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # Every worker reopened: new lines, whichever worker serves them, go to the new file.
    for _ in range(20):
        assert http_get(port, "/hello")[0] == 200
    new = wait_lines(log, 20)
    assert len(new) == 20 and len(rotated.read_text().splitlines()) == 4
    assert {line.split()[0] for line in new} <= {str(p) for p in workers}
