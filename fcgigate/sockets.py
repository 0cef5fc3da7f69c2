"""Bind the listeners named by the ``bind`` setting.

Binding happens in the master, before anything else can fail later for a
reason the operator would rather hear about at once ("address already in
use"), and before privileges are dropped, so that port 80 or a socket under
/run works.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any


class BindError(OSError):
    """A listener could not be bound; the message names it and why."""


def bind(address: Any, backlog: int = 2048, mode: int = 0o660) -> socket.socket:
    """A listening, non-blocking socket for one ``BindAddress`` (from config)."""
    try:
        if address.family == "unix":
            return _bind_unix(address.path, backlog, mode)
        return _bind_tcp(address.host, address.port, backlog)
    except OSError as exc:
        raise BindError(exc.errno, f"cannot listen on {address.url}: {exc.strerror or exc}") from None


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


def close(sock: socket.socket) -> None:
    """Close a listener; a unix socket's file is removed with it."""
    path = sock.getsockname() if sock.family == socket.AF_UNIX else None
    sock.close()
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass
