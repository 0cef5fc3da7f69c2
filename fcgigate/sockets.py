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
import struct
import time
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
            try:
                ids = (_uid(owner), _gid(group)) if owner or group else None
            except KeyError as exc:
                why = f"cannot give it owner/group: no such user or group {exc.args[0]!r}"
                raise OSError(errno.EINVAL, why) from None
            return _bind_unix(address.path, backlog, mode, ids)
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


def _bind_unix(path: str, backlog: int, mode: int, ids: tuple[int, int] | None) -> socket.socket:
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Create it with no permissions for others at all, then open it up to
        # ``mode`` and give it its owner: no window where a looser umask
        # leaves it world-writable, and nobody connects before it is what the
        # settings say (listen comes last).
        old_umask = os.umask(0o777)
        try:
            sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, mode)
        if ids is not None:
            try:
                os.chown(path, *ids)
            except OSError as exc:
                os.unlink(path)
                raise OSError(exc.errno, f"cannot give it owner/group: {exc.strerror}") from None
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


# -- listen queues ------------------------------------------------------------

# include/net/tcp_states.h; unix_diag reports this sk_state for a listening AF_UNIX socket too
_TCP_LISTEN = 10

# struct tcp_info, include/uapi/linux/tcp.h: eight __u8 (state, ca_state, retransmits, probes, backoff,
# options, the snd/rcv_wscale nibbles, the delivery_rate_app_limited/fastopen_client_fail bits), then __u32
# rto, ato, snd_mss, rcv_mss (offsets 8-23), unacked (24), sacked (28).
_TCP_INFO = struct.Struct("=B7x16xII")

# include/uapi/linux/netlink.h, sock_diag.h, unix_diag.h.  The socket module has no NETLINK_SOCK_DIAG.
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLMSG_ERROR = 2
_NLM_F_REQUEST = 0x1
_UDIAG_SHOW_RQLEN = 0x10
_UNIX_DIAG_RQLEN = 4
_NLA_TYPE_MASK = 0x3FFF  # ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER)
_NLMSGHDR = struct.Struct("=IHHII")  # nlmsg_len, nlmsg_type, nlmsg_flags, nlmsg_seq, nlmsg_pid
_UNIX_DIAG_REQ = struct.Struct("=BBHIIIII")  # family, protocol, pad, states, ino, show, cookie[2]
_UNIX_DIAG_MSG = struct.Struct("=BBBxIII")  # family, type, state, pad, ino, cookie[2]
_NLATTR = struct.Struct("=HH")  # nla_len, nla_type
_UNIX_DIAG_RQLEN_VALUE = struct.Struct("=II")  # udiag_rqueue, udiag_wqueue
_NETLINK_TIMEOUT = 0.5


def listen_queue(sock: socket.socket) -> tuple[int, int] | None:
    """(connections waiting in the accept queue now, its limit) of a listening socket, or None if unknown.

    The limit is the backlog given to listen(), capped by net.core.somaxconn; Linux queues one connection
    more than that before it pushes back (drops the handshake's ACK for TCP, blocks or refuses connect()
    for AF_UNIX).  Both numbers are what ``ss -l`` prints as Recv-Q and Send-Q.

    - TCP (AF_INET/AF_INET6): getsockopt(IPPROTO_TCP, TCP_INFO).  For a socket in TCP_LISTEN,
      tcp_get_info() (net/ipv4/tcp.c) aliases tcpi_unacked to sk_ack_backlog (children ready for accept())
      and tcpi_sacked to sk_max_ack_backlog.
    - AF_UNIX: the kernel exports no counter for this through /proc (/proc/net/unix has no queue column)
      or ioctl (SIOCINQ is EINVAL on a listener), so this asks NETLINK_SOCK_DIAG, as ``ss -xl`` does: an
      exact SOCK_DIAG_BY_FAMILY lookup by the socket's inode with UDIAG_SHOW_RQLEN, whose UNIX_DIAG_RQLEN
      is (receive-queue length = embryo connections, sk_max_ack_backlog) for a listener
      (net/unix/diag.c).  Needs the unix_diag module (CONFIG_UNIX_DIAG), no privilege; a sandbox that
      refuses netlink, or a socket from another network namespace, gives None.

    Never raises OSError: a closed, non-listening or non-stream socket, or any failure, gives None.
    """
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
            if len(info) < _TCP_INFO.size:
                return None
            state, queued, limit = _TCP_INFO.unpack(info)
            return (queued, limit) if state == _TCP_LISTEN else None
        if sock.family == socket.AF_UNIX:
            inode = os.fstat(sock.fileno()).st_ino
            with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
                return _unix_diag_rqlen(nl, inode, 1, _NETLINK_TIMEOUT)
    except OSError:  # EBADF (closed), ENOPROTOOPT, EPROTONOSUPPORT, EPERM, timeout...
        return None
    return None


def _unix_diag_rqlen(nl: socket.socket, inode: int, seq: int, timeout: float) -> tuple[int, int] | None:
    """Ask NETLINK_SOCK_DIAG socket ``nl`` for UNIX_DIAG_RQLEN of the listening AF_UNIX socket ``inode``."""
    if not 0 < inode <= 0xFFFFFFFF:  # udiag_ino is a __u32; sockfs inode numbers fit
        return None
    request = _UNIX_DIAG_REQ.pack(
        socket.AF_UNIX, 0, 0, 1 << _TCP_LISTEN, inode, _UDIAG_SHOW_RQLEN, 0xFFFFFFFF, 0xFFFFFFFF
    )  # udiag_cookie {~0, ~0} = INET_DIAG_NOCOOKIE; no NLM_F_DUMP: an exact lookup, one reply
    deadline = time.monotonic() + timeout
    nl.settimeout(timeout)
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, seq, 0)
    nl.send(header + request)
    while True:  # skips stale replies (another seq) left on a reused socket, until the deadline
        data = nl.recv(32768)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, kind, _flags, reply_seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size or offset + length > len(data):
                break
            if reply_seq == seq:  # NLMSG_ERROR (ENOENT, EPERM...) or anything unexpected: unknown
                if kind != _SOCK_DIAG_BY_FAMILY:
                    return None
                return _parse_unix_diag_msg(data[offset + _NLMSGHDR.size : offset + length], inode)
            offset += (length + 3) & ~3
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        nl.settimeout(remaining)


def _parse_unix_diag_msg(payload: bytes, inode: int) -> tuple[int, int] | None:
    if len(payload) < _UNIX_DIAG_MSG.size:
        return None
    family, _type, state, reply_inode, _cookie0, _cookie1 = _UNIX_DIAG_MSG.unpack_from(payload)
    if family != socket.AF_UNIX or reply_inode != inode or state != _TCP_LISTEN:
        return None
    offset = _UNIX_DIAG_MSG.size
    while offset + _NLATTR.size <= len(payload):
        length, kind = _NLATTR.unpack_from(payload, offset)
        if length < _NLATTR.size or offset + length > len(payload):
            return None
        if kind & _NLA_TYPE_MASK == _UNIX_DIAG_RQLEN and length >= _NLATTR.size + _UNIX_DIAG_RQLEN_VALUE.size:
            queued, limit = _UNIX_DIAG_RQLEN_VALUE.unpack_from(payload, offset + _NLATTR.size)
            return queued, limit
        offset += (length + 3) & ~3
    return None
