"""A FastCGI 1.0 client for the tests, written from the specification.

It is independent of fcgigate's own encoder and decoder on purpose: a bug shared by
both sides of a test would pass unnoticed. So this module never imports fcgigate,
and uses nothing but ``struct`` and sockets. Section numbers (§) refer to the
FastCGI Specification, Open Market, 29 April 1996.

Three layers, each usable on its own:

- builders (``record``, ``encode_pairs``, ``begin_request``, ``params_records``,
  ``stdin_records``, ``abort_request``, ``get_values``, ``request_records``) return
  bytes, so a test can send well-formed traffic, traffic shaped like nginx's (padding
  to 8, the default) or Apache's (``padding=0``), or deliberately broken traffic;
- parsers (``RecordReader``, ``parse_records``, ``read_response``) turn what the
  server sent back into ``Record`` and ``Response`` values, and check, when
  ``strict``, the framing rules a responder must follow;
- ``FastCGIClient`` ties both to a socket: ``request(params, body)`` returns a
  ``Response``; with ``keep_conn=True`` it can be called again on the same connection.

Names and values given as ``str`` are encoded as UTF-8, which is what a web server
sends for non-ASCII text; a PEP 3333 server hands them to the app as latin-1
strings, so ``"é"`` arrives as ``"Ã©"``. Give ``bytes`` to control every byte.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import socket
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------- constants (§8)

FCGI_LISTENSOCK_FILENO = 0
FCGI_HEADER_LEN = 8
FCGI_VERSION_1 = 1

FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_DATA = 8
FCGI_GET_VALUES = 9
FCGI_GET_VALUES_RESULT = 10
FCGI_UNKNOWN_TYPE = 11
FCGI_MAXTYPE = FCGI_UNKNOWN_TYPE

FCGI_NULL_REQUEST_ID = 0

FCGI_KEEP_CONN = 1  # FCGI_BeginRequestBody.flags

FCGI_RESPONDER = 1
FCGI_AUTHORIZER = 2
FCGI_FILTER = 3

FCGI_REQUEST_COMPLETE = 0  # FCGI_EndRequestBody.protocolStatus
FCGI_CANT_MPX_CONN = 1
FCGI_OVERLOADED = 2
FCGI_UNKNOWN_ROLE = 3

FCGI_MAX_CONNS = "FCGI_MAX_CONNS"  # FCGI_GET_VALUES variable names (§4.1)
FCGI_MAX_REQS = "FCGI_MAX_REQS"
FCGI_MPXS_CONNS = "FCGI_MPXS_CONNS"

# Not spec names, but spec facts: contentLength is 16 bits, paddingLength 8 bits,
# and a 4-byte name/value length has 31 bits (§3.4).
MAX_CONTENT_LENGTH = 0xFFFF
MAX_PADDING_LENGTH = 0xFF
MAX_PAIR_LENGTH = 0x7FFFFFFF
# nginx sends STDIN in records of at most 32 KiB (ngx_http_fastcgi_module.c).
NGINX_STDIN_CHUNK = 32768

TYPE_NAMES = {
    FCGI_BEGIN_REQUEST: "FCGI_BEGIN_REQUEST",
    FCGI_ABORT_REQUEST: "FCGI_ABORT_REQUEST",
    FCGI_END_REQUEST: "FCGI_END_REQUEST",
    FCGI_PARAMS: "FCGI_PARAMS",
    FCGI_STDIN: "FCGI_STDIN",
    FCGI_STDOUT: "FCGI_STDOUT",
    FCGI_STDERR: "FCGI_STDERR",
    FCGI_DATA: "FCGI_DATA",
    FCGI_GET_VALUES: "FCGI_GET_VALUES",
    FCGI_GET_VALUES_RESULT: "FCGI_GET_VALUES_RESULT",
    FCGI_UNKNOWN_TYPE: "FCGI_UNKNOWN_TYPE",
}
PROTOCOL_STATUS_NAMES = {
    FCGI_REQUEST_COMPLETE: "FCGI_REQUEST_COMPLETE",
    FCGI_CANT_MPX_CONN: "FCGI_CANT_MPX_CONN",
    FCGI_OVERLOADED: "FCGI_OVERLOADED",
    FCGI_UNKNOWN_ROLE: "FCGI_UNKNOWN_ROLE",
}

# FCGI_Header (§3.3): version, type, requestId, contentLength, paddingLength, reserved.
_HEADER = struct.Struct("!BBHHBB")
# FCGI_BeginRequestBody (§5.1): role, flags, reserved[5].
_BEGIN_REQUEST_BODY = struct.Struct("!HB5x")
# FCGI_EndRequestBody (§5.5): appStatus, protocolStatus, reserved[3].
_END_REQUEST_BODY = struct.Struct("!IB3x")
# FCGI_UnknownTypeBody (§4.2): type, reserved[7].
_UNKNOWN_TYPE_BODY = struct.Struct("!B7x")

DEFAULT_TIMEOUT = 10.0


class FastCGIError(Exception):
    """The server broke a FastCGI rule, or sent something this client cannot read."""


class ConnectionClosed(FastCGIError):
    """The server closed the connection before the response ended.

    ``partial`` holds what had arrived for the request (a ``Response`` without an
    end), or None when the connection closed before anything arrived.
    """

    def __init__(self, message: str, partial: Response | None = None) -> None:
        super().__init__(message)
        self.partial = partial


# --------------------------------------------------------------------------- builders

Text = str | bytes | int


def _as_bytes(value: Text) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):  # bool is an int; say what is meant instead
        raise TypeError("give FastCGI names and values as str, bytes or int, not bool")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"FastCGI names and values are str, bytes or int, not {type(value).__name__}")


def pad_length(content_length: int) -> int:
    """The padding nginx adds: up to the next multiple of 8 (§3.3 recommends it)."""
    return -content_length % 8


def header(
    type: int,
    request_id: int,
    content_length: int,
    padding_length: int = 0,
    *,
    version: int = FCGI_VERSION_1,
    reserved: int = 0,
) -> bytes:
    """An 8-byte record header as given, true or not (for malformed-input tests)."""
    return _HEADER.pack(version, type, request_id, content_length, padding_length, reserved)


def record(
    type: int,
    request_id: int,
    content: bytes = b"",
    padding: int | None = None,
    *,
    version: int = FCGI_VERSION_1,
) -> bytes:
    """One record: header, ``content``, then ``padding`` zero bytes.

    ``padding=None`` pads to a multiple of 8 as nginx does; ``0`` sends none, as
    Apache does; any int 0..255 is sent as given.
    """
    content = bytes(content)
    if len(content) > MAX_CONTENT_LENGTH:
        raise ValueError(f"record content is {len(content)} bytes; at most {MAX_CONTENT_LENGTH} fit")
    if padding is None:
        padding = pad_length(len(content))
    if not 0 <= padding <= MAX_PADDING_LENGTH:
        raise ValueError(f"padding must be 0..{MAX_PADDING_LENGTH}, not {padding}")
    return header(type, request_id, len(content), padding, version=version) + content + bytes(padding)


def encode_length(length: int, force_long: bool = False) -> bytes:
    """A name or value length (§3.4): one byte below 128, else four with the high bit set."""
    if not 0 <= length <= MAX_PAIR_LENGTH:
        raise ValueError(f"a name or value length must be 0..{MAX_PAIR_LENGTH}, not {length}")
    if length < 0x80 and not force_long:
        return bytes((length,))
    return struct.pack("!I", length | 0x80000000)


Pairs = Mapping[Text, Text] | Iterable[tuple[Text, Text]]


def _pair_items(pairs: Pairs) -> list[tuple[Text, Text]]:
    return list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)


def encode_pairs(pairs: Pairs, force_long: bool = False) -> bytes:
    """Name-value pairs (§3.4), in order; ``force_long`` uses 4-byte lengths for all."""
    out = bytearray()
    for name, value in _pair_items(pairs):
        name_bytes, value_bytes = _as_bytes(name), _as_bytes(value)
        out += encode_length(len(name_bytes), force_long)
        out += encode_length(len(value_bytes), force_long)
        out += name_bytes + value_bytes
    return bytes(out)


def decode_pairs(data: bytes) -> list[tuple[bytes, bytes]]:
    """Parse a name-value pair stream; ValueError if a length overruns the data."""
    pairs = []
    position = 0

    def length() -> int:
        nonlocal position
        if position >= len(data):
            raise ValueError(f"name-value pairs: length missing at byte {position}")
        if data[position] < 0x80:
            position += 1
            return data[position - 1]
        if position + 4 > len(data):
            raise ValueError(f"name-value pairs: 4-byte length cut short at byte {position}")
        (value,) = struct.unpack_from("!I", data, position)
        position += 4
        return value & MAX_PAIR_LENGTH

    while position < len(data):
        name_length = length()
        value_length = length()
        end = position + name_length + value_length
        if end > len(data):
            raise ValueError(f"name-value pairs: pair at byte {position} ends at {end}, past {len(data)}")
        pairs.append((data[position : position + name_length], data[position + name_length : end]))
        position = end
    return pairs


def stream_records(
    type: int, request_id: int, data: bytes, chunk: int = NGINX_STDIN_CHUNK, padding: int | None = None
) -> bytes:
    """A whole stream (§3.3): ``data`` in records of at most ``chunk`` bytes, then the empty record."""
    if not 1 <= chunk <= MAX_CONTENT_LENGTH:
        raise ValueError(f"chunk must be 1..{MAX_CONTENT_LENGTH}, not {chunk}")
    data = bytes(data)
    out = [record(type, request_id, data[i : i + chunk], padding) for i in range(0, len(data), chunk)]
    out.append(record(type, request_id, b"", padding))
    return b"".join(out)


def begin_request(
    request_id: int, role: int = FCGI_RESPONDER, flags: int = 0, padding: int | None = None
) -> bytes:
    """FCGI_BEGIN_REQUEST (§5.1); ``flags=FCGI_KEEP_CONN`` keeps the connection open."""
    return record(FCGI_BEGIN_REQUEST, request_id, _BEGIN_REQUEST_BODY.pack(role, flags), padding)


def params_records(
    request_id: int,
    pairs: Pairs,
    split_at: Iterable[int] | None = None,
    padding: int | None = None,
    force_long: bool = False,
) -> bytes:
    """The PARAMS stream (§5.2), ending with the empty PARAMS record.

    Without ``split_at`` the encoded pairs go in one record, as nginx and Apache
    send them (split at 65535 bytes only when longer). ``split_at`` lists offsets
    into the encoded stream at which to start a new record, so a name, a value or
    even a length can straddle two records; offsets at 0 or the end are ignored
    (an empty record would end the stream early).
    """
    stream = encode_pairs(pairs, force_long)
    cuts = sorted({0, len(stream), *(c for c in (split_at or ()) if 0 < c < len(stream))})
    out = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        for i in range(start, end, MAX_CONTENT_LENGTH):
            out.append(record(FCGI_PARAMS, request_id, stream[i : min(end, i + MAX_CONTENT_LENGTH)], padding))
    out.append(record(FCGI_PARAMS, request_id, b"", padding))
    return b"".join(out)


def stdin_records(
    request_id: int, body: bytes, chunk: int = NGINX_STDIN_CHUNK, padding: int | None = None
) -> bytes:
    """The STDIN stream (§5.3): ``body`` in records of ``chunk`` bytes, then the empty STDIN."""
    return stream_records(FCGI_STDIN, request_id, body, chunk, padding)


def data_records(
    request_id: int, data: bytes, chunk: int = NGINX_STDIN_CHUNK, padding: int | None = None
) -> bytes:
    """The DATA stream of the FILTER role (§5.3, §6.4), then the empty DATA record."""
    return stream_records(FCGI_DATA, request_id, data, chunk, padding)


def abort_request(request_id: int, padding: int | None = None) -> bytes:
    """FCGI_ABORT_REQUEST (§5.4): empty content."""
    return record(FCGI_ABORT_REQUEST, request_id, b"", padding)


def get_values(
    names: Iterable[Text] = (FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS), padding: int | None = None
) -> bytes:
    """FCGI_GET_VALUES (§4.1) on request id 0: the names with empty values."""
    return record(FCGI_GET_VALUES, FCGI_NULL_REQUEST_ID, encode_pairs((name, b"") for name in names), padding)


def request_records(
    request_id: int,
    params: Pairs,
    body: bytes = b"",
    *,
    keep_conn: bool = False,
    role: int = FCGI_RESPONDER,
    chunk: int = NGINX_STDIN_CHUNK,
    padding: int | None = None,
    split_at: Iterable[int] | None = None,
    stdin: bool | None = None,
    data: bytes | None = None,
) -> bytes:
    """A whole request as nginx sends it: BEGIN_REQUEST, PARAMS, STDIN.

    ``stdin=None`` sends the STDIN stream except for the AUTHORIZER role, which
    receives none (§6.3); ``data`` appends a DATA stream (FILTER role, §6.4).
    """
    flags = FCGI_KEEP_CONN if keep_conn else 0
    out = [
        begin_request(request_id, role, flags, padding),
        params_records(request_id, params, split_at, padding),
    ]
    if stdin if stdin is not None else role != FCGI_AUTHORIZER:
        out.append(stdin_records(request_id, body, chunk, padding))
    if data is not None:
        out.append(data_records(request_id, data, chunk, padding))
    return b"".join(out)


def default_params(
    method: str = "GET",
    uri: str = "/",
    *,
    body: bytes | None = None,
    content_type: str | None = None,
    **extra: Text | None,
) -> dict[str, Text]:
    """The CGI params nginx sends for ``method uri`` with Debian's fastcgi_params.

    In nginx's order. As nginx does: SCRIPT_NAME and DOCUMENT_URI are the whole
    path, there is no PATH_INFO, QUERY_STRING and REQUEST_URI stay percent-encoded,
    CONTENT_TYPE and CONTENT_LENGTH are empty for a request without a body, and
    for one with a body the headers also arrive as HTTP_CONTENT_TYPE and
    HTTP_CONTENT_LENGTH. ``extra`` adds or replaces params (``HTTP_X_FOO="1"``);
    a value of None removes one.
    """
    path, _, query = uri.partition("?")
    params: dict[str, Text] = {
        "QUERY_STRING": query,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": content_type if content_type is not None else "",
        "CONTENT_LENGTH": str(len(body)) if body is not None else "",
        "SCRIPT_NAME": path,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "DOCUMENT_ROOT": "/var/www/html",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "http",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "nginx/1.22.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "54321",
        "REMOTE_USER": "",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_NAME": "localhost",
        "REDIRECT_STATUS": "200",
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": "fcgigate-tests",
        "HTTP_ACCEPT": "*/*",
    }
    if content_type is not None:
        params["HTTP_CONTENT_TYPE"] = content_type
    if body is not None:
        params["HTTP_CONTENT_LENGTH"] = str(len(body))
    for name, value in extra.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params


# --------------------------------------------------------------------------- parsers


@dataclass(frozen=True)
class Record:
    """One record as received; ``content`` excludes the padding."""

    type: int
    request_id: int
    content: bytes
    padding_length: int = 0
    version: int = FCGI_VERSION_1
    reserved: int = 0

    @property
    def content_length(self) -> int:
        return len(self.content)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type {self.type}")

    def __repr__(self) -> str:
        content = self.content if len(self.content) <= 40 else self.content[:40] + b"..."
        return (
            f"Record({self.type_name}, id={self.request_id}, {self.content_length}+{self.padding_length}"
            f", {content!r})"
        )


class RecordReader:
    """Splits a byte stream into records, however the bytes arrive.

    ``feed(data)`` and ``next_record()`` work without a socket; ``read()`` pulls
    from ``sock`` as needed. Bytes of an incomplete record wait in the buffer.
    """

    def __init__(self, sock: socket.socket | None = None, recv_size: int = 65536) -> None:
        self.sock = sock
        self.recv_size = recv_size
        self.eof = False
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a record."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        if not data:
            self.eof = True
        self._buffer += data

    def next_record(self) -> Record | None:
        """The next complete record in the buffer, or None."""
        if len(self._buffer) < FCGI_HEADER_LEN:
            return None
        version, type_, request_id, length, padding, reserved = _HEADER.unpack_from(self._buffer)
        end = FCGI_HEADER_LEN + length + padding
        if len(self._buffer) < end:
            return None
        content = bytes(self._buffer[FCGI_HEADER_LEN : FCGI_HEADER_LEN + length])
        del self._buffer[:end]
        return Record(type_, request_id, content, padding, version, reserved)

    def read(self) -> Record | None:
        """The next record, receiving as needed; None at a clean end of stream.

        Raises ConnectionClosed if the stream ends inside a record; socket errors
        (a timeout, a reset) propagate.
        """
        while True:
            rec = self.next_record()
            if rec is not None:
                return rec
            if self.eof:
                if self._buffer:
                    raise ConnectionClosed(f"connection closed inside a record ({self.buffered} bytes left)")
                return None
            if self.sock is None:
                raise FastCGIError("RecordReader.read() needs a socket; use feed() and next_record()")
            self.feed(self.sock.recv(self.recv_size))


def parse_records(data: bytes) -> list[Record]:
    """All records in ``data``; ValueError if it ends inside a record."""
    reader = RecordReader()
    reader.feed(data)
    records = []
    while (rec := reader.next_record()) is not None:
        records.append(rec)
    if reader.buffered:
        raise ValueError(f"data ends inside a record ({reader.buffered} bytes left over)")
    return records


@dataclass
class Response:
    """One request's answer: the STDOUT stream parsed as a CGI response.

    ``status`` comes from the ``Status:`` header (200 when the header block has
    none, as a web server assumes; 0 when STDOUT holds no header block at all, e.g.
    a request refused with FCGI_OVERLOADED). ``headers`` excludes ``Status``;
    ``raw_headers`` is the header block byte for byte, blank line included.
    ``records`` lists ``(type, request_id, content_length, padding_length)`` of every
    record received for this request, so tests can check padding and sizes.
    """

    request_id: int
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stderr: bytes = b""
    app_status: int | None = None
    protocol_status: int | None = None
    records: list[tuple[int, int, int, int]] = field(default_factory=list)
    stdout: bytes = b""
    raw_headers: bytes = b""
    stdout_closed: bool = False
    stderr_closed: bool = False
    unsent: int = 0  # request bytes not sent because the server answered (or closed) first

    @property
    def ended(self) -> bool:
        """True once FCGI_END_REQUEST arrived."""
        return self.protocol_status is not None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (any case), or ``default``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def header_list(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def parse_cgi_response(
    stdout: bytes, strict: bool = True
) -> tuple[int, str, list[tuple[str, str]], bytes, bytes]:
    """Split a CGI response into ``(status, reason, headers, raw_headers, body)``.

    Lines end in LF or CRLF and a blank line ends the block (CGI/1.1, RFC 3875 §6).
    Names and values are decoded as latin-1. When ``strict``, a line that is not
    ``token: value`` (RFC 9110 §5: no space in the name, no control character but
    tab in the value), a bad Status, or output without a blank line is a
    FastCGIError; otherwise such lines are skipped.
    """
    headers: list[tuple[str, str]] = []
    status, reason = 200, "OK"
    position = 0
    while True:
        newline = stdout.find(b"\n", position)
        if newline < 0:  # no blank line: there is no header block
            if strict and stdout:
                raise FastCGIError(f"no blank line ends the CGI header block: {stdout[:200]!r}")
            return 0, "", [], b"", stdout
        line = stdout[position:newline]
        position = newline + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return status, reason, headers, stdout[:position], stdout[position:]
        name, colon, value = line.partition(b":")
        value = value.strip(b" \t")
        if not colon or not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            if strict:
                raise FastCGIError(f"malformed CGI header line {line!r}")
            continue
        name_text, value_text = name.decode("latin-1"), value.decode("latin-1")
        if name_text.lower() == "status":
            code, _, why = value_text.partition(" ")
            if not (len(code) == 3 and code.isdigit()):
                if strict:
                    raise FastCGIError(f"malformed Status header {line!r}")
                continue
            status, reason = int(code), why.strip()
        else:
            headers.append((name_text, value_text))


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class _ResponseBuilder:
    """Collects one request's records into a Response, checking framing when strict."""

    def __init__(self, request_id: int, strict: bool = True) -> None:
        self.request_id = request_id
        self.strict = strict
        self.response = Response(request_id)
        self._stdout = bytearray()
        self._stderr = bytearray()

    def _fail(self, why: str, rec: Record) -> None:
        if self.strict:
            raise FastCGIError(f"request {self.request_id}: {why}: {rec!r}")

    def add(self, rec: Record) -> bool:
        """Take one record of this request; True once it is the FCGI_END_REQUEST."""
        response = self.response
        response.records.append((rec.type, rec.request_id, rec.content_length, rec.padding_length))
        if rec.version != FCGI_VERSION_1:
            self._fail(f"record version {rec.version}, not 1", rec)
        if rec.reserved:
            self._fail("reserved header byte is not 0", rec)
        if response.ended:
            self._fail("record after FCGI_END_REQUEST", rec)
        if rec.type == FCGI_STDOUT:
            if response.stdout_closed:
                self._fail("FCGI_STDOUT after the stream's empty record", rec)
            self._stdout += rec.content
            response.stdout_closed = response.stdout_closed or not rec.content
        elif rec.type == FCGI_STDERR:
            if response.stderr_closed:
                self._fail("FCGI_STDERR after the stream's empty record", rec)
            self._stderr += rec.content
            response.stderr_closed = response.stderr_closed or not rec.content
        elif rec.type == FCGI_END_REQUEST:
            if rec.content_length != _END_REQUEST_BODY.size:
                self._fail(f"FCGI_END_REQUEST body is {rec.content_length} bytes, not 8", rec)
                return True
            response.app_status, response.protocol_status = _END_REQUEST_BODY.unpack(rec.content)
            self.finish()
            return True
        else:
            self._fail("unexpected record type for a request", rec)
        return False

    def finish(self) -> Response:
        response = self.response
        response.stdout, response.stderr = bytes(self._stdout), bytes(self._stderr)
        strict = self.strict and response.ended
        status, reason, headers, raw, body = parse_cgi_response(response.stdout, strict)
        response.status, response.reason, response.headers = status, reason, headers
        response.raw_headers, response.body = raw, body
        return response


