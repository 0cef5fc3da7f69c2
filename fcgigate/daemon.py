"""Process-level OS plumbing: process titles, the pidfile, daemonizing.

Ground floor: python-daemon and setproctitle, no fcgigate import, nothing at
import time. Privileges and sd_notify join it with the rest of the operations
work.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile


def set_title(title: str) -> None:
    """``fcgigate: master [prod.ini]`` in ps and top (setproctitle; a no-op without it)."""
    try:
        import setproctitle
    except ImportError:  # an optional nicety: never a reason not to serve
        return
    setproctitle.setproctitle(title)


def config_label(path: str | None) -> str:
    """The config file's name, as the titles show it."""
    return os.path.basename(path) if path else "no config"


# -- the pidfile ------------------------------------------------------------------


class AlreadyRunning(RuntimeError):
    """Another fcgigate holds the pidfile."""


class PidFile:
    """``pidfile``: written atomically, locked for the master's life.

    A second instance finds the lock taken and refuses ("already running as
    PID n"); a pidfile whose process is gone (stale, after a crash) is
    replaced with a warning. The file is removed at exit, unless another
    master (an upgrade) wrote its own pid into it meanwhile.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self.stale_pid: int | None = None

    def check(self) -> None:
        """Refuse if a live instance holds the file (before forking anything)."""
        pid = read_pid(self.path)
        if pid is None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"already running as PID {pid} (pidfile {self.path})") from None
        finally:
            os.close(fd)
        if pid != os.getpid() and _pid_alive(pid) and _is_fcgigate(pid):
            raise AlreadyRunning(f"already running as PID {pid} (pidfile {self.path})")
        self.stale_pid = pid

    def write(self, pid: int) -> None:
        self.check()
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".fcgigate-pid-", dir=directory)
        try:
            os.write(fd, f"{pid}\n".encode())
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def rename_oldbin(self) -> None:
        """During an upgrade: this master's pidfile becomes ``<path>.oldbin``."""
        if self._fd is not None and read_pid(self.path) == os.getpid():
            os.replace(self.path, self.path + ".oldbin")
            self.path += ".oldbin"

    def remove(self) -> None:
        if self._fd is None:
            return
        try:
            if read_pid(self.path) == os.getpid():
                os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def read_pid(path: str) -> int | None:
    try:
        with open(path) as file:
            text = file.read().strip()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_fcgigate(pid: int) -> bool:
    """Is ``pid`` an fcgigate master (and not an unrelated process that got
    the pid after a reboot)? Read from its title, set by set_title."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"fcgigate" in file.read()
    except OSError:
        return True  # cannot tell: assume it is, and refuse


# -- daemonizing ------------------------------------------------------------------


def daemonize(preserve: list[int], umask: int, stream_path: str | None) -> int:
    """Detach with python-daemon, after a readiness handshake is set up.

    The launching process forks; the child becomes the daemon (python-daemon's
    double fork, new session, umask, fds closed except ``preserve``,
    standard streams to ``stream_path`` or /dev/null). The launcher does not
    return: it waits until the daemon reports through the pipe (see
    :func:`report_ready`) and exits 0 when it is serving, or 1 with the
    reason. In the daemon, this returns the write end of that pipe.
    """
    import daemon as python_daemon  # the dependency is only needed here

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:  # the launcher
        os.close(write_end)
        chunks = []
        while not chunks or not chunks[-1].endswith(b"\n"):  # one line, or EOF
            data = os.read(read_end, 4096)
            if not data:
                break
            chunks.append(data)
        os.waitpid(pid, 0)
        message = b"".join(chunks).decode("utf-8", "replace").strip()
        if message == "ready":
            os._exit(0)
        reason = message or "the daemon exited before it was ready; see the error log"
        sys.stderr.write(f"fcgigate: {reason}\n")
        sys.stderr.flush()
        os._exit(1)
    os.close(read_end)
    stream = open(stream_path, "a", buffering=1) if stream_path else None  # noqa: SIM115 - the daemon's stderr
    context = python_daemon.DaemonContext(
        working_directory=os.getcwd(),
        umask=umask,
        detach_process=True,
        files_preserve=[*preserve, write_end],
        stdout=stream,
        stderr=stream,
        signal_map={},  # the master installs its own handlers
        prevent_core=False,
    )
    context.open()
    return write_end


def report_ready(fd: int | None, message: str = "ready") -> None:
    """Tell the waiting launcher how it went ("ready", or the reason it failed)."""
    if fd is None:
        return
    try:
        os.write(fd, message.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass
    finally:
        os.close(fd)
