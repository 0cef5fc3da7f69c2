"""The log plumbing that needs no daemon: syslog handlers that never stop a worker,
and the built-in rotation's arithmetic (when it is due, how files shift)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from fcgigate import logs
from fcgigate.config import parse_syslog


def test_an_unresolvable_syslog_host_is_not_fatal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A name that does not resolve (DNS down while a worker starts) must not
    crash the worker: lines are dropped with one line on stderr a minute."""

    def no_dns(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    access = logs.AccessLog(parse_syslog("syslog:server=logs.example:514"))
    for n in range(3):
        access.add(f"line {n}")
        access.flush()
    access.close()
    err = capsys.readouterr().err
    assert err.count("cannot send to syslog at ('logs.example', 514)") == 1, err
    assert "Traceback" not in err


def test_next_boundary_is_local_time() -> None:
    now = time.mktime((2026, 11, 22, 23, 24, 5, 0, 0, -1))
    assert logs.next_boundary("", now) == float("inf")
    assert time.localtime(logs.next_boundary("hourly", now))[:5] == (2026, 11, 23, 0, 0)
    assert time.localtime(logs.next_boundary("midnight", now))[:6] == (2026, 11, 23, 0, 0, 0)
    last_day = time.mktime((2026, 12, 31, 12, 0, 0, 0, 0, -1))
    assert time.localtime(logs.next_boundary("midnight", last_day))[:3] == (2027, 1, 1)
    assert logs.next_boundary("daily", now) == now + 86400


def test_rotation_shifts_and_keeps_at_most_keep(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    rotation = logs.Rotation([str(log)], size=10, when="", keep=2)
    assert not rotation.due()  # no file yet
    for n in range(4):
        log.write_text(f"generation {n}\n" * 2)
        assert rotation.due()
        assert rotation.rotate() == []
        assert not log.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access.log.1", "access.log.2"]
    assert (tmp_path / "access.log.1").read_text().startswith("generation 3")
    assert (tmp_path / "access.log.2").read_text().startswith("generation 2")
    log.write_text("")
    assert not rotation.due() and rotation.rotate() == [] and log.exists()  # an empty file stays


def test_time_rotation_is_due_at_the_boundary(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("x\n")
    start = time.mktime((2026, 11, 22, 23, 59, 58, 0, 0, -1))
    rotation = logs.Rotation([str(log)], size=0, when="midnight", keep=3, now=start)
    assert not rotation.due(now=start + 1)
    assert rotation.due(now=start + 2)
    rotation.rotate(now=start + 2)
    assert (tmp_path / "error.log.1").exists()
    assert not rotation.due(now=start + 3)  # the next one is tomorrow


def test_a_compiled_format_renders_what_format_map_would() -> None:
    """The generated renderer (one function per format, for speed) gives the
    line the plain format would, conversions and format specs included."""
    import types

    fmt = '{remote_addr} "{request}" {status:>5} {bytes:06d} {pid} {request_id} {protocol!r} {{x}} {uri}'
    render = logs.compile_format(fmt)
    params = {
        "REMOTE_ADDR": "10.0.0.1",
        "REQUEST_METHOD": "GET",
        "REQUEST_URI": "/a?b",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    ex = types.SimpleNamespace(status="404 Not Found", bytes=42, seq=7, started=time.monotonic())
    state = types.SimpleNamespace(pid=99, log_time="t")
    assert render(params, ex, state, "http") == fmt.format(
        remote_addr="10.0.0.1", request="GET /a?b HTTP/1.1", status="404", bytes=42, pid=99,
        request_id="99-7", protocol="http", uri="/a?b",
    )  # fmt: skip
    assert logs.compile_format(logs.COMBINED)(params, ex, state, "fastcgi") == (
        '10.0.0.1 - - [t] "GET /a?b HTTP/1.1" 404 42 "-" "-"'
    )