def _route(builders: dict[int, _ResponseBuilder], pending: set[int], rec: Record) -> None:
    builder = builders.get(rec.request_id)
    if builder is None:
        expected = sorted(builders)
        raise FastCGIError(f"record for request id {rec.request_id}, expected one of {expected}: {rec!r}")
    if builder.add(rec):
        pending.discard(rec.request_id)


def read_responses(
    source: RecordReader | socket.socket, request_ids: Iterable[int], strict: bool = True
) -> dict[int, Response]:
    """Read until every request in ``request_ids`` has ended; returns them by id.

    A record for another request id (or a management record) is a FastCGIError.
    Pass a RecordReader (not a bare socket) to read several responses from one
    connection in turn: bytes it buffered past one response belong to the next.
    """
    reader = source if isinstance(source, RecordReader) else RecordReader(source)
    builders = {rid: _ResponseBuilder(rid, strict) for rid in request_ids}
    pending = set(builders)
    while pending:
        rec = reader.read()
        if rec is None:
            partial = builders[min(pending)].finish()
            raise ConnectionClosed(
                f"connection closed before FCGI_END_REQUEST of request(s) {sorted(pending)}", partial
            )
        _route(builders, pending, rec)
    return {rid: builder.response for rid, builder in builders.items()}


def read_response(source: RecordReader | socket.socket, request_id: int = 1, strict: bool = True) -> Response:
    """Read one request's records (STDOUT, STDERR) until its FCGI_END_REQUEST."""
    return read_responses(source, (request_id,), strict)[request_id]


