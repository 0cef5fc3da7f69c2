"""The worker's accept path on real sockets, with both event loops: what a
client sees of a connection (answered, TCP_NODELAY on), and what the worker
counts (no connection left pending, none left open, accepting paused at
capacity and resumed).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fcgigate.loops import new_event_loop
from fcgigate.serve.http import HTTPProtocol
from fcgigate.serve.runner import Runner
from fcgigate.serve.state import ServerState, ServeSettings
from fcgigate.sockets import describe
from fcgigate.worker import Acceptor

pytestmark = pytest.mark.unit

REQUEST = b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def app(environ: dict, start_response: Any) -> list[bytes]:
    body = f"{environ['REMOTE_ADDR']} {environ['SERVER_NAME']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture(params=["asyncio", "uvloop"])
def served(request: Any, tmp_path: Path) -> Any:
    """(loop, state, make_acceptor(family) -> (acceptor, address))."""
    loop = new_event_loop(request.param)
    state = ServerState(app, ServeSettings(threads=0), loop)
    state.runner = Runner(state)
    socks: list[socket.socket] = []

    def make(family: int, has_capacity: Any = None) -> tuple[Acceptor, Any]:
        sock = socket.socket(family, socket.SOCK_STREAM)
        socks.append(sock)
        address: Any = ("127.0.0.1", 0) if family == socket.AF_INET else str(tmp_path / "s.sock")
        sock.bind(address)
        sock.listen(64)
        sock.setblocking(False)
        url = describe(sock, "http")
        acceptor = Acceptor(loop, sock, lambda: HTTPProtocol(state, url), url, has_capacity)
        acceptor.start()
        return acceptor, sock.getsockname()

    yield loop, state, make
    for sock in socks:
        sock.close()
    loop.close()


async def fetch(family: int, address: Any) -> bytes:
    if family == socket.AF_INET:
        reader, writer = await asyncio.open_connection(*address)
    else:
        reader, writer = await asyncio.open_unix_connection(address)
    writer.write(REQUEST)
    data = await reader.read()
    writer.close()
    return data


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_UNIX], ids=["tcp", "unix"])
def test_connections_are_served_and_leave_nothing_counted(served: Any, family: int) -> None:
    loop, state, make = served
    acceptor, address = make(family)

    async def main() -> list[bytes]:
        answers = await asyncio.gather(*(fetch(family, address) for _ in range(20)))
        for _ in range(20):  # the server's side closes after the client's
            if not state.connections:
                break
            await asyncio.sleep(0.01)
        return answers

    answers = loop.run_until_complete(main())
    expected = b"127.0.0.1 127.0.0.1" if family == socket.AF_INET else b"127.0.0.1 localhost"
    assert all(a.startswith(b"HTTP/1.1 200 OK") and a.endswith(expected) for a in answers), answers[0]
    assert acceptor.pending == 0
    assert not state.connections


def test_a_tcp_connection_has_nagle_off(served: Any) -> None:
    """The loops set TCP_NODELAY on their TCP transports (fcgigate relies on
    it): a response's last segment is never held back waiting for an ACK."""
    loop, state, make = served
    _acceptor, address = make(socket.AF_INET)

    async def main() -> int:
        reader, writer = await asyncio.open_connection(*address)
        while not state.connections:
            await asyncio.sleep(0.01)
        (conn,) = state.connections
        sock = conn.transport.get_extra_info("socket")
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        return nodelay

    assert loop.run_until_complete(main()) != 0


def test_accepting_pauses_at_capacity_and_resumes(served: Any) -> None:
    """A full worker leaves new connections in the backlog (for its siblings)
    and takes them once it has room again."""
    loop, _state, make = served
    room = [True]
    acceptor, address = make(socket.AF_INET, lambda: room[0])

    async def main() -> bytes:
        room[0] = False
        waiting = asyncio.ensure_future(fetch(socket.AF_INET, address))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # connected (the kernel's backlog), not served
        assert not acceptor.accepting
        room[0] = True
        acceptor.start()
        return await asyncio.wait_for(waiting, 5)

    assert loop.run_until_complete(main()).startswith(b"HTTP/1.1 200 OK")


def test_a_failed_tls_handshake_is_counted_out_and_the_next_connection_served(
    served: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends no TLS fails its handshake: the acceptor stops
    counting it as pending (a draining worker would otherwise wait for it),
    and a TLS client after it is served."""
    loop, state, _make = served
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    url = describe(sock, "https")
    acceptor = Acceptor(loop, sock, lambda: HTTPProtocol(state, url), url, None, server_ctx, 5.0)
    acceptor.start()
    address = sock.getsockname()

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection(*address)
        writer.write(REQUEST)  # plaintext to a TLS listener
        await reader.read()  # the server gives up on it
        writer.close()
        for _ in range(100):
            if not acceptor.pending:
                break
            await asyncio.sleep(0.01)
        assert acceptor.pending == 0
        reader, writer = await asyncio.open_connection(*address, ssl=client_ctx)
        writer.write(REQUEST)
        data = await reader.read()
        writer.close()
        return data

    caplog.set_level(logging.DEBUG, "fcgigate.error")
    try:
        assert loop.run_until_complete(asyncio.wait_for(main(), 10)).startswith(b"HTTP/1.1 200 OK")
    finally:
        sock.close()
    assert f"setting up a connection on {url} failed" in caplog.text
