"""A flup user's program with one import changed, behind real nginx and cgi-fcgi.

The program (tests/support/flup_script.py) builds ``WSGIServer(app, bindAddress=...)``,
enters python-daemon's ``DaemonContext()`` and only then calls ``run()``: flup's
documented usage, and the sequence that breaks flup, whose constructor starts the
thread pool that the daemonizing fork leaves behind. With ``fcgigate.compat.flup`` it
answers; with real flup, the same program accepts connections and never answers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.fcgi import FastCGIClient, connect, default_params, parse_cgi_response
from tests.support.flup_script import FlupScript
from tests.support.nginx import Nginx

Program = Callable[..., FlupScript]
TIMEOUT = 10
NEVER_ANSWERS = 3.0  # seconds the FastCGI client waits on real flup before calling it hung
EXTRA = {"FLUP_EXTRA": "from WSGIServer(environ=...)"}


def cgi_fcgi() -> str:
    path = shutil.which("cgi-fcgi") or shutil.which("cgi-fcgi", path="/usr/bin:/usr/local/bin")
    assert path, "cgi-fcgi is not installed: sudo apt-get install libfcgi-bin"
    return path


def run_cgi_fcgi(address: str, env: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """One request through ``cgi-fcgi -bind -connect ADDRESS``: (status, the echo app's JSON)."""
    result = subprocess.run(
        [cgi_fcgi(), "-bind", "-connect", address],
        input=body,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, f"cgi-fcgi exited {result.returncode}: {result.stderr!r}"
    status, _, _, _, response_body = parse_cgi_response(result.stdout)
    return status, json.loads(response_body)


def bind_for(transport: str, socket_dir: Path, free_port: int) -> str | tuple[str, int]:
    return str(socket_dir / "flup.sock") if transport == "unix" else ("127.0.0.1", free_port)


def cgi_address(bind: str | tuple[str, int]) -> str:
    return bind if isinstance(bind, str) else f"{bind[0]}:{bind[1]}"


def nginx_upstream(bind: str | tuple[str, int]) -> Any:
    return f"unix:{bind}" if isinstance(bind, str) else bind


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_daemonized_after_construction_answers_nginx_and_cgi_fcgi(
    flup_program: Program,
    nginx_factory: Callable[..., Nginx],
    socket_dir: Path,
    free_port: int,
    transport: str,
) -> None:
    bind = bind_for(transport, socket_dir, free_port)
    program = flup_program(bind, daemonize=True, environ=EXTRA)
    assert program.proc is not None and program.proc.wait(TIMEOUT) == 0, "the launching process exits 0"
    assert program.pid != program.proc.pid, "the server runs in the detached daemon"
    # run() made the loop; the pool comes with the first request, in this process.
    assert program.threads() == 1

    nginx = nginx_factory(nginx_upstream(bind))
    got = nginx.request("GET", "/flup/path?x=1")
    assert got.status == 200, got
    environ = got.json()
    assert environ["FLUP_EXTRA"] == EXTRA["FLUP_EXTRA"]
    assert environ["QUERY_STRING"] == "x=1"
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False  # flup's default: one process
    payload = random.Random(8).randbytes(300_000)
    posted = nginx.request("POST", "/upload", body=payload).json()
    assert posted["body_len"] == len(payload)
    assert posted["FLUP_EXTRA"] == EXTRA["FLUP_EXTRA"]

    status, environ = run_cgi_fcgi(
        cgi_address(bind),
        {"REQUEST_METHOD": "GET", "QUERY_STRING": "y=2", "SCRIPT_NAME": "/cgi", "REQUEST_URI": "/cgi?y=2"},
    )
    assert status == 200
    assert environ["FLUP_EXTRA"] == EXTRA["FLUP_EXTRA"]
    assert environ["PATH_INFO"] == "/cgi"
    assert program.threads() > 1, "the app ran in a pool thread of the daemon"

    program.stop()
    assert program.returns() == [{"returned": False, "handlers_restored": True}]
    if transport == "unix":
        assert not os.path.exists(bind), "the socket file run() created is removed on the way out"


def test_real_flup_daemonized_after_construction_accepts_and_never_answers(
    flup_program: Program, socket_dir: Path
) -> None:
    assert importlib.util.find_spec("flup"), "flup is not installed: pip install -e '.[test]'"
    # The control: the same program, not daemonized, answers; so the client is right.
    working = flup_program(str(socket_dir / "plain.sock"), server="flup", environ=EXTRA)
    with FastCGIClient(working.address, timeout=TIMEOUT) as client:
        assert client.request(default_params("GET", "/")).json()["FLUP_EXTRA"] == EXTRA["FLUP_EXTRA"]
    working.stop(kill_ok=True)

    hung = flup_program(str(socket_dir / "hung.sock"), server="flup", daemonize=True)
    with connect(hung.address, timeout=TIMEOUT):
        pass  # the socket listens: run() bound it after the fork
    started = time.monotonic()
    with FastCGIClient(hung.address, timeout=NEVER_ANSWERS) as client:  # the connect succeeds
        with pytest.raises(TimeoutError):
            client.request(default_params("GET", "/"))
    assert time.monotonic() - started >= NEVER_ANSWERS
    assert hung.alive(), "flup is still running: it accepted the connection and handed it to no thread"


def test_bind_address_none_serves_the_socket_a_web_server_hands_over_on_fd_0(
    flup_program: Program, socket_dir: Path
) -> None:
    # ``cgi-fcgi -start`` binds the socket and spawns the app with it on fd 0, as
    # mod_fcgid and spawn-fcgi do; flup's WSGIServer(app) with no bindAddress serves it.
    path = str(socket_dir / "spawned.sock")
    program = flup_program(
        None, launcher=[cgi_fcgi(), "-start", "-connect", path], address=path, environ=EXTRA
    )
    status, environ = run_cgi_fcgi(path, {"REQUEST_METHOD": "GET", "QUERY_STRING": "", "SCRIPT_NAME": "/fd0"})
    assert status == 200
    assert environ["FLUP_EXTRA"] == EXTRA["FLUP_EXTRA"]
    assert environ["PATH_INFO"] == "/fd0"
    program.stop()
    assert program.returns() == [{"returned": False, "handlers_restored": True}]
    assert os.path.exists(path), "the socket is the web server's: run() leaves its file alone"
