"""Where the logs go: syslog targets, and the journal's stderr.

- ``error_log = syslog:server=unix:PATH,facility=local3,tag=fcg-test``: each
  record is one datagram ``<PRI>tag[pid]: [LEVEL] message`` with PRI =
  facility * 8 + severity (local3 = 19: info 158, warning 156, error 155), sent
  by the process that logged (SO_PASSCRED tells the sender, as syslog does);
  nothing of it goes to stderr;
- ``access_log = syslog:...``: one datagram per request, the combined line at
  severity info (facility daemon unless told: 30);
- ``syslog:server=HOST:PORT``: the same over UDP;
- a syslog that does not listen at start does not keep the daemon from
  serving, and gets the lines once it listens;
- ``JOURNAL_STREAM`` naming stderr (as systemd sets it): error-log lines carry
  the priority prefix ``<N>`` and no timestamp (the journal stamps them), every
  line of a traceback too; a JOURNAL_STREAM that names another file, or an
  error log in a file, keeps the timestamps;
- a malformed ``syslog:`` target is a configuration error naming file, line
  and setting, for ``fcgigate check`` and for a start.

Every wait has a deadline.
"""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fcgigate import logs
from fcgigate.config import parse_syslog
from tests.support.daemon import REPO_ROOT, Daemon, clean_environ, free_port
from tests.support.datagrams import receive_with_sender

pytestmark = pytest.mark.integration

Start = Callable[..., Daemon]
TIMEOUT = 5.0

# PRI = facility * 8 + severity (RFC 5424): local3 is 19, daemon 3, local7 23.
LOCAL3_INFO, LOCAL3_WARNING, LOCAL3_ERROR = 158, 156, 155
DAEMON_INFO = 30
LOCAL7_INFO = 190

# The combined format; REQUEST, STATUS and AGENT are filled in by access_line.
COMBINED = (
    r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
    r'"REQUEST" STATUS \d+ "-" "AGENT"'
)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[\d+\] \[[A-Z]+\] ")


# --------------------------------------------------------------------------- a syslog server


