"""Stream: ``?size=N&chunk=M`` yields N deterministic bytes in chunks of M.

The bytes are 16-byte lines, each holding its own offset (``"%015d\\n" % offset``),
so a dropped, repeated or reordered chunk shows in a diff. Tests build the
expected body with ``expected_bytes(n)``. Other query parameters: ``delay``
(seconds to sleep between chunks), ``cl=0`` (no Content-Length header),
``buffering=no`` (send ``X-Accel-Buffering: no`` so nginx streams it on).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs

LINE = 16


def _lines(start: int, end: int) -> bytes:
    """Bytes ``start:end`` of the stream."""
    first, last = start // LINE, (end + LINE - 1) // LINE
    block = b"".join(b"%015d\n" % (i * LINE) for i in range(first, last))
    return block[start - first * LINE : end - first * LINE]


def expected_bytes(n: int) -> bytes:
    """The first ``n`` bytes the app sends."""
    return _lines(0, n)


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    size = int(query.get("size", 1024 * 1024))
    chunk = max(1, int(query.get("chunk", 65536)))
    delay = float(query.get("delay", 0))
    headers = [("Content-Type", "application/octet-stream")]
    if query.get("cl", "1") != "0":
        headers.append(("Content-Length", str(size)))
    if query.get("buffering") == "no":
        headers.append(("X-Accel-Buffering", "no"))
    start_response("200 OK", headers)

    def body():
        for offset in range(0, size, chunk):
            if delay and offset:
                time.sleep(delay)
            yield _lines(offset, min(size, offset + chunk))

    return body()
