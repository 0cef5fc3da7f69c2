"""Readable builders for the FastCGI corpus, written from the specification with struct.

This module never imports fcgigate: the corpus must not share an encoder (or a
decoder) with the code it tests, or a bug common to both would pass unnoticed.
Section numbers (§) refer to the FastCGI Specification, Open Market, 1996.

A hand-written case lists its input as ``records = [...]``. Items are bytes (one
or more records, or deliberately broken bytes) or actions (``respond(rid)``,
``eof()``) that the corpus test performs once everything before them has been
fed. A captured case (``NNN-slug.bin``) gives its actions by byte offset:
``actions_at = {512: [respond(1)]}``.

Expected events are compact tuples, compared after consecutive body pieces of
one request have been merged (chunking changes how a body is split, never what
it holds)::

    ("started", rid, params_dict, keep_conn, role)
    ("body", rid, bytes)
    ("end", rid)
    ("aborted", rid)
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Record types (§8).
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

# Roles, flags and protocol statuses (§5.1, §5.5).
RESPONDER = 1
AUTHORIZER = 2
FILTER = 3
KEEP_CONN = 1
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3

HEADER = struct.Struct("!BBHHBB")  # version, type, requestId, contentLength, paddingLength, reserved
LEN4 = struct.Struct("!I")
MAX_CONTENT = 0xFFFF

# The captures' test body (fastcgi-captures/INDEX.md): the 8-byte lines "%07d\n"
# for i in 0..12799; the chunked cases send its first 30000 bytes, cgi-fcgi 5000.
BODY100K = b"".join(b"%07d\n" % i for i in range(12800))
BODY100K_SHA256 = "9b5d9b61f3e39599b913a9b8d346ebd26ee078106302ae173d19b44f1a9d6daf"


# -- actions between feeds ---------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """Something the test does on the connection between two pieces of input."""

    kind: str  # "respond": conn.send(ResponseEnd(rid)); "eof": conn.feed(b"")
    request_id: int = 0


def respond(request_id: int) -> Action:
    """The app ends its response: ``conn.send(ResponseEnd(request_id))``."""
    return Action("respond", request_id)


def eof() -> Action:
    """The web server closes the connection: ``conn.feed(b"")``."""
    return Action("eof")


# -- builders --------------------------------------------------------------------


def _b(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("latin-1")


def record(rtype: int, rid: int, content: bytes = b"", padding: int | None = None, version: int = 1) -> bytes:
    """One record. ``padding=None`` pads to a multiple of 8 (nginx); 0 is Apache's way."""
    if padding is None:
        padding = -len(content) % 8
    return HEADER.pack(version, rtype, rid, len(content), padding, 0) + content + bytes(padding)


def length(n: int, long: bool = False) -> bytes:
    """A name or value length (§3.4): 1 byte below 128, else 4 with the high bit set."""
    return bytes((n,)) if n < 128 and not long else LEN4.pack(n | 0x80000000)


def pairs(items: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]], long: bool = False) -> bytes:
    """A name-value pair stream; ``long=True`` writes every length in the 4-byte form."""
    if isinstance(items, Mapping):
        items = items.items()
    out = bytearray()
    for name, value in items:
        name, value = _b(name), _b(value)
        out += length(len(name), long) + length(len(value), long) + name + value
    return bytes(out)


def split(data: bytes, *cuts: int) -> list[bytes]:
    """``data`` cut at the given offsets."""
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def begin(rid: int, role: int = RESPONDER, keep_conn: bool = False, flags: int | None = None, **kw) -> bytes:
    if flags is None:
        flags = KEEP_CONN if keep_conn else 0
    return record(BEGIN_REQUEST, rid, struct.pack("!HB5x", role, flags), **kw)


