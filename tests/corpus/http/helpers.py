"""Loading the HTTP/1.1 request corpus, in gunicorn's ``tests/requests`` convention.

This module never imports fcgigate: the corpus is written from RFC 9110/9112,
not from the parser it tests.

A case is two files side by side:

``NNN-slug.http``
    The raw bytes, written readably. Real newlines in the file are layout only and
    are stripped; the bytes on the wire are spelled as escapes: ``\\r``, ``\\n``,
    ``\\t``, ``\\0``, ``\\xNN`` and ``\\\\`` (one backslash). Any other backslash is
    a typo and fails loudly, as gunicorn's ``treq.py`` does. So a request reads::

        GET /path?x=1 HTTP/1.1\\r\\n
        Host: example.com\\r\\n
        \\r\\n

``NNN-slug.py``
    The expectation, as Python:

    - valid cases: ``expect = [dict(...), ...]``, one dict per request in order.
      Each holds every CGI param the request produces (``REQUEST_METHOD``,
      ``REQUEST_URI``, ``QUERY_STRING``, ``SERVER_PROTOCOL``, ``CONTENT_LENGTH``,
      ``CONTENT_TYPE``, ``HTTP_*``): the comparison is exact, so a header the
      parser must drop is checked simply by leaving it out. Three keys are not
      params: ``body`` (bytes, default ``b""``), ``keep_alive`` (the request's
      ``keep_conn``, default ``True``) and ``expect_continue`` (the request id is
      in ``conn.expect_continue`` afterwards, default ``False``).
    - invalid cases: ``status`` (the HTTP status of the rejection); ``before``
      (how many good requests precede the bad one, default 0), optionally their
      ``expect``; ``started = True`` when the bad request's head was valid and
      only its body breaks the rules (so its ``RequestStarted``, and maybe body
      pieces, come before the rejection; by default a refused request never
      reaches the app).
    - either: ``limits = dict(...)``, overrides of ``HTTPLimits``.
"""

from __future__ import annotations

import re
from pathlib import Path

_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|[rnt0\\]|.|$)", re.DOTALL)
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}


def decode(text: bytes) -> bytes:
    """Wire bytes from the readable form: newlines dropped, escapes decoded."""
    text = text.replace(b"\r", b"").replace(b"\n", b"")

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code in _SIMPLE:
            return _SIMPLE[code]
        if code[:1] == b"x" and len(code) == 3:
            return bytes((int(code[1:], 16),))
        raise ValueError(f"unknown escape \\{code.decode('latin-1')!s} at offset {match.start()}")

    return _ESCAPE.sub(one, text)


def load_http(path: Path) -> bytes:
    return decode(path.read_bytes())


def line_ends(data: bytes) -> list[int]:
    """Offsets just after each LF: where a line-by-line feeder cuts."""
    return [i + 1 for i, byte in enumerate(data) if byte == 0x0A and i + 1 < len(data)]


# -- builders for the property tests ------------------------------------------------


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str | bytes]],
    body: bytes = b"",
    chunks: list[int] | None = None,
    version: str = "HTTP/1.1",
) -> bytes:
    """One request. ``chunks=None`` frames ``body`` with Content-Length; a list of
    sizes cuts it into those chunks (the rest in one more), then the last chunk."""
    lines = [f"{method} {target} {version}\r\n".encode("latin-1")]
    for name, value in headers:
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        lines.append(name.encode("latin-1") + b": " + raw + b"\r\n")
    if chunks is None:
        lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
        lines.append(body)
    else:
        lines.append(b"Transfer-Encoding: chunked\r\n\r\n")
        lines.append(chunked(body, chunks))
    return b"".join(lines)


def chunked(body: bytes, sizes: list[int], upper: bool = False) -> bytes:
    """``body`` in chunked coding (RFC 9112 7.1), cut at ``sizes``, then ``0\\r\\n\\r\\n``."""
    out, pos = bytearray(), 0
    for size in [*sizes, len(body)]:
        piece = body[pos : pos + size]
        pos += len(piece)
        if piece:
            out += (b"%X" if upper else b"%x") % len(piece) + b"\r\n" + piece + b"\r\n"
    return bytes(out) + b"0\r\n\r\n"


def cases(directory: Path) -> list[Path]:
    """The ``NNN-slug.http`` files of a corpus directory, in order."""
    return sorted(directory.glob("[0-9][0-9][0-9]-*.http"))
