"""A unix datagram socket that also tells which process sent each datagram
(SO_PASSCRED: the kernel attaches the sender's credentials, as systemd and
syslog daemons read them)."""

from __future__ import annotations

import socket
import struct

UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


def receive_with_sender(sock: socket.socket, size: int, timeout: float) -> tuple[bytes, int] | None:
    """The next datagram on ``sock`` and its sender's pid (0 when the kernel
    said nothing: UDP), or None after ``timeout`` seconds. The socket must have
    SO_PASSCRED set before the datagram arrived."""
    sock.settimeout(max(timeout, 0.001))
    try:
        data, ancillary, _flags, _addr = sock.recvmsg(size, socket.CMSG_SPACE(UCRED.size))
    except TimeoutError:
        return None
    pid = 0
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = UCRED.unpack(value[: UCRED.size])[0]
    return data, pid