def params(rid: int, items=None, *, raw: bytes | None = None, cuts: tuple[int, ...] = (), **kw) -> bytes:
    """PARAMS records holding ``items`` (or ``raw`` bytes), cut into several records
    at ``cuts``, NOT followed by the empty record (use ``params_end``)."""
    content = raw if raw is not None else pairs(items or {})
    return b"".join(record(PARAMS, rid, piece, **kw) for piece in split(content, *cuts) if piece)


def params_end(rid: int, **kw) -> bytes:
    return record(PARAMS, rid, b"", **kw)


def stdin(rid: int, data: bytes, *, chunk: int = 32768, **kw) -> bytes:
    """STDIN records of at most ``chunk`` bytes (not the empty end record)."""
    return b"".join(record(STDIN, rid, data[i : i + chunk], **kw) for i in range(0, len(data), chunk))


def stdin_end(rid: int, **kw) -> bytes:
    return record(STDIN, rid, b"", **kw)


def request(rid: int, items: Mapping[str, str], body: bytes = b"", keep_conn: bool = False, **kw) -> bytes:
    """A whole request the way nginx sends it."""
    return b"".join(
        (
            begin(rid, keep_conn=keep_conn, **kw),
            params(rid, items, **kw),
            params_end(rid, **kw),
            stdin(rid, body, **kw),
            stdin_end(rid, **kw),
        )
    )


def abort(rid: int, **kw) -> bytes:
    return record(ABORT_REQUEST, rid, b"", **kw)


def get_values(*names: str, **kw) -> bytes:
    return record(GET_VALUES, 0, pairs([(name, "") for name in names]), **kw)


# -- what the responder answers (padded to 8, as it promises) ----------------------


def get_values_result(items: Iterable[tuple[str, str]]) -> bytes:
    return record(GET_VALUES_RESULT, 0, pairs(list(items)))


def end_request(rid: int, app_status: int = 0, protocol_status: int = REQUEST_COMPLETE) -> bytes:
    return record(END_REQUEST, rid, struct.pack("!IB3x", app_status, protocol_status))


def unknown_type(rtype: int) -> bytes:
    return record(UNKNOWN_TYPE, 0, struct.pack("!B7x", rtype))


# -- parsers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    offset: int
    version: int
    type: int
    request_id: int
    content: bytes
    padding: int

    @property
    def end(self) -> int:
        return self.offset + 8 + len(self.content) + self.padding


def parse_records(data: bytes, strict: bool = True) -> list[Record]:
    """Every record in ``data``. ``strict``: raise ValueError on a truncated tail."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        version, rtype, rid, clen, plen, _ = HEADER.unpack_from(data, pos)
        if pos + 8 + clen + plen > len(data):
            break
        out.append(Record(pos, version, rtype, rid, bytes(data[pos + 8 : pos + 8 + clen]), plen))
        pos += 8 + clen + plen
    if strict and pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes of a truncated record at offset {pos}")
    return out


def decode_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    """A complete name-value pair stream; ValueError when it is malformed."""
    out, pos = [], 0
    while pos < len(data):
        lengths = []
        for _ in range(2):
            if pos >= len(data):
                raise ValueError("truncated pair")
            if data[pos] < 128:
                lengths.append(data[pos])
                pos += 1
            else:
                if pos + 4 > len(data):
                    raise ValueError("truncated 4-byte length")
                lengths.append(LEN4.unpack_from(data, pos)[0] & 0x7FFFFFFF)
                pos += 4
        name_len, value_len = lengths
        if pos + name_len + value_len > len(data):
            raise ValueError("pair runs past the end")
        out.append((data[pos : pos + name_len], data[pos + name_len : pos + name_len + value_len]))
        pos += name_len + value_len
    return out


def stream(records: Iterable[Record], rtype: int, rid: int) -> bytes:
    """The content of one stream (STDOUT, STDERR...) of one request, concatenated."""
    return b"".join(r.content for r in records if r.type == rtype and r.request_id == rid)


def digest(data: bytes) -> str:
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"
