"""Closing: a slow response whose ``close()`` leaves a mark, for client-abort tests.

It yields ``chunks`` (100) chunks of ``size`` (64 KiB) bytes, sleeping ``sleep``
(0.01 s) before each, so a client can go away mid-response. PEP 3333 says the
server must call ``close()`` however the response ends; ``close()`` appends one
line, ``closed <chunks yielded> <complete|incomplete>``, to the marker file: the
query parameter ``marker`` (a path), else the environment variable
``CLOSING_MARKER`` (of the daemon). Without either, close() does nothing.
"""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs


class SlowBody:
    def __init__(self, marker: str | None, chunks: int, size: int, sleep: float) -> None:
        self.marker, self.chunks, self.size, self.sleep = marker, chunks, size, sleep
        self.yielded = 0

    def __iter__(self):
        block = b"x" * self.size
        for _ in range(self.chunks):
            time.sleep(self.sleep)
            self.yielded += 1
            yield block

    def close(self) -> None:
        if self.marker:
            state = "complete" if self.yielded == self.chunks else "incomplete"
            with open(self.marker, "a") as marker:
                marker.write(f"closed {self.yielded} {state}\n")


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    marker = query.get("marker") or os.environ.get("CLOSING_MARKER")
    chunks = int(query.get("chunks", 100))
    size = int(query.get("size", 64 * 1024))
    sleep = float(query.get("sleep", 0.01))
    start_response(
        "200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(chunks * size))]
    )
    return SlowBody(marker, chunks, size, sleep)
