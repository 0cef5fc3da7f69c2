"""The log plumbing that needs no daemon: syslog handlers that never stop a worker."""

from __future__ import annotations

import socket

import pytest

from fcgigate import logs
from fcgigate.config import parse_syslog


def test_an_unresolvable_syslog_host_is_not_fatal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A name that does not resolve (DNS down while a worker starts) must not
    crash the worker: lines are dropped with one line on stderr a minute."""

    def no_dns(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    access = logs.AccessLog(parse_syslog("syslog:server=logs.example:514"), "line {n}")
    for n in range(3):
        access.log({"n": n})
        access.flush()
    access.close()
    err = capsys.readouterr().err
    assert err.count("cannot send to syslog at ('logs.example', 514)") == 1, err
    assert "Traceback" not in err


def test_syslog_datagrams_have_no_nul_terminator(tmp_path) -> None:
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(5)
        access = logs.AccessLog(parse_syslog(f"syslog:server=unix:{path},tag=t,facility=local7"), "{n}")
        access.log({"n": "hello"})
        access.flush()
        data = server.recv(4096)
        access.close()
    assert data.startswith(b"<190>t[") and data.endswith(b"]: hello"), data
