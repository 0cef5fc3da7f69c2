"""Error: an app that raises, at the point the query parameter ``when`` names.

- ``before`` (default): before start_response; the server should answer 500.
- ``after_start``: after start_response, before any body; still a 500, since no
  header has been sent.
- ``in_iter``: after the first chunk of a declared 1 MiB body; the headers are
  out, so the server can only cut the response short (and log).
- ``exc_info``: catches its own error and calls start_response again with
  exc_info, replacing the 200 with a 503 (PEP 3333 allows it before any output).
- ``close``: the body is fine but the iterable's close() raises.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qs


class FixtureError(Exception):
    """The error this app raises on purpose."""


class _Body:
    def __init__(self, fail_in_iter: bool, fail_in_close: bool) -> None:
        self.fail_in_iter, self.fail_in_close = fail_in_iter, fail_in_close

    def __iter__(self):
        yield b"x" * 65536
        if self.fail_in_iter:
            raise FixtureError("raised while iterating the body")
        yield b"y" * (1024 * 1024 - 65536)

    def close(self) -> None:
        if self.fail_in_close:
            raise FixtureError("raised in close()")


def app(environ, start_response):
    when = parse_qs(environ.get("QUERY_STRING", "")).get("when", ["before"])[0]
    if when == "before":
        raise FixtureError("raised before start_response")
    headers = [("Content-Type", "application/octet-stream"), ("Content-Length", str(1024 * 1024))]
    if when == "exc_info":
        start_response("200 OK", headers)
        try:
            raise FixtureError("caught, then reported with exc_info")
        except FixtureError:
            body = b"service unavailable"
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
                sys.exc_info(),
            )
            return [body]
    start_response("200 OK", headers)
    if when == "after_start":
        raise FixtureError("raised after start_response")
    return _Body(fail_in_iter=when == "in_iter", fail_in_close=when == "close")