class Datagrams:
    """A syslog server's socket (unix or UDP) that keeps what it receives:
    (text, sender pid) pairs; the pid is known for unix sockets only (SO_PASSCRED)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.unix = sock.family == socket.AF_UNIX
        if self.unix:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.seen: list[tuple[str, int]] = []

    @classmethod
    def unix_socket(cls, path: Path) -> Datagrams:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        return cls(sock)

    @classmethod
    def udp(cls) -> Datagrams:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        return cls(sock)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def receive(self, timeout: float) -> tuple[str, int] | None:
        received = receive_with_sender(self.sock, 65536, timeout)
        if received is None:
            return None
        data, pid = received
        # A NUL at the end (Python's SysLogHandler default, which fcgigate turns
        # off) is dropped, as syslog daemons drop it.
        item = (data.decode("utf-8", "replace").removesuffix("\0"), pid)
        self.seen.append(item)
        return item

    def wait_for(self, pattern: str, daemon: Daemon, timeout: float = TIMEOUT) -> tuple[re.Match[str], int]:
        """The first datagram (received now or before) that ``pattern`` matches in full,
        and its sender's pid; AssertionError with all datagrams seen after ``timeout``."""
        regex = re.compile(pattern, re.DOTALL)
        for text, pid in self.seen:
            if match := regex.fullmatch(text):
                return match, pid
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            item = self.receive(min(remaining, 0.2))
            if item is not None and (match := regex.fullmatch(item[0])):
                return match, item[1]
        seen = "\n".join(f"  {text!r} from {pid}" for text, pid in self.seen) or "  (nothing)"
        raise AssertionError(f"no datagram matched {pattern!r} in {timeout}s; seen:\n{seen}\n{daemon.log()}")

    def drain(self, seconds: float) -> list[str]:
        """The datagrams that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        found = []
        while (remaining := deadline - time.monotonic()) > 0:
            if (item := self.receive(remaining)) is not None:
                found.append(item[0])
        return found


# --------------------------------------------------------------------------- helpers


def http_get(daemon: Daemon, path: str, agent: str = "probe/1.0") -> tuple[int, bytes]:
    host, _, port = daemon.address().removeprefix("http://").rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"User-Agent": agent, "Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def pipelined(daemon: Daemon, paths: list[str]) -> None:
    """GET ``paths`` pipelined on one connection, sent at once; every answer is a 200."""
    host, _, port = daemon.address().removeprefix("http://").rpartition(":")
    requests = [f"GET {path} HTTP/1.1\r\nHost: test\r\nUser-Agent: probe/1.0\r\n" for path in paths]
    data = "\r\n".join(requests) + "Connection: close\r\n\r\n"
    chunks = []
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(data.encode("ascii"))
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answers = b"".join(chunks).count(b"HTTP/1.1 200 ")
    assert answers == len(paths), b"".join(chunks)


def access_line(request: str, status: int, agent: str = "probe/1.0") -> str:
    line = COMBINED.replace("REQUEST", re.escape(request)).replace("STATUS", str(status))
    return line.replace("AGENT", re.escape(agent))


def dead_pid() -> int:
    """The pid of a process that has exited (a stale pidfile's)."""
    child = subprocess.Popen(["true"])
    child.wait(TIMEOUT)
    return child.pid


# --------------------------------------------------------------------------- syslog over unix sockets


def test_error_and_access_logs_to_unix_syslog_sockets(daemon_factory: Start, socket_dir: Path) -> None:
    errors = Datagrams.unix_socket(socket_dir / "error.sock")
    access = Datagrams.unix_socket(socket_dir / "access.sock")
    try:
        port = free_port()
        pidfile = socket_dir / "fcgigate.pid"
        stale = dead_pid()
        pidfile.write_text(f"{stale}\n")
        settings = {
            "bind": f"http://127.0.0.1:{port}",
            "workers": 2,
            "pidfile": str(pidfile),
            "error_log": f"syslog:server=unix:{socket_dir}/error.sock,facility=local3,tag=fcg-test",
            "access_log": f"syslog:server=unix:{socket_dir}/access.sock,tag=fcg-access",
        }
        daemon = daemon_factory(settings, app="tests.apps.router:app")
        master = daemon.pid
        workers = daemon.worker_pids(2)

        # info, from the master: the start line; tag[pid] is the sender's pid.
        app_line = rf"master {master}: 2 workers for tests\.apps\.router:app on http://127\.0\.0\.1:{port}"
        _, sender = errors.wait_for(rf"<{LOCAL3_INFO}>fcg-test\[{master}\]: \[INFO\] {app_line}", daemon)
        assert sender == master
        # warning, from the master: the stale pidfile it replaced.
        warning = rf"<{LOCAL3_WARNING}>fcg-test\[{master}\]: \[WARNING\] replaced a stale pidfile .*{stale}.*"
        errors.wait_for(warning, daemon)
        # info, from each worker, with the worker's own pid.
        for pid in workers:
            _, sender = errors.wait_for(
                rf"<{LOCAL3_INFO}>fcg-test\[{pid}\]: \[INFO\] worker \d/2 serving .*", daemon
            )
            assert sender == pid

        assert http_get(daemon, "/hello?a=1")[0] == 200
        assert http_get(daemon, "/stderr?msg=spoken+by+the+app", agent="second/2.0")[0] == 200
        assert http_get(daemon, "/error")[0] == 500
        expected = [
            access_line("GET /hello?a=1 HTTP/1.1", 200),
            access_line("GET /stderr?msg=spoken+by+the+app HTTP/1.1", 200, "second/2.0"),
            access_line("GET /error HTTP/1.1", 500),
        ]
        for line in expected:
            match, sender = access.wait_for(rf"<{DAEMON_INFO}>fcg-access\[(\d+)\]: {line}", daemon)
            assert int(match[1]) == sender and sender in workers, (match[0], sender, workers)
        # Pipelined requests are answered in one loop turn (a batching bug showed
        # here, not with the requests above), so their lines are
        # written together: still one datagram each.
        pipelined(daemon, [f"/hello?n={n}" for n in range(5)])
        for n in range(5):
            access.wait_for(
                rf"<{DAEMON_INFO}>fcg-access\[\d+\]: {access_line(f'GET /hello?n={n} HTTP/1.1', 200)}", daemon
            )
        access.drain(0.5)
        assert len(access.seen) == 8, f"one datagram per request, got: {access.seen}"

        # warning (wsgi.errors) and error with its traceback, from the worker that served.
        _, sender = errors.wait_for(
            rf"<{LOCAL3_WARNING}>fcg-test\[\d+\]: \[WARNING\] .*spoken by the app", daemon
        )
        assert sender in workers
        match, _ = errors.wait_for(
            rf"<{LOCAL3_ERROR}>fcg-test\[\d+\]: \[ERROR\] .*the app failed\n.*", daemon
        )
        assert "Traceback" in match[0] and "FixtureError: raised before start_response" in match[0], match[0]

        # error, from the master: a reload refused.
        daemon.settings["threads"] = "lots"
        daemon.write_ini()
        daemon.send_signal(signal.SIGHUP)
        errors.wait_for(
            rf"<{LOCAL3_ERROR}>fcg-test\[{master}\]: \[ERROR\] reload refused.*'threads'.*", daemon
        )

        assert daemon.stop() == 0
        errors.wait_for(
            rf"<{LOCAL3_INFO}>fcg-test\[{master}\]: \[INFO\] master: SIGTERM, graceful stop.*", daemon
        )
        log = daemon.log()
        assert "workers for" not in log and "serving" not in log, f"the error log went to stderr too:\n{log}"
        assert all(text.startswith("<") for text, _ in errors.seen), errors.seen
    finally:
        errors.close()
        access.close()


# --------------------------------------------------------------------------- syslog over UDP


def test_syslog_over_udp(daemon_factory: Start) -> None:
    server = Datagrams.udp()
    try:
        target = f"syslog:server=127.0.0.1:{server.port}"
        settings = {
            "bind": f"http://127.0.0.1:{free_port()}",
            "error_log": target,
            "access_log": f"{target},facility=local7,tag=acc",
        }
        daemon = daemon_factory(settings, app="tests.apps.router:app")
        master = daemon.pid
        server.wait_for(
            rf"<{DAEMON_INFO}>fcgigate\[{master}\]: \[INFO\] master {master}: 1 workers for .*", daemon
        )
        [worker] = daemon.worker_pids(1)
        server.wait_for(rf"<{DAEMON_INFO}>fcgigate\[{worker}\]: \[INFO\] worker 1/1 serving .*", daemon)
        assert http_get(daemon, "/hello")[0] == 200
        server.wait_for(rf"<{LOCAL7_INFO}>acc\[{worker}\]: {access_line('GET /hello HTTP/1.1', 200)}", daemon)
        assert daemon.stop() == 0
        server.wait_for(rf"<{DAEMON_INFO}>fcgigate\[{master}\]: \[INFO\] master: SIGTERM.*", daemon)
    finally:
        server.close()


# --------------------------------------------------------------------------- a syslog that is not there yet


def test_a_syslog_that_is_not_listening_does_not_stop_the_daemon(
    daemon_factory: Start, socket_dir: Path
) -> None:
    error_path, access_path = socket_dir / "late-error.sock", socket_dir / "late-access.sock"
    settings = {
        "bind": f"http://127.0.0.1:{free_port()}",
        "error_log": f"syslog:server=unix:{error_path}",
        "access_log": f"syslog:server=unix:{access_path}",
    }
    daemon = daemon_factory(settings, app="tests.apps.router:app")
    [worker] = daemon.worker_pids(1)
    # One request only: the complaint below is printed once a minute, so it says
    # that the first line failed, and nothing about a second.
    assert http_get(daemon, "/hello?early=1")[0] == 200
    # Lines it cannot send are dropped, and each process says so on stderr in one
    # line (not a traceback per record); the access log is written after the
    # response: wait for the worker's line, so no early line reaches the socket below.
    complaint = f"fcgigate: cannot send to syslog at {access_path}: [Errno 2] No such file or directory"
    deadline = time.monotonic() + TIMEOUT
    while complaint not in daemon.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.log().count(complaint) == 1, daemon.log()
    assert "Traceback" not in daemon.log() and "Logging error" not in daemon.log()

    # It comes up: the next lines reach it.
    errors, access = Datagrams.unix_socket(error_path), Datagrams.unix_socket(access_path)
    try:
        assert http_get(daemon, "/hello?late=1")[0] == 200
        access.wait_for(
            rf"<{DAEMON_INFO}>fcgigate\[{worker}\]: {access_line('GET /hello?late=1 HTTP/1.1', 200)}", daemon
        )
        daemon.send_signal(signal.SIGHUP)
        errors.wait_for(
            rf"<{DAEMON_INFO}>fcgigate\[{daemon.pid}\]: \[INFO\] master: SIGHUP, reloading .*", daemon
        )
        assert len(access.seen) == 1, access.seen  # the requests before it listened are not replayed
        assert http_get(daemon, "/hello")[0] == 200
        assert daemon.stop() == 0
    finally:
        errors.close()
        access.close()


# --------------------------------------------------------------------------- JOURNAL_STREAM


def journal_daemon(
    daemon_factory: Start, tmp_path: Path, journal_stream: str | None, **settings: Any
) -> tuple[Daemon, str]:
    """A daemon serving the router whose stderr (daemon.log) is a file created
    beforehand, so its device and inode are known: JOURNAL_STREAM = ``journal_stream``,
    or that file's "dev:ino" when None (as systemd sets it for the journal's socket)."""
    log_path = tmp_path / "daemon0" / "daemon.log"  # daemon_factory's first daemon writes there
    log_path.parent.mkdir(parents=True)
    log_path.touch()
    info = log_path.stat()
    expected = f"{info.st_dev}:{info.st_ino}" if journal_stream is None else journal_stream
    settings.setdefault("bind", f"http://127.0.0.1:{free_port()}")
    daemon = daemon_factory(settings, app="tests.apps.router:app", env={"JOURNAL_STREAM": expected})
    assert daemon.log_path == log_path and log_path.stat().st_ino == info.st_ino
    return daemon, expected


def exercise(daemon: Daemon, log: Callable[[], str]) -> list[int]:
    """Log at every level we can cause (info, warning, error with a traceback);
    stop the daemon; the pids that logged (master, worker)."""
    [worker] = daemon.worker_pids(1)
    assert http_get(daemon, "/stderr?msg=a+warning")[0] == 200
    assert http_get(daemon, "/error")[0] == 500
    deadline = time.monotonic() + TIMEOUT
    while "FixtureError" not in log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "FixtureError" in log(), log()
    assert daemon.stop() == 0
    return [daemon.pid, worker]


def test_journal_stream_lines_carry_the_priority_and_no_timestamp(
    daemon_factory: Start, tmp_path: Path
) -> None:
    daemon, _ = journal_daemon(daemon_factory, tmp_path, None)
    master, worker = exercise(daemon, daemon.log)
    lines = daemon.log().splitlines()
    assert rf"<6>[{master}] [INFO] master {master}: 1 workers for tests.apps.router:app on " in daemon.log()
    assert any(line.startswith(f"<6>[{worker}] [INFO] worker 1/1 serving ") for line in lines), lines
    assert any(line.startswith(f"<4>[{worker}] [WARNING] ") and "a warning" in line for line in lines), lines
    assert any(line.startswith(f"<3>[{worker}] [ERROR] ") and "the app failed" in line for line in lines), (
        lines
    )
    # The traceback is one record: each of its lines has the prefix (the journal reads lines).
    assert "<3>Traceback (most recent call last):" in lines, lines
    assert "<3>tests.apps.error.FixtureError: raised before start_response" in lines, lines
    assert any(line.startswith(f"<6>[{master}] [INFO] master: SIGTERM") for line in lines), lines
    assert all(re.match(r"<[2-7]>", line) for line in lines), [
        line for line in lines if not line.startswith("<")
    ]
    assert not [line for line in lines if TIMESTAMP.match(line.partition(">")[2])], (
        "a timestamp in a journal line"
    )


@pytest.mark.parametrize("case", ["another-stream", "error-log-file"])
def test_timestamps_stay_unless_stderr_is_the_journal(
    daemon_factory: Start, tmp_path: Path, case: str
) -> None:
    if case == "another-stream":
        daemon, _ = journal_daemon(daemon_factory, tmp_path, "1:2")
        log = daemon.log
    else:  # JOURNAL_STREAM names stderr, but the error log is a file
        error_log = tmp_path / "error.log"
        daemon, _ = journal_daemon(daemon_factory, tmp_path, None, error_log=str(error_log))
        log = error_log.read_text
    master, worker = exercise(daemon, log)
    lines = [line for line in log().splitlines() if re.match(r"\d{4}-|<\d>", line)]
    assert rf"[{master}] [INFO] master {master}: 1 workers for" in log()
    assert any(f"[{worker}] [INFO] worker 1/1 serving" in line for line in lines), lines
    assert all(TIMESTAMP.match(line) for line in lines), lines
    assert not [line for line in log().splitlines() if re.match(r"<\d>", line)], log()


# --------------------------------------------------------------------------- configuration errors


def run_fcgigate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = clean_environ()
    environ["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "fcgigate", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("error_log", "syslog:server=unix:relative", "absolute socket path"),
        ("access_log", "syslog:server=unix:relative", "absolute socket path"),
        ("error_log", "syslog:facility=local9", "unknown facility 'local9'"),
        ("error_log", "syslog:tag=two words", "a tag is 1-32"),
        ("access_log", "syslog:server=127.0.0.1:70000", "port 70000 out of range"),
        ("error_log", "syslog:server", "expected key=value"),
        ("error_log", "syslog:level=info", "unknown parameter 'level'"),
    ],
)
def test_a_malformed_syslog_target_is_a_config_error(
    tmp_path: Path, setting: str, value: str, why: str
) -> None:
    ini = tmp_path / "fcgigate.ini"
    ini.write_text(f"[fcgigate]\napp = tests.apps.hello:app\n{setting} = {value}\n")
    for command in (("check",), ()):
        result = run_fcgigate(tmp_path, *command, "-c", "fcgigate.ini")
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if "fcgigate.ini:3: " in line]
        assert len(lines) == 1, (command, result.stderr)
        assert f"setting '{setting}'" in lines[0] and why in lines[0], lines[0]
        assert "Traceback" not in result.stderr, result.stderr


def test_syslog_datagrams_have_no_nul_terminator(tmp_path: Path) -> None:
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(5)
        access = logs.AccessLog(parse_syslog(f"syslog:server=unix:{path},tag=t,facility=local7"))
        access.add("hello")
        access.flush()
        data = server.recv(4096)
        access.close()
    assert data.startswith(b"<190>t[") and data.endswith(b"]: hello"), data
