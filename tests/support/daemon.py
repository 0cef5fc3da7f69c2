"""Start the real fcgigate daemon as a subprocess, as a user would, and stop it.

``Daemon(tmp_path, {"threads": 4}, app="tests.apps.echo:app")`` writes
``<tmp>/fcgigate.ini``, runs ``python -m fcgigate -c <tmp>/fcgigate.ini`` with its
output in ``<tmp>/daemon.log``, and waits until every bind address accepts a
connection. A test talks to it through ``client()`` and ends it with ``stop()``,
which returns the exit code. Every failure message carries the daemon's log.

Without a ``bind`` setting the daemon gets a free TCP port on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.fcgi import FastCGIClient, parse_address

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
# Variables the daemon reads as settings; a developer's own must not leak into tests.
ENV_PREFIX = "FCGIGATE_"
# Except this one: fcgigate refuses to run an app as root, and CI runs the suite
# as root. tests/conftest.py sets it then; the tests of the refusal remove it.
ALLOW_ROOT_ENV = "FCGIGATE_ALLOW_ROOT"


def clean_environ() -> dict[str, str]:
    """os.environ without the developer's FCGIGATE_* variables (ALLOW_ROOT_ENV stays)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(ENV_PREFIX) or name == ALLOW_ROOT_ENV
    }


