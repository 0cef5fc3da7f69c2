"""Bind the listeners named by the ``bind`` setting.

Binding happens in the master, before anything else can fail later for a
reason the operator would rather hear about at once ("address already in
use"), and before privileges are dropped, so that port 80 or a socket under
/run works.
"""

from __future__ import annotations

import errno
import grp
import ipaddress
import os
import pwd
import socket
import stat
from typing import Any


class BindError(OSError):
    """A listener could not be bound; the message names it and why."""


def bind(
    address: Any, backlog: int = 2048, mode: int = 0o660, owner: str = "", group: str = ""
) -> socket.socket:
    """A listening, non-blocking socket for one ``BindAddress`` (from config).

    A unix socket gets ``mode`` and, when given, ``owner`` and ``group`` (names
    or numbers; changing them needs root, which is why the master binds before
    it drops privileges).
    """
    try:
        if address.family == "unix":
            sock = _bind_unix(address.path, backlog, mode)
            try:
                if owner or group:
                    os.chown(address.path, _uid(owner), _gid(group))
            except (OSError, KeyError) as exc:
                sock.close()
                os.unlink(address.path)
                why = f"no such user or group {exc.args[0]!r}" if isinstance(exc, KeyError) else exc.strerror
                raise OSError(
                    getattr(exc, "errno", errno.EINVAL), f"cannot give it owner/group: {why}"
                ) from None
            return sock
        return _bind_tcp(address.host, address.port, backlog)
    except OSError as exc:
        raise BindError(exc.errno, f"cannot listen on {address.url}: {exc.strerror or exc}") from None


def _uid(owner: str) -> int:
    if not owner:
        return -1
    return int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid


def _gid(group: str) -> int:
    if not group:
        return -1
    return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid


SD_LISTEN_FDS_START = 3


def systemd_sockets() -> list[tuple[socket.socket, str]]:
    """Sockets handed over by systemd socket activation, as ``(socket, name)``.

    sd_listen_fds(3): ``LISTEN_PID`` must be this process and ``LISTEN_FDS``
    counts the descriptors from fd 3; ``LISTEN_FDNAMES`` (colon-separated)
    names them (``FileDescriptorName=`` in the .socket unit). The variables
    are removed so that no child process takes them for its own.
    """
    try:
        if int(os.environ.get("LISTEN_PID", "0")) != os.getpid():
            return []
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    names = os.environ.get("LISTEN_FDNAMES", "").split(":")
    for variable in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(variable, None)
    found = []
    for i in range(count):
        fd = SD_LISTEN_FDS_START + i
        try:
            sock = socket.socket(fileno=fd)
        except OSError as exc:
            raise BindError(
                exc.errno, f"LISTEN_FDS hands over fd {fd}, which is not an open socket"
            ) from None
        os.set_inheritable(fd, False)
        sock.setblocking(False)
        found.append((sock, names[i] if i < len(names) else ""))
    return found


def same_address(sock: socket.socket, address: Any) -> bool:
    """Is ``sock`` bound where the config's ``address`` says?"""
    try:
        name = sock.getsockname()
    except OSError:
        return False
    if address.family == "unix":
        return sock.family == socket.AF_UNIX and name == address.path
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    return name[1] == address.port and ipaddress_equal(name[0], address.host)


def ipaddress_equal(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _bind_tcp(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _bind_unix(path: str, backlog: int, mode: int) -> socket.socket:
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Create it with no permissions for others at all, then open it up to
        # ``mode``: no window where a looser umask leaves it world-writable.
        old_umask = os.umask(0o777)
        try:
            sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, mode)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _remove_stale_socket(path: str) -> None:
    """Remove a socket file left by a dead server; refuse a live one or a non-socket."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: stale
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "another server is listening on it")


def describe(sock: socket.socket, protocol: str = "fastcgi") -> str:
    """The URL a bound socket listens on (with the real port if 0 was asked)."""
    if sock.family == socket.AF_UNIX:
        return f"{protocol}+unix://{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    return (
        f"{protocol}://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{protocol}://{host}:{port}"
    )


def close(sock: socket.socket, unlink: bool = True) -> None:
    """Close a listener; a unix socket's file is removed with it, unless
    ``unlink`` is false (a socket systemd made: its file is systemd's)."""
    path = sock.getsockname() if sock.family == socket.AF_UNIX and unlink else None
    sock.close()
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass
