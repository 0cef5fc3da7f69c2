"""A daemon serving tests/apps/slow.py on an HTTP and a FastCGI port, and the
small client calls the scoreboard and slow-request tests share."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any

from tests.support.daemon import Daemon, free_port
from tests.support.fcgi import FastCGIClient, default_params

Start = Callable[..., Daemon]
APP = "tests.apps.slow:app"
TIMEOUT = 5.0  # every socket operation, unless a test says otherwise
STATUS = "/fcgigate/status?json&full"


class Served:
    """The daemon (``daemon``), with one-request helpers over each protocol."""

    def __init__(self, daemon_factory: Start, graceful_timeout: float = 3, **settings: Any) -> None:
        self.http_port, self.fcgi_port = free_port(), free_port()
        settings.setdefault("timeout", 30)
        settings["graceful_timeout"] = graceful_timeout
        settings["bind"] = f"http://127.0.0.1:{self.http_port}, fastcgi://127.0.0.1:{self.fcgi_port}"
        self.daemon = daemon_factory(settings, app=APP)
        self.status_reads = 0  # each on its own connection: accepted_connections counts them

    def http(self, path: str, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """One request on a fresh connection; (status, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def fastcgi(self, uri: str, timeout: float = TIMEOUT) -> tuple[int, bytes]:
        """One FastCGI request on a fresh connection; (status, body). A request
        not ended with FCGI_REQUEST_COMPLETE is an AssertionError."""
        with FastCGIClient(("127.0.0.1", self.fcgi_port), timeout) as client:
            response = client.request(default_params("GET", uri))
        assert response.ended and response.protocol_status == 0, response
        return response.status, response.body

    def status(self) -> dict[str, Any]:
        """The status page, as JSON with the workers table."""
        self.status_reads += 1
        code, body = self.http(STATUS)
        assert code == 200, body
        return json.loads(body)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """``predicate()`` once it is true, or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def pid_of(body: bytes) -> int:
    """The pid in a ``slow`` app answer (``<pid> <path>``)."""
    return int(body.split()[0])
