"""The asyncio glue with a mock transport (uvicorn's style): no sockets.

What is checked here is the shape of the hot path: a hello-world response
leaves in exactly one ``transport.write``, over HTTP and over FastCGI, in
inline mode.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from fcgigate.serve.fastcgi import FastCGIProtocol
from fcgigate.serve.http import HTTPProtocol
from fcgigate.serve.runner import Runner
from fcgigate.serve.state import ServerState, ServeSettings
from tests.corpus.fastcgi import helpers as h

pytestmark = pytest.mark.unit


class MockTransport(asyncio.Transport):
    def __init__(self, peer: Any = ("127.0.0.1", 40000)) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.eof = False
        self.extra = {"peername": peer, "sockname": ("127.0.0.1", 8000), "socket": None}

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def hello(environ: dict, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [b"Hello, World!"]


@pytest.fixture
def state() -> Any:
    loop = asyncio.new_event_loop()
    st = ServerState(hello, ServeSettings(threads=0), loop)
    st.runner = Runner(st)
    yield st
    loop.close()


def test_http_hello_world_is_one_write(state: ServerState) -> None:
    proto = HTTPProtocol(state, "http://127.0.0.1:8000")
    transport = MockTransport()
    proto.connection_made(transport)
    for _ in range(3):  # kept alive: each request, one write
        transport.writes.clear()
        proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert len(transport.writes) == 1
        head, _, body = transport.writes[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b"Hello, World!"
        assert b"\r\nDate: " in head and b"\r\nServer: fcgigate" in head
    assert not transport.closed and not transport.eof


def test_fastcgi_hello_world_is_one_write(state: ServerState) -> None:
    proto = FastCGIProtocol(state, "fastcgi://127.0.0.1:9000")
    transport = MockTransport()
    proto.connection_made(transport)
    request = h.request(1, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/", "SERVER_NAME": "x"}, keep_conn=True)
    for _ in range(3):
        transport.writes.clear()
        proto.data_received(request)
        assert len(transport.writes) == 1
        records = h.parse_records(transport.writes[0])
        assert [r.type for r in records] == [h.STDOUT, h.STDOUT, h.END_REQUEST]
        assert records[0].content.endswith(b"\r\n\r\nHello, World!")
    assert not transport.closed and not transport.eof


def test_fastcgi_without_keep_conn_half_closes_after_the_response(state: ServerState) -> None:
    proto = FastCGIProtocol(state, "fastcgi://127.0.0.1:9000")
    transport = MockTransport()
    proto.connection_made(transport)
    proto.data_received(h.request(1, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/"}))
    assert len(transport.writes) == 1 and transport.eof


@pytest.mark.parametrize("protocol", ["http", "fastcgi"])
def test_a_served_connection_leaves_no_reference_cycle(state: ServerState, protocol: str) -> None:
    """Connections and requests are freed by reference counting alone. A cycle
    (the parser holding the connection's callbacks, start_response holding a
    write() that holds it) would leave every request's objects to the garbage
    collector, whose passes then cost a tenth of the worker's time."""
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            transport = MockTransport()
            if protocol == "http":
                proto: Any = HTTPProtocol(state, "http://127.0.0.1:8000")
                proto.connection_made(transport)
                for _ in range(3):
                    proto.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            else:
                proto = FastCGIProtocol(state, "fastcgi://127.0.0.1:9000")
                proto.connection_made(transport)
                request = h.request(1, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/"}, keep_conn=True)
                for _ in range(3):
                    proto.data_received(request)
            assert len(transport.writes) == 3
            proto.connection_lost(None)
        del proto, transport
        assert gc.collect() == 0
    finally:
        gc.enable()
