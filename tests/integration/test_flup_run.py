"""``fcgigate.compat.flup.WSGIServer.run()`` in a real process: signals and what run()
returns, the arguments that shape serving (umask, multiplexed, maxThreads,
multithreaded, debug), and the errors run() gives where flup would do something else.

The program is tests/support/flup_script.py's, not daemonized here (the e2e tests
daemonize it): ``while server.run(): pass``, one JSON line per return.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fcgi import ConnectionClosed, FastCGIClient, Response, default_params
from tests.support.flup_script import FlupScript

Program = Callable[..., FlupScript]
TIMEOUT = 10.0


def get(address: object, uri: str = "/") -> Response:
    with FastCGIClient(address, timeout=TIMEOUT) as client:
        return client.request(default_params("GET", uri))


def wait_for(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.02)


def test_sighup_returns_true_and_the_program_runs_it_again(flup_program: Program, socket_dir: Path) -> None:
    path = str(socket_dir / "hup.sock")
    program = flup_program(path)
    assert get(path).status == 200
    program.signal(signal.SIGHUP)
    wait_for(lambda: program.returns(), "run() returning after SIGHUP")
    assert program.returns() == [{"returned": True, "handlers_restored": True}]
    program.wait_listening()  # the second run() bound the socket again
    assert get(path).status == 200
    program.stop()
    assert program.returns() == [
        {"returned": True, "handlers_restored": True},
        {"returned": False, "handlers_restored": True},
    ]
    assert program.proc is not None and program.proc.wait(TIMEOUT) == 0
    assert not os.path.exists(path)


def test_sigint_lets_the_request_in_flight_finish(flup_program: Program, socket_dir: Path) -> None:
    # flup stops accepting on SIGINT as on SIGTERM and lets running requests end.
    path = str(socket_dir / "int.sock")
    marker = socket_dir / "started"
    program = flup_program(path, app="tests.apps.sleepy:app")
    answers: list[Response | BaseException] = []

    def slow_request() -> None:
        try:
            answers.append(get(path, f"/?seconds=1.5&marker={marker}"))
        except BaseException as exc:  # reported by the assertion below
            answers.append(exc)

    client = threading.Thread(target=slow_request)
    client.start()
    wait_for(marker.exists, "the app starting the request")
    program.signal(signal.SIGINT)
    client.join(TIMEOUT)
    assert len(answers) == 1 and isinstance(answers[0], Response), answers
    assert answers[0].status == 200 and answers[0].body == b"slept 1.5"
    assert program.wait_gone(TIMEOUT)
    assert program.returns() == [{"returned": False, "handlers_restored": True}]


def test_sigquit_stops_at_once(flup_program: Program, socket_dir: Path) -> None:
    path = str(socket_dir / "quit.sock")
    marker = socket_dir / "started"
    program = flup_program(path, app="tests.apps.sleepy:app")
    with FastCGIClient(path, timeout=TIMEOUT) as client:
        client.send_request(default_params("GET", f"/?seconds=2&marker={marker}"))
        wait_for(marker.exists, "the app starting the request")
        program.signal(signal.SIGQUIT)
        with pytest.raises(ConnectionClosed):
            client.read_response()
    assert program.wait_gone(TIMEOUT)
    assert program.returns() == [{"returned": False, "handlers_restored": True}]


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o700), (0o002, 0o775)])
def test_umask_gives_the_unix_socket_its_mode(
    flup_program: Program, socket_dir: Path, umask: int, mode: int
) -> None:
    path = str(socket_dir / "mode.sock")
    flup_program(path, kwargs={"umask": umask})
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


@pytest.mark.parametrize(("multiplexed", "answer"), [(False, "0"), (True, "1")])
def test_multiplexed_is_what_fcgi_mpxs_conns_says(
    flup_program: Program, socket_dir: Path, multiplexed: bool, answer: str
) -> None:
    path = str(socket_dir / "mpx.sock")
    flup_program(path, kwargs={"multiplexed": multiplexed})
    with FastCGIClient(path, timeout=TIMEOUT) as client:
        assert client.get_values()["FCGI_MPXS_CONNS"] == answer


def test_max_threads_bounds_the_pool(flup_program: Program, socket_dir: Path) -> None:
    path = str(socket_dir / "pool.sock")
    program = flup_program(path, app="tests.apps.sleepy:app", kwargs={"maxThreads": 2})
    assert program.threads() == 1, "no thread before the first request"
    answers: list[int] = []
    clients = [
        threading.Thread(target=lambda: answers.append(get(path, "/?seconds=0.3").status)) for _ in range(4)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(TIMEOUT)
    assert answers == [200] * 4
    assert program.threads() == 1 + 2


def test_multithreaded_false_calls_the_app_on_the_loop(flup_program: Program, socket_dir: Path) -> None:
    path = str(socket_dir / "inline.sock")
    program = flup_program(path, kwargs={"multithreaded": False})
    environ = get(path).json()
    assert environ["wsgi.multithread"] is False
    assert program.threads() == 1


def test_debug_sends_no_traceback_and_logs_it(flup_program: Program, socket_dir: Path) -> None:
    path = str(socket_dir / "debug.sock")
    program = flup_program(path, app="tests.apps.error:app", kwargs={"debug": True})
    answer = get(path, "/?when=before")
    assert answer.status == 500
    assert b"Traceback" not in answer.stdout and b"FixtureError" not in answer.stdout
    wait_for(lambda: "FixtureError" in program.log(), "the traceback in the log")
    assert "Traceback (most recent call last)" in program.log()
    assert "debug=True: tracebacks of the app's errors go to this log" in program.log()


def test_bind_address_none_without_a_listening_socket_on_fd_0_is_an_error(
    flup_program: Program, socket_dir: Path
) -> None:
    # flup would serve one CGI request from stdin here; fcgigate refuses, saying what to do.
    program = flup_program(None, wait=False)  # stdin is /dev/null
    assert program.proc is not None
    try:
        code = program.proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("run() went on without a socket on fd 0")
    assert code == 1
    log = program.log()
    assert "BindError" in log and "fd 0 is not a socket" in log and "bindAddress=(" in log, log
