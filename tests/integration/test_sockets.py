"""Listeners the master does not bind itself (systemd socket activation), and
unix sockets with an owner, a group and a mode."""

from __future__ import annotations

import http.client
import os
import pwd
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.daemon import can_connect, free_port
from tests.support.fcgi import FastCGIClient, default_params

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

# Binds the listening socket itself, puts it on fd 3 and execs fcgigate with
# LISTEN_FDS/LISTEN_PID as systemd does (exec keeps the pid).
LAUNCHER = textwrap.dedent(
    """
    import os, socket, sys
    target, names, ini = sys.argv[1], sys.argv[2], sys.argv[3]
    if target.startswith("/"):  # a unix socket, as ListenStream=/run/fcgigate/app.sock
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(target)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(target)))
    sock.listen(64)
    if sock.fileno() != 3:
        os.dup2(sock.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES=names)
    os.execv(sys.executable, [sys.executable, "-m", "fcgigate", "-c", ini])
    """
)


def start_activated(tmp_path: Path, port: int | str, names: str, settings: str) -> subprocess.Popen:
    ini = tmp_path / "fcgigate.ini"
    ini.write_text(f"[fcgigate]\napp = tests.apps.hello:app\nworkers = 1\n{settings}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-c", LAUNCHER, str(port), names, str(ini)]
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(15)


def wait_http(port: int, proc: subprocess.Popen, log: Path) -> http.client.HTTPResponse:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            return response
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on {port}:\n{log.read_text()}")


def test_socket_activation_socket_matching_a_bind_url_is_adopted(tmp_path: Path) -> None:
    port = free_port()
    proc = start_activated(tmp_path, port, "web", f"bind = http://127.0.0.1:{port}")
    try:
        response = wait_http(port, proc, tmp_path / "daemon.log")
        assert response.status == 200
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    # Had the master tried to bind the port itself, the launcher's socket
    # would have made it fail with "address already in use".
    assert "cannot listen" not in log and "Traceback" not in log


def test_socket_activation_extra_socket_takes_its_protocol_from_its_name(tmp_path: Path) -> None:
    http_port, fcgi_port = free_port(), free_port()
    proc = start_activated(tmp_path, http_port, "http", f"bind = fastcgi://127.0.0.1:{fcgi_port}")
    try:
        assert wait_http(http_port, proc, tmp_path / "daemon.log").status == 200
        with FastCGIClient(("127.0.0.1", fcgi_port)) as client:
            assert client.request(default_params("GET", "/")).status == 200
    finally:
        assert stop(proc) == 0


def test_unix_socket_owner_group_and_mode(daemon_factory, socket_dir: Path) -> None:
    path = socket_dir / "owned.sock"
    nobody = pwd.getpwnam("nobody")
    settings = {"bind": f"fastcgi+unix://{path}", "socket_mode": "0660", "socket_owner": "nobody",
                "socket_group": str(nobody.pw_gid)}  # fmt: skip
    if os.geteuid() != 0:
        # Only root may give a file away: the daemon says so and exits.
        daemon = daemon_factory(settings, "tests.apps.hello:app", wait=False)
        assert daemon.wait(10) != 0
        assert "cannot give it owner/group" in daemon.log()
        return
    daemon = daemon_factory(settings, "tests.apps.hello:app")
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    with FastCGIClient(str(path)) as client:
        assert client.request(default_params("GET", "/")).status == 200


def test_unknown_socket_owner_is_a_clear_error(daemon_factory, socket_dir: Path) -> None:
    settings = {"bind": f"fastcgi+unix://{socket_dir}/x.sock", "socket_owner": "no-such-user-here"}
    daemon = daemon_factory(settings, "tests.apps.hello:app", wait=False)
    assert daemon.wait(10) != 0
    log = daemon.log()
    assert "cannot listen on fastcgi+unix://" in log and "no-such-user-here" in log and "Traceback" not in log
    assert not can_connect(f"fastcgi+unix://{socket_dir}/x.sock")


def test_socket_activation_unix_socket_is_systemds_across_reload_and_stop(
    tmp_path: Path, socket_dir: Path
) -> None:
    """A unix socket systemd made and no `bind` URL names: served, kept across a
    reload (HUP re-reads `bind`, which does not list it), and its file left in
    place at exit, for systemd still listens on it and nginx still connects to it."""
    path = socket_dir / "app.sock"
    http_port = free_port()
    proc = start_activated(tmp_path, str(path), "fastcgi", f"bind = http://127.0.0.1:{http_port}")
    log = tmp_path / "daemon.log"
    try:
        assert wait_http(http_port, proc, log).status == 200
        with FastCGIClient(str(path)) as client:
            assert client.request(default_params("GET", "/")).status == 200
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while "replaced by a reloaded generation" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        with FastCGIClient(str(path)) as client:
            assert client.request(default_params("GET", "/")).status == 200
        assert "no longer listening" not in log.read_text()
    finally:
        assert stop(proc) == 0
    assert path.exists(), "the socket file is systemd's: fcgigate must not remove it"