# --------------------------------------------------------------------------- the client

Address = tuple[str, int] | str | os.PathLike


def parse_address(address: Address) -> tuple[socket.AddressFamily, Any]:
    """``(family, sockaddr)`` for ``connect``.

    Accepts a ``(host, port)`` tuple, a unix socket path, a bind URL
    (``fastcgi://127.0.0.1:9000``, ``fastcgi://[::1]:9000``,
    ``fastcgi+unix:///run/x.sock``) or nginx's ``unix:/run/x.sock``.
    """
    if isinstance(address, tuple):
        host, port = address
        return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))
    text = os.fspath(address)
    for prefix in ("fastcgi+unix://", "unix:"):
        if text.startswith(prefix):
            return socket.AF_UNIX, text[len(prefix) :]
    if text.startswith("fastcgi://"):
        hostport = text[len("fastcgi://") :].rstrip("/")
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            if not rest.startswith(":"):
                raise ValueError(f"no port in {text!r}")
            return socket.AF_INET6, (host, int(rest[1:]))
        host, colon, port = hostport.rpartition(":")
        if not colon:
            raise ValueError(f"no port in {text!r}")
        return socket.AF_INET, (host, int(port))
    if "://" in text:
        raise ValueError(f"not a FastCGI address: {text!r}")
    return socket.AF_UNIX, text


