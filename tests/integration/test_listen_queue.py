"""sockets.listen_queue: the accept queue of a listening socket, now and its limit.

The status page reports it per listener (TCP through TCP_INFO, unix sockets
through NETLINK_SOCK_DIAG): connections the kernel completed that no worker
has accepted yet. Checked here against sockets that nobody accepts from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest

from fcgigate.sockets import listen_queue

BACKLOG = 16
Connect = Callable[[], socket.socket]


@contextlib.contextmanager
def listener(kind: str, backlog: int = BACKLOG) -> Iterator[tuple[socket.socket, Connect]]:
    """A listening socket and a function that opens one client connection to it (never accepted)."""
    tmp = tempfile.mkdtemp(prefix="listenq-")
    clients: list[socket.socket] = []
    if kind == "unix":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: object = os.path.join(tmp, "s")
        server.bind(address)
    else:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        address = server.getsockname()
    server.listen(backlog)

    def connect() -> socket.socket:
        client = socket.socket(server.family, socket.SOCK_STREAM)
        client.settimeout(2)
        client.connect(address)  # completes without accept(): the kernel queues it
        clients.append(client)
        return client

    try:
        yield server, connect
    finally:
        for client in clients:
            client.close()
        server.close()
        shutil.rmtree(tmp)


def settled(sock: socket.socket, expected: tuple[int, int]) -> tuple[int, int] | None:
    """listen_queue(sock) once it equals ``expected`` (TCP's last ACK may land a
    moment after connect() returns), or what it is after 2 s."""
    deadline = time.monotonic() + 2
    while (found := listen_queue(sock)) != expected and time.monotonic() < deadline:
        time.sleep(0.005)
    return found


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_counts_connections_nobody_accepted(kind: str) -> None:
    with listener(kind) as (server, connect):
        assert listen_queue(server) == (0, BACKLOG)
        for _ in range(5):
            connect()
        assert settled(server, (5, BACKLOG)) == (5, BACKLOG)
        accepted = [server.accept()[0] for _ in range(2)]
        assert listen_queue(server) == (3, BACKLOG)
        for conn in accepted:
            conn.close()


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_the_limit_is_capped_by_somaxconn(kind: str) -> None:
    with open("/proc/sys/net/core/somaxconn") as file:
        somaxconn = int(file.read())
    with listener(kind, backlog=somaxconn + 1000) as (server, _connect):
        assert listen_queue(server) == (0, somaxconn)


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_sockets_that_do_not_listen_give_none(kind: str) -> None:
    family = socket.AF_UNIX if kind == "unix" else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as fresh:
        assert listen_queue(fresh) is None
    with socket.socket(family, socket.SOCK_DGRAM) as datagram:
        assert listen_queue(datagram) is None
    with listener(kind) as (server, connect):
        client = connect()
        accepted, _ = server.accept()
        with accepted:
            assert listen_queue(client) is None and listen_queue(accepted) is None
        server.close()
        assert listen_queue(server) is None  # closed: None, not an exception
