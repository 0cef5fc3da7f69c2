"""The WSGI apps every server in the benchmark serves, each by the same import
path (``bench.apps:hello``): the servers differ, the app does not.

Standard library only: the peers' virtualenv (gunicorn, granian, uWSGI, flup)
imports this module too, and it has no fcgigate in it. ``BODIES`` is what each
app answers to GET /, which the driver checks before it measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

HELLO = b"Hello, World!"
# 64 KiB: past nginx's default FastCGI buffers (8 x 4 KiB), so nginx reads it in
# several passes, and many FastCGI records (65,535 bytes of content at most).
BIG = bytes(range(256)) * 256

# What the blocking app spends per request, as a database call would: a thread
# blocked in time.sleep holds no GIL, so T threads can serve T requests at once.
BLOCK_S = 0.01
UPLOAD_CHUNK = 64 * 1024

# What each app answers to GET / (the driver's probe before it measures).
BODIES = {"hello": HELLO, "big": BIG, "sleep10ms": HELLO, "upload": b"0"}


def _headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))]


_HELLO_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))]
_BIG_HEADERS = _headers(BIG)


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``Hello, World!`` with a Content-Length: the cost of the server, not of the app."""
    start_response("200 OK", list(_HELLO_HEADERS))
    return [HELLO]


def big(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A 64 KiB body in one piece, with a Content-Length: the cost of moving bytes."""
    start_response("200 OK", list(_BIG_HEADERS))
    return [BIG]


def sleep10ms(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Hello world after blocking 10 ms (``time.sleep``, like a database call): the cost
    of waiting, which threads overlap and an inline event loop cannot."""
    time.sleep(BLOCK_S)
    start_response("200 OK", list(_HELLO_HEADERS))
    return [HELLO]


def upload(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read ``wsgi.input`` to its end, 64 KiB at a time, and answer how many bytes came:
    200 if that is the Content-Length, else 400 (counted as an error: a server that
    lost or invented body bytes)."""
    stream = environ["wsgi.input"]
    size = 0
    while True:
        chunk = stream.read(UPLOAD_CHUNK)
        if not chunk:
            break
        size += len(chunk)
    expected = (environ.get("CONTENT_LENGTH") or "0").strip()
    body = str(size).encode("ascii")
    status = "200 OK" if body == expected.encode("ascii") else "400 Bad Request"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
