"""Privileges: bind as root, then run master and workers as `user`; never the app as root.

Started as root (CI runs the suite as root), the daemon binds its sockets and
creates its log files and unix socket owned by an unprivileged user this module
creates (with a supplementary group), then master and every worker run as that
user: real, effective and saved ids, and the groups, read from /proc. Started as
root with no `user`, fcgigate refuses to run the app unless `allow_root` says
so. Started by anyone else, asking for another user is a clear error.

The user must be able to read the Python installation and this checkout. When
a parent directory of either is closed to others (a Python built under /root,
as on the CI image), the module opens it for traversal only (o+x) and restores
it afterwards.
"""

from __future__ import annotations

import grp
import http.client
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import ALLOW_ROOT_ENV, REPO_ROOT, Daemon, can_connect, free_port, short_socket_dir
from tests.support.fcgi import FastCGIClient, default_params

USER = "fcgigate-test"
EXTRA_GROUP = "fcgigate-test-extra"
IS_ROOT = os.geteuid() == 0


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def _closed_parents(paths: list[str]) -> list[tuple[Path, int]]:
    """Directories on the way to ``paths`` that others may not traverse."""
    found: dict[Path, int] = {}
    for path in paths:
        for parent in [Path(path).resolve(), *Path(path).resolve().parents]:
            mode = parent.stat().st_mode
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                found[parent] = stat.S_IMODE(mode)
    return list(found.items())


@pytest.fixture(scope="module")
def account() -> Iterator[pwd.struct_passwd]:
    """An unprivileged user with a supplementary group, removed afterwards."""
    if not IS_ROOT:
        yield pwd.getpwnam("nobody")
        return
    created = []
    try:
        grp.getgrnam(EXTRA_GROUP)
    except KeyError:
        _run("groupadd", "--system", EXTRA_GROUP)
        created.append(("groupdel", EXTRA_GROUP))
    try:
        pwd.getpwnam(USER)
    except KeyError:
        _run("useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin",
             "--groups", EXTRA_GROUP, USER)  # fmt: skip
        created.insert(0, ("userdel", USER))
    opened = _closed_parents([sys.base_prefix, sys.prefix, str(REPO_ROOT)])
    for directory, mode in opened:
        os.chmod(directory, mode | stat.S_IXOTH)
    try:
        yield pwd.getpwnam(USER)
    finally:
        for directory, mode in opened:
            os.chmod(directory, mode)
        for command in created:
            subprocess.run(command, capture_output=True, timeout=30)


@pytest.fixture
def run_dir(account: pwd.struct_passwd) -> Iterator[Path]:
    """Where the daemon's files go: a directory the user owns, as systemd's
    RuntimeDirectory= and LogsDirectory= would give it (short, for sun_path)."""
    path = short_socket_dir()
    os.chmod(path, 0o755)
    if IS_ROOT:
        os.chown(path, account.pw_uid, account.pw_gid)
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], timeout=30)


