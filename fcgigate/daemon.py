"""Process-level OS plumbing: process titles, the pidfile, daemonizing,
dropping privileges, and telling systemd how we are (sd_notify).

Ground floor: python-daemon and setproctitle, no fcgigate import, nothing at
import time.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import socket
import sys
import tempfile
import time
from dataclasses import dataclass


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


class PidFileError(RuntimeError):
    """The pidfile cannot be written (no such directory, no permission)."""


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
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise PidFileError(f"setting 'pidfile': cannot write {self.path}: no directory {directory}")
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
        if pid != os.getpid() and pid_alive(pid) and _is_fcgigate(pid):
            raise AlreadyRunning(f"already running as PID {pid} (pidfile {self.path})")
        self.stale_pid = pid

    def write(self, pid: int) -> None:
        self.check()
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            fd, tmp = tempfile.mkstemp(prefix=".fcgigate-pid-", dir=directory)
        except OSError as exc:
            raise PidFileError(f"setting 'pidfile': cannot write {self.path}: {exc.strerror}") from None
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

    def chown(self, uid: int, gid: int) -> None:
        """Give the file to the user we are about to become, so that the master
        can still remove it at exit (in a sticky directory such as /tmp, only
        the owner may)."""
        if self._fd is not None:
            os.fchown(self._fd, uid, gid)

    def remove(self) -> str:
        """Remove the file if it is still ours; returns why not, if it could not."""
        if self._fd is None:
            return ""
        problem = ""
        try:
            if read_pid(self.path) == os.getpid():
                os.unlink(self.path)
        except OSError as exc:
            problem = f"could not remove the pidfile {self.path}: {exc.strerror}"
        os.close(self._fd)
        self._fd = None
        return problem


def read_pid(path: str) -> int | None:
    try:
        with open(path) as file:
            text = file.read().strip()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int) -> bool:
    """Is there a process ``pid`` (ours or not: EPERM means it exists)?"""
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


# -- privileges -------------------------------------------------------------------


class PrivilegeError(RuntimeError):
    """Cannot become the configured user, or would run the app as root."""


@dataclass(frozen=True)
class Account:
    """Who the processes become: ``user``/``group`` resolved on this machine."""

    uid: int
    gid: int
    name: str | None  # None for a numeric uid with no passwd entry
    home: str | None

    @property
    def label(self) -> str:
        return self.name or str(self.uid)


def resolve_account(user: str, group: str) -> Account | None:
    """The account for the ``user`` and ``group`` settings (None when neither
    is set); PrivilegeError names the setting of an unknown user or group."""
    if not user and not group:
        return None
    entry = None
    if user:
        try:
            entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        except KeyError:
            if not user.isdigit():
                raise PrivilegeError(f"setting 'user': no such user {user!r} on this machine") from None
    uid = entry.pw_uid if entry else (int(user) if user else os.geteuid())
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise PrivilegeError(f"setting 'group': no such group {group!r} on this machine") from None
    elif entry is not None:
        gid = entry.pw_gid
    else:
        gid = uid if user else os.getegid()
    return Account(uid, gid, entry.pw_name if entry else None, entry.pw_dir if entry else None)


def drop_privileges(account: Account | None) -> None:
    """Become ``account`` for good: supplementary groups, group, then user (the
    saved ids too, so there is no way back). A process that already is that
    account (an upgraded master, or one started by that user) has nothing to do."""
    if account is None or (os.geteuid() == account.uid and os.getegid() == account.gid):
        return
    if os.geteuid() != 0:
        raise PrivilegeError(
            f"cannot switch to user {account.label} (uid {account.uid}, gid {account.gid}): "
            f"only root can, and this process runs as uid {os.geteuid()}"
        )
    try:
        if account.name is not None:
            os.initgroups(account.name, account.gid)
        else:
            os.setgroups([account.gid])
        os.setresgid(account.gid, account.gid, account.gid)
        os.setresuid(account.uid, account.uid, account.uid)
    except OSError as exc:
        raise PrivilegeError(f"cannot switch to user {account.label}: {exc.strerror}") from None
    if account.uid != 0 and _can_regain_root():
        raise PrivilegeError(f"switched to user {account.label} but could become root again; refusing")
    if account.name is not None:
        os.environ.update(HOME=account.home or "/", USER=account.name, LOGNAME=account.name)


def _can_regain_root() -> bool:
    try:
        os.setuid(0)
    except PermissionError:
        return False
    return True


def check_privileges(account: Account | None, allow_root: bool) -> None:
    """Refuse early what would fail later: a user we cannot become (only root
    can switch), or an app that would run as root without ``allow_root``."""
    euid = os.geteuid()
    if account is not None and euid not in (0, account.uid):
        raise PrivilegeError(
            f"setting 'user': cannot switch to user {account.label}: only root can, "
            f"and fcgigate was started as uid {euid}"
        )
    if (account.uid if account is not None else euid) == 0 and not allow_root:
        raise PrivilegeError(
            "refusing to run the app as root: set `user` (and `group`) to an unprivileged account, "
            "e.g. user = www-data; or set allow_root = true if you really mean it"
        )


def give_files(paths: list[str], account: Account | None) -> None:
    """Create the log files as root, owned by ``account``, so that the
    processes can reopen them after dropping privileges (SIGUSR1, logrotate)."""
    if account is None or os.geteuid() != 0:
        return
    for path in paths:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            os.fchown(fd, account.uid, account.gid)
        finally:
            os.close(fd)


# -- sd_notify --------------------------------------------------------------------


def sd_notify(*lines: str) -> bool:
    """Send ``lines`` ("READY=1", "STATUS=...") to systemd's ``NOTIFY_SOCKET``.

    A no-op (False) when the variable is unset: not started by systemd, or
    by a unit that is not Type=notify. An address starting with "@" is in
    the abstract namespace. Errors are not fatal: systemd going away must
    not stop the service.
    """
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or not lines:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(lines).encode("utf-8", "replace"), address)
    except OSError:
        return False
    return True


def monotonic_usec() -> str:
    """``MONOTONIC_USEC=``, as RELOADING=1 wants it (CLOCK_MONOTONIC, microseconds)."""
    return f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``WatchdogSec``), or None when
    systemd does not watch this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6