def connect(address: Address, timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
    """A connected socket (TCP_NODELAY on TCP), with ``timeout`` on every operation."""
    family, sockaddr = parse_address(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class FastCGIClient:
    """One FastCGI connection, as a web server would use it.

    ``request()`` sends a whole request and returns its Response. While sending a
    large body it also reads, so a server that answers before it has read the
    whole body (as Apache's streaming expects) cannot deadlock the test. After a
    request without ``keep_conn`` the server should close the connection; the next
    ``request()`` opens a new one (``wait_closed()`` checks the close first, if the
    test cares). The lower-level ``sendall``/``read_record``/``read_response``
    share the same buffer, so they can be mixed freely.
    """

    def __init__(
        self, address: Address, timeout: float = DEFAULT_TIMEOUT, *, connect_now: bool = True
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader = RecordReader()
        self._reusable = False
        if connect_now:
            self.connect()

    # -- connection

    def connect(self) -> None:
        """(Re)connect; whatever the old connection had buffered is dropped."""
        self.close()
        self.sock = connect(self.address, self.timeout)
        self.reader = RecordReader(self.sock)
        self._reusable = True

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> FastCGIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise FastCGIError("the client is not connected")
        return self.sock

    def wait_closed(self, timeout: float = 2.0) -> bool:
        """True if the server closes (FIN or RST) within ``timeout`` seconds.

        Data arriving instead is a FastCGIError: the server sent something after
        the response ended.
        """
        sock = self._socket()
        if self.reader.buffered:
            raise FastCGIError(f"{self.reader.buffered} unexpected bytes buffered after the response")
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return False
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    return True
                if not data:
                    return True
                raise FastCGIError(f"unexpected data after the response: {data[:80]!r}")

    # -- raw access

    def sendall(self, data: bytes) -> None:
        self._socket().sendall(data)

    def read_record(self) -> Record | None:
        """The next record from the server; None when it closed the connection."""
        self._socket()
        return self.reader.read()

    def read_response(self, request_id: int = 1, strict: bool = True) -> Response:
        self._socket()
        return read_response(self.reader, request_id, strict)

    def read_responses(self, request_ids: Iterable[int], strict: bool = True) -> dict[int, Response]:
        self._socket()
        return read_responses(self.reader, request_ids, strict)

    # -- requests

    def exchange(
        self, payload: bytes, request_ids: Sequence[int] = (1,), strict: bool = True
    ) -> dict[int, Response]:
        """Send ``payload`` while reading, until every request in ``request_ids`` ended.

        If the server ends those requests, or resets the connection, before the
        payload is all sent, the rest is not sent and each Response's ``unsent``
        says how many bytes were left.
        """
        sock = self._socket()
        builders = {rid: _ResponseBuilder(rid, strict) for rid in request_ids}
        pending = set(builders)
        view = memoryview(payload)
        sent = 0
        to_send = len(payload)  # cut short if the server stops reading
        reset = False
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if payload else 0))
            while pending:
                rec = self.reader.next_record()
                if rec is not None:
                    _route(builders, pending, rec)
                    continue
                if self.reader.eof:
                    self._reusable = False
                    for builder in builders.values():
                        builder.response.unsent = len(payload) - sent
                    partial = builders[min(pending)].finish()
                    raise ConnectionClosed(
                        f"connection {'reset' if reset else 'closed'} before FCGI_END_REQUEST of request(s)"
                        f" {sorted(pending)} ({self.reader.buffered} bytes of an incomplete record pending;"
                        f" sent {sent}/{len(payload)} request bytes)",
                        partial,
                    )
                events = selector.select(self.timeout)
                if not events:
                    partial = builders[min(pending)].finish()
                    raise TimeoutError(
                        f"no progress for {self.timeout}s waiting for request(s) {sorted(pending)};"
                        f" sent {sent}/{len(payload)} bytes; so far: {partial!r}"
                    )
                mask = events[0][1]
                if mask & selectors.EVENT_WRITE:
                    try:
                        sent += sock.send(view[sent : min(to_send, sent + 65536)])
                    except (BrokenPipeError, ConnectionResetError):
                        to_send = sent  # the server stopped reading: stop sending, read what it said
                    if sent >= to_send:
                        selector.modify(sock, selectors.EVENT_READ)
                if mask & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except ConnectionResetError:
                        data, reset = b"", True
                    self.reader.feed(data)
        for builder in builders.values():
            builder.response.unsent = len(payload) - sent
        if sent < len(payload):
            self._reusable = False  # the server's framing no longer matches ours
        return {rid: builder.response for rid, builder in builders.items()}

    def send_request(
        self,
        params: Pairs,
        body: bytes = b"",
        keep_conn: bool = False,
        request_id: int = 1,
        **options: Any,
    ) -> None:
        """Only send a request (for multiplexing: send several, then ``read_responses``).

        ``options`` go to ``request_records``: role, chunk, padding, split_at, stdin, data.
        """
        self.sendall(request_records(request_id, params, body, keep_conn=keep_conn, **options))

    def request(
        self,
        params: Pairs,
        body: bytes = b"",
        keep_conn: bool = False,
        rid: int = 1,
        *,
        strict: bool = True,
        **options: Any,
    ) -> Response:
        """Send one request and return its Response.

        ``params`` are sent as given (see ``default_params``). ``options`` go to
        ``request_records``: role, chunk, padding, split_at, stdin, data.
        """
        if self.sock is None or not self._reusable:
            self.connect()
        payload = request_records(rid, params, body, keep_conn=keep_conn, **options)
        response = self.exchange(payload, (rid,), strict)[rid]
        self._reusable = self._reusable and keep_conn
        return response

    def get_values(
        self, names: Iterable[Text] = (FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS)
    ) -> dict[str, str]:
        """Send FCGI_GET_VALUES; the FCGI_GET_VALUES_RESULT as ``{name: value}``.

        The next record must be the result: to ask mid-request, send ``get_values()``
        with ``sendall`` and read the records yourself.
        """
        if self.sock is None or not self._reusable:
            self.connect()
        self.sendall(get_values(names))
        rec = self.read_record()
        if rec is None:
            raise ConnectionClosed("connection closed instead of FCGI_GET_VALUES_RESULT")
        if rec.type != FCGI_GET_VALUES_RESULT or rec.request_id != FCGI_NULL_REQUEST_ID:
            raise FastCGIError(f"expected FCGI_GET_VALUES_RESULT on request id 0, got {rec!r}")
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in decode_pairs(rec.content)}


def unknown_type_of(rec: Record) -> int:
    """The type an FCGI_UNKNOWN_TYPE record (§4.2) reports as not understood."""
    if rec.type != FCGI_UNKNOWN_TYPE or rec.content_length != _UNKNOWN_TYPE_BODY.size:
        raise FastCGIError(f"not an FCGI_UNKNOWN_TYPE record: {rec!r}")
    return _UNKNOWN_TYPE_BODY.unpack(rec.content)[0]


def end_request_body(app_status: int = 0, protocol_status: int = FCGI_REQUEST_COMPLETE) -> bytes:
    """An FCGI_EndRequestBody (§5.5), for tests that play the server's part."""
    return _END_REQUEST_BODY.pack(app_status, protocol_status)