def ids(pid: int) -> dict[str, list[int]]:
    """Uid, Gid (real, effective, saved, filesystem) and Groups of a process."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                found[key] = [int(v) for v in value.split()]
    return found


def http_get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.skipif(not IS_ROOT, reason="the non-root behaviour is test_another_user_needs_root")
def test_master_and_workers_run_as_the_configured_user(
    daemon_factory: Any, account: pwd.struct_passwd, run_dir: Path
) -> None:
    http_port = free_port()
    sock = run_dir / "app.sock"
    nginx_group = grp.getgrnam("nogroup")
    daemon = daemon_factory(
        {
            "bind": f"http://127.0.0.1:{http_port}, fastcgi+unix://{sock}",
            "workers": 2, "threads": 2, "user": USER, "socket_mode": "0660", "socket_group": "nogroup",
            "error_log": run_dir / "error.log", "access_log": run_dir / "access.log",
            "pidfile": run_dir / "fcgigate.pid",
        },
        "tests.apps.hello:app",
        env={ALLOW_ROOT_ENV: None},
    )  # fmt: skip
    extra = grp.getgrnam(EXTRA_GROUP).gr_gid
    pids = [daemon.pid, *daemon.worker_pids()]
    assert len(pids) == 3
    for pid in pids:
        found = ids(pid)
        assert found["Uid"] == [account.pw_uid] * 4, (pid, found)
        assert found["Gid"] == [account.pw_gid] * 4, (pid, found)
        assert sorted(found["Groups"]) == sorted({account.pw_gid, extra}), (pid, found)
    # The sockets were bound by root; the unix one belongs to the user and the web server's group.
    st = os.stat(sock)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (account.pw_uid, nginx_group.gr_gid, 0o660)
    for name in ("error.log", "access.log", "fcgigate.pid"):
        assert os.stat(run_dir / name).st_uid == account.pw_uid, name
    assert http_get(http_port)[0] == 200
    with FastCGIClient(str(sock)) as client:
        assert client.request(default_params("GET", "/")).status == 200
    assert f"running as user {USER} (uid {account.pw_uid}" in (run_dir / "error.log").read_text()
    # logrotate's rename + SIGUSR1: the processes, no longer root, open the new files.
    os.rename(run_dir / "access.log", run_dir / "access.log.1")
    os.rename(run_dir / "error.log", run_dir / "error.log.1")
    daemon.send_signal(signal.SIGUSR1)
    assert _wait_for(lambda: (run_dir / "access.log").exists() and (run_dir / "error.log").exists())
    for _ in range(20):
        assert http_get(http_port)[0] == 200
    assert _wait_for(lambda: (run_dir / "access.log").read_text().count("\n") == 20)
    assert os.stat(run_dir / "access.log").st_uid == account.pw_uid
    assert daemon.stop() == 0
    assert not (run_dir / "fcgigate.pid").exists(), "the pidfile must be removed at exit, as the user"
    assert not sock.exists()


def _wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not IS_ROOT, reason="only root can be refused for being root")
def test_root_is_refused_unless_allowed(daemon_factory: Any) -> None:
    port = free_port()
    daemon = daemon_factory({"bind": f"http://127.0.0.1:{port}"}, "tests.apps.hello:app",
                            env={ALLOW_ROOT_ENV: None}, wait=False)  # fmt: skip
    assert daemon.wait(10) == 1
    log = daemon.log()
    assert "refusing to run the app as root: set `user`" in log and "allow_root = true" in log
    assert "Traceback" not in log
    assert not can_connect(("127.0.0.1", port)), "nothing may be bound when the start is refused"
    # allow_root = true in the file (the env var is gone): it serves.
    allowed = daemon_factory({"allow_root": True}, "tests.apps.hello:app", env={ALLOW_ROOT_ENV: None})
    with allowed.client() as client:
        assert client.request(default_params("GET", "/")).status == 200


def test_another_user_needs_root(daemon_factory: Any, account: pwd.struct_passwd, run_dir: Path) -> None:
    """Not root, switching to another user is a clear start-up error, before
    binding. (When the suite runs as root, the daemon is started as the test user.)"""
    port = free_port()
    settings = {"bind": f"http://127.0.0.1:{port}", "user": "root" if IS_ROOT else "nobody"}
    if IS_ROOT:
        daemon = Daemon(run_dir / "as-user", settings, "tests.apps.hello:app", run_as=USER).start(wait=False)
    else:
        daemon = daemon_factory(settings, "tests.apps.hello:app", wait=False)
    assert daemon.wait(10) == 1
    log = daemon.log()
    assert f"setting 'user': cannot switch to user {settings['user']}" in log and "only root can" in log
    assert "Traceback" not in log
    assert not can_connect(("127.0.0.1", port))


def test_unknown_user_or_group_is_a_clear_error(daemon_factory: Any, tmp_path: Path) -> None:
    for settings, message in (
        ({"user": "no-such-user-here"}, "setting 'user': no such user 'no-such-user-here'"),
        ({"user": "nobody", "group": "no-such-group"}, "setting 'group': no such group 'no-such-group'"),
    ):
        daemon = daemon_factory(settings, "tests.apps.hello:app", wait=False)
        assert daemon.wait(10) == 1
        assert message in daemon.log() and "Traceback" not in daemon.log()
        check = subprocess.run(
            [sys.executable, "-m", "fcgigate", "check", "-c", str(daemon.ini)], capture_output=True,
            text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=tmp_path,
        )  # fmt: skip
        assert check.returncode == 1 and message in check.stderr