class DaemonError(AssertionError):
    """The daemon failed to start, to stop, or to do what a test expected of it."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel's pick for port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ini_value(value: Any) -> str:
    """A Python value as INI text: booleans as true/false, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(ini_value(item) for item in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def split_binds(value: Any) -> list[str]:
    """The bind URLs of a ``bind`` setting (a list, or text separated by commas or newlines)."""
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    return [item.strip() for item in str(value).replace("\n", ",").split(",") if item.strip()]


def short_socket_dir() -> Path:
    """A fresh directory under /tmp for unix sockets: sun_path holds only 107 bytes,
    which a pytest tmp_path plus a long test name can exceed. The caller removes it."""
    return Path(tempfile.mkdtemp(prefix="fcgigate-", dir="/tmp"))


def can_connect(address: Any, timeout: float = 0.5) -> bool:
    """True if something accepts connections at ``address`` (a tuple, a path or a
    bind URL of either protocol: only the address matters here)."""
    if isinstance(address, str) and address.startswith(("http://", "http+unix://", "https://")):
        address = "fastcgi" + address[len("https" if address.startswith("https") else "http") :]
    family, sockaddr = parse_address(address)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except OSError:
            return False
    return True


def wait_lines(path: Path, count: int, timeout: float = 5.0) -> list[str]:
    """The lines of ``path`` (a log) once there are ``count``, or what there is after ``timeout``."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return lines


def _process_state(pid: int) -> str | None:
    """The State letter from /proc/<pid>/status, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _alive(pid: int) -> bool:
    state = _process_state(pid)
    return state is not None and state not in ("Z", "X")


class Daemon:
    """One fcgigate daemon run; a context manager that stops it on exit.

    ``settings`` become the ``[fcgigate]`` section (values through ``ini_value``),
    ``sections`` (name -> settings) the sections written after it;
    ``app`` is a shortcut for ``settings["app"]``; ``argv`` is added after
    ``-c <ini>``; ``env`` adds (or, with None values, removes) environment
    variables. With ``settings["daemon"]`` true the launched process is expected
    to exit 0 after daemonizing; the daemon's pid then comes from the pidfile
    (``<tmp>/fcgigate.pid`` unless ``pidfile`` is set) and ``stop()`` returns None.
    """

    def __init__(
        self,
        tmp_path: str | os.PathLike,
        settings: Mapping[str, Any] | None = None,
        app: str | None = None,
        argv: Sequence[str] = (),
        env: Mapping[str, str | None] | None = None,
        *,
        startup_timeout: float = STARTUP_TIMEOUT,
        run_as: str | None = None,
        sections: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.dir = Path(tmp_path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings: dict[str, Any] = dict(settings or {})
        if app is not None:
            self.settings["app"] = app
        self.settings.setdefault("bind", f"fastcgi://127.0.0.1:{free_port()}")
        # One worker unless a test asks for more: what a test measures (its
        # memory, which process served) is then one process, on any machine.
        self.settings.setdefault("workers", 1)
        self.daemonize = ini_value(self.settings.get("daemon", False)).lower() in ("true", "yes", "on", "1")
        if self.daemonize:
            self.settings.setdefault("pidfile", str(self.dir / "fcgigate.pid"))
        self.argv = list(argv)
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.run_as = run_as  # a user name: start the daemon as that user (the test runs as root)
        # More INI sections after [fcgigate], e.g. {"mount:/a": {"app": "tests.apps.echo:app"}}
        self.sections = {name: dict(values) for name, values in (sections or {}).items()}
        self.ini = self.dir / "fcgigate.ini"
        self.log_path = self.dir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        self._pid: int | None = None
        self._stopped = False

    # -- what it serves

    @property
    def binds(self) -> list[str]:
        """The bind URLs, as written in the INI file."""
        return split_binds(self.settings["bind"])

    def address(self, index: int = 0) -> str:
        """Bind URL number ``index`` (accepted by FastCGIClient and the Nginx fixture)."""
        return self.binds[index]

    def client(self, index: int = 0, timeout: float = 10.0) -> FastCGIClient:
        """A FastCGIClient connected to bind address ``index``."""
        return FastCGIClient(self.address(index), timeout)

    @property
    def pid(self) -> int:
        """The daemon's pid (the master's, or the daemonized process's)."""
        if self._pid is None:
            raise DaemonError("the daemon has not been started")
        return self._pid

    # -- files

    def write_ini(self) -> Path:
        lines = ["; written by tests/support/daemon.py", "[fcgigate]"]
        lines += [f"{name} = {ini_value(value)}" for name, value in self.settings.items()]
        for section, values in self.sections.items():
            lines += ["", f"[{section}]", *(f"{name} = {ini_value(value)}" for name, value in values.items())]
        self.ini.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.ini

    def log(self) -> str:
        """Everything the daemon wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _fail(self, why: str) -> DaemonError:
        return DaemonError(f"{why}\n--- {self.ini}:\n{self._ini_text()}--- {self.log_path}:\n{self.log()}")

    def _ini_text(self) -> str:
        try:
            return self.ini.read_text(encoding="utf-8")
        except FileNotFoundError:
            return "(not written)\n"

    def environment(self) -> dict[str, str]:
        env = clean_environ()
        path = [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env["PYTHONPATH"] = os.pathsep.join(path)
        env["PYTHONUNBUFFERED"] = "1"
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    # -- life cycle

    def command(self) -> list[str]:
        return [sys.executable, "-m", "fcgigate", "-c", str(self.ini), *self.argv]

    def start(self, wait: bool = True) -> Daemon:
        """Launch it; with ``wait``, return once every bind address accepts connections."""
        if self.proc is not None:
            raise DaemonError("the daemon was already started")
        self.write_ini()
        with open(self.log_path, "ab") as log:
            # Its own session, so that a test run interrupted with ^C does not signal it
            # and a stuck daemon can be killed with all its workers (killpg).
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=self.environment(),
                start_new_session=True,
                **self._account(),
            )
        self._pid = self.proc.pid
        if wait:
            self.wait_ready()
        return self

    def _account(self) -> dict[str, Any]:
        if self.run_as is None:
            return {}
        import pwd

        entry = pwd.getpwnam(self.run_as)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until every bind address accepts a connection; DaemonError if it exits first."""
        assert self.proc is not None, "start() first"
        timeout = self.startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if self.daemonize:
            self._wait_daemonized(deadline)
        waiting = list(self.binds)
        while waiting:
            if not self._running():
                code = self.proc.poll() if not self.daemonize else None
                raise self._fail(f"the daemon exited before it was ready (exit code {code})")
            waiting = [address for address in waiting if not can_connect(address)]
            if waiting and time.monotonic() > deadline:
                self.kill()
                raise self._fail(f"the daemon was not ready after {timeout}s: {waiting} not accepting")
            if waiting:
                time.sleep(0.05)

    def _wait_daemonized(self, deadline: float) -> None:
        assert self.proc is not None
        remaining = max(0.1, deadline - time.monotonic())
        try:
            code = self.proc.wait(remaining)
        except subprocess.TimeoutExpired:
            self.kill()
            raise self._fail("with daemon = true the launched process did not exit") from None
        if code != 0:
            raise self._fail(f"with daemon = true the launched process exited with {code}")
        pidfile = Path(self.settings["pidfile"])
        while time.monotonic() < deadline:
            try:
                self._pid = int(pidfile.read_text().strip())
                return
            except (FileNotFoundError, ValueError):
                time.sleep(0.05)
        raise self._fail(f"no pid in {pidfile}")

    def _running(self) -> bool:
        if self.daemonize:
            return self._pid is not None and _alive(self._pid)
        return self.proc is not None and self.proc.poll() is None

    @property
    def running(self) -> bool:
        return self._running()

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the daemon (the master)."""
        os.kill(self.pid, sig)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Wait for the daemon to exit by itself; its exit code (None when daemonized).

        DaemonError (after killing it) if it is still running after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        if not self.daemonize:
            assert self.proc is not None, "start() first"
            try:
                self.returncode = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise self._fail(f"the daemon did not exit within {timeout}s; killed it") from None
        else:
            while _alive(self.pid):
                if time.monotonic() > deadline:
                    self.kill()
                    raise self._fail(f"the daemon did not exit within {timeout}s; killed it")
                time.sleep(0.05)
        self._stopped = True
        self._check_leftovers()
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig`` and wait for the exit; the exit code (None when daemonized).

        Idempotent. If the daemon is still there after ``timeout`` it is killed with
        SIGKILL, with all its processes, and DaemonError is raised. So is a daemon
        that exits but leaves processes of its session (workers) behind.
        """
        if self.proc is None or self._stopped:
            return self.returncode
        if self._running():
            try:
                self.send_signal(sig)
            except ProcessLookupError:
                pass
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the daemon and every process of its session."""
        for pid in {self._pid, self.proc.pid if self.proc else None} - {None}:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.returncode = self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._stopped = True

    def _check_leftovers(self, grace: float = 2.0) -> None:
        """Once the daemon exited, its session must empty within ``grace`` seconds.

        Orphaned workers are killed, then reported as a DaemonError.
        """
        deadline = time.monotonic() + grace
        while (left := self.leftover_processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if left:
            assert self.proc is not None
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            raise self._fail(f"the daemon exited but left processes behind: {left} (killed them)")

    def __enter__(self) -> Daemon:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection

    def rss_kb(self, pid: int | None = None, field: str = "VmRSS") -> int:
        """VmRSS (or another /proc status ``field``, e.g. VmHWM) in KiB: of
        ``pid``, else of the master and all its workers together."""
        pids = [pid] if pid else [self.pid, *self.children()]
        total = 0
        for one in pids:
            with open(f"/proc/{one}/status") as status:
                for line in status:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
                        break
                else:
                    raise DaemonError(f"no {field} for pid {one}")
        return total

    def worker_pids(self, count: int = 1, timeout: float = 5.0) -> list[int]:
        """The workers' pids, once ``count`` of them run (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(self.children()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.children()

    def children(self) -> list[int]:
        """Pids of the daemon's live child processes (its workers), in pid order."""
        return sorted(pid for pid in _child_pids(self.pid) if _alive(pid))

    def leftover_processes(self) -> list[int]:
        """Pids still in the daemon's session (its process group) after it exited."""
        if self.proc is None:
            return []
        return [pid for pid in _all_pids() if _pgid(pid) == self.proc.pid and _alive(pid)]


def _all_pids() -> Iterable[int]:
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    return text[text.rindex(")") + 2 :].split()


def _child_pids(parent: int) -> list[int]:
    children = []
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None and int(fields[1]) == parent:
            children.append(pid)
    return children


def _pgid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields is not None else None
