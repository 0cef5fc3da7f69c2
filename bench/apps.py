"""The WSGI apps every server in the benchmark serves, each by the same import
path (``bench.apps:hello``): the servers differ, the app does not.

Standard library only: the peers' virtualenv (gunicorn, granian, uWSGI, flup)
imports this module too, and it has no fcgigate in it. ``BODIES`` is what each
app answers to GET /, which the driver checks before it measures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

HELLO = b"Hello, World!"
# 64 KiB: past nginx's default FastCGI buffers (8 x 4 KiB), so nginx reads it in
# several passes, and many FastCGI records (65,535 bytes of content at most).
BIG = bytes(range(256)) * 256

BODIES = {"hello": HELLO, "big": BIG}


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
