"""libfcgi's ``cgi-fcgi`` in front of the daemon: a real, independent FastCGI client.

``cgi-fcgi -bind -connect ADDR`` turns its own CGI environment into FCGI_PARAMS,
its stdin into FCGI_STDIN (CONTENT_LENGTH bytes of it), and writes the CGI
response (headers, blank line, body) to stdout. It sends the environment it is
given and nothing else, so the daemon must fill in what a web server would have
sent (SERVER_NAME, SERVER_PORT...). ``sudo apt-get install libfcgi-bin`` provides
it; without it these tests fail, they are not skipped.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.fcgi import parse_cgi_response

Start = Callable[..., Daemon]
TIMEOUT = 10


def cgi_fcgi() -> str:
    path = shutil.which("cgi-fcgi") or shutil.which("cgi-fcgi", path="/usr/bin:/usr/local/bin")
    assert path, "cgi-fcgi is not installed: sudo apt-get install libfcgi-bin"
    return path


def start_echo(daemon_factory: Start, socket_dir: Path, threads: int, transport: str) -> tuple[Daemon, str]:
    if transport == "unix":
        path = socket_dir / "cgi.sock"
        daemon = daemon_factory(
            {"threads": threads, "bind": f"fastcgi+unix://{path}"}, app="tests.apps.echo:app"
        )
        return daemon, str(path)
    daemon = daemon_factory({"threads": threads}, app="tests.apps.echo:app")
    return daemon, daemon.address().removeprefix("fastcgi://")


def run_cgi_fcgi(address: str, env: dict[str, str], body: bytes = b"") -> tuple[int, str, dict, bytes]:
    """Run cgi-fcgi against ``address``; the CGI response as (status, reason, headers, body)."""
    result = subprocess.run(
        [cgi_fcgi(), "-bind", "-connect", address],
        input=body,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, f"cgi-fcgi exited {result.returncode}: {result.stderr!r}"
    status, reason, headers, _, response_body = parse_cgi_response(result.stdout)
    return status, reason, {name.lower(): value for name, value in headers}, response_body


THREADS = [pytest.param(0, id="inline"), pytest.param(4, id="threads4")]
TRANSPORTS = ["tcp", "unix"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("threads", THREADS)
def test_get(daemon_factory: Start, socket_dir: Path, threads: int, transport: str) -> None:
    _, address = start_echo(daemon_factory, socket_dir, threads, transport)
    status, _, headers, body = run_cgi_fcgi(
        address,
        {
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "a=1&b=two",
            "SCRIPT_NAME": "/hello/world",
            "REQUEST_URI": "/hello/world?a=1&b=two",
            "SERVER_PROTOCOL": "HTTP/1.1",
        },
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    environ = json.loads(body)
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["QUERY_STRING"] == "a=1&b=two"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/hello/world"
    assert environ["body_len"] == 0
    # cgi-fcgi sends no SERVER_NAME or SERVER_PORT; the environ still has them (PEP 3333).
    assert environ["SERVER_NAME"] and environ["SERVER_PORT"]


@pytest.mark.parametrize("threads", THREADS)
def test_get_without_request_uri(daemon_factory: Start, socket_dir: Path, threads: int) -> None:
    # A bare CGI environment: only SCRIPT_NAME says where the request went.
    _, address = start_echo(daemon_factory, socket_dir, threads, "tcp")
    status, _, _, body = run_cgi_fcgi(
        address, {"REQUEST_METHOD": "GET", "QUERY_STRING": "q", "SCRIPT_NAME": "/only/script"}
    )
    assert status == 200
    environ = json.loads(body)
    assert environ["PATH_INFO"] == "/only/script"
    assert environ["QUERY_STRING"] == "q"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("threads", THREADS)
def test_post(daemon_factory: Start, socket_dir: Path, threads: int, transport: str) -> None:
    _, address = start_echo(daemon_factory, socket_dir, threads, transport)
    payload = random.Random(7).randbytes(300_000)
    status, _, _, body = run_cgi_fcgi(
        address,
        {
            "REQUEST_METHOD": "POST",
            "QUERY_STRING": "",
            "SCRIPT_NAME": "/upload",
            "REQUEST_URI": "/upload",
            "CONTENT_TYPE": "application/octet-stream",
            "CONTENT_LENGTH": str(len(payload)),
        },
        payload,
    )
    assert status == 200
    environ = json.loads(body)
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["CONTENT_LENGTH"] == str(len(payload))
    assert environ["body_len"] == len(payload)
    assert environ["body_sha256"] == hashlib.sha256(payload).hexdigest()
