"""A sans-I/O FastCGI 1.0 responder connection.

Rule 1: this file knows bytes and events, nothing else. It never touches a
socket, a clock, a thread or the logging configuration, and it never imports
``fcgigate.config``: its limits arrive as a frozen :class:`Limits` value.

Rule 2: every per-request transition lives in ``TRANSITIONS`` below. A record
that the table does not allow in a request's state is the peer's error, and it
is raised as :class:`RemoteProtocolError` naming the state and the record.

How it is used (the glue in ``serve/fastcgi.py`` does exactly this)::

    conn = FastCGIConnection(limits)
    events = conn.feed(data)          # b"" means EOF; returns request events
    transport.write(conn.data_to_send())   # our own answers (GET_VALUES_RESULT...)
    transport.write(conn.send(ResponseStart(...)))   # response events -> bytes

What the connection answers by itself, without the app: FCGI_GET_VALUES (with
true values of FCGI_MAX_CONNS, FCGI_MAX_REQS and FCGI_MPXS_CONNS, only the names
asked for), an unknown record type (FCGI_UNKNOWN_TYPE), an unknown role
(FCGI_UNKNOWN_ROLE), a request past the multiplexing cap (FCGI_OVERLOADED), and
an FCGI_ABORT_REQUEST for a request that has not been dispatched yet.

Records for request ids that are not active are ignored (spec 3.3): that is
also how STDIN the app never read is drained once its request has ended, so
the framing of a kept connection stays in sync.

Output records carry at most 65528 content bytes (65535 rounded down to a
multiple of 8, as php-fpm does), so that no padding is needed except after the
last piece of a write; that piece is padded to 8.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from fcgigate.protocols.errors import LocalProtocolError, RemoteProtocolError
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    ErrorData,
    RequestAborted,
    RequestEvent,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseEvent,
    ResponseStart,
)

# -- Wire constants, named as in the FastCGI 1.0 specification -------------------

FCGI_VERSION_1 = 1
FCGI_NULL_REQUEST_ID = 0
FCGI_KEEP_CONN = 1
FCGI_HEADER_LEN = 8
FCGI_MAX_CONTENT = 65535


class RecordType(IntEnum):
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


class Role(IntEnum):
    RESPONDER = 1
    AUTHORIZER = 2
    FILTER = 3


class ProtocolStatus(IntEnum):
    REQUEST_COMPLETE = 0
    CANT_MPX_CONN = 1
    OVERLOADED = 2
    UNKNOWN_ROLE = 3


HEADER = struct.Struct("!BBHHBx")  # version, type, requestId, contentLength, paddingLength, reserved
BEGIN_REQUEST_BODY = struct.Struct("!HB5x")  # role, flags, reserved[5]
END_REQUEST_BODY = struct.Struct("!IB3x")  # appStatus, protocolStatus, reserved[3]
UNKNOWN_TYPE_BODY = struct.Struct("!B7x")  # type, reserved[7]
_LEN4 = struct.Struct("!I")
# The end of a response in one pack: the empty STDOUT record, then END_REQUEST
# (header and body); the second also ends an opened STDERR stream, between them.
END_OF_RESPONSE = struct.Struct("!BBHHBx BBHHBxIB3x")
END_OF_RESPONSE_STDERR = struct.Struct("!BBHHBx BBHHBx BBHHBxIB3x")

# The largest output record content that needs no padding: 65535 & ~7.
OUTPUT_CHUNK = FCGI_MAX_CONTENT & ~7
_PADDING = bytes(8)
_KNOWN_TYPES = frozenset(RecordType)
# Plain ints for the hot paths: an IntEnum member costs an attribute lookup and
# misses the interpreter's fast paths for exact ints.
_BEGIN_REQUEST = int(RecordType.BEGIN_REQUEST)
_END_REQUEST = int(RecordType.END_REQUEST)
_STDOUT = int(RecordType.STDOUT)
_STDERR = int(RecordType.STDERR)
_REQUEST_COMPLETE = int(ProtocolStatus.REQUEST_COMPLETE)

# Roles we serve. FILTER needs a second input stream (FCGI_DATA) that WSGI has
# no place for; no web server we know of sends it, so it is answered as unknown
# rather than half-served.
SERVED_ROLES = {Role.RESPONDER: "RESPONDER", Role.AUTHORIZER: "AUTHORIZER"}


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for one connection, given by value (never the Config).

    ``max_conns`` and ``max_reqs`` are only reported to FCGI_GET_VALUES; they
    must be the values the glue really enforces.
    """

    max_params_size: int = 256 * 1024
    max_params: int = 1000
    max_concurrent_requests: int = 64
    max_requests_per_connection: int = 0  # 0: unlimited
    max_conns: int = 1024
    max_reqs: int = 64


# -- Per-request state machine ----------------------------------------------------

AWAIT_PARAMS = "AWAIT_PARAMS"  # BEGIN_REQUEST seen, PARAMS stream still open
AWAIT_STDIN = "AWAIT_STDIN"  # dispatched; body streaming in
INPUT_DONE = "INPUT_DONE"  # empty STDIN seen (or no body for this role)

# (state, record type) -> handler name. Anything missing is a protocol error.
TRANSITIONS: dict[tuple[str, RecordType], str] = {
    (AWAIT_PARAMS, RecordType.PARAMS): "_on_params",
    (AWAIT_PARAMS, RecordType.ABORT_REQUEST): "_on_abort",
    (AWAIT_STDIN, RecordType.STDIN): "_on_stdin",
    (AWAIT_STDIN, RecordType.ABORT_REQUEST): "_on_abort",
    (INPUT_DONE, RecordType.ABORT_REQUEST): "_on_abort",
    # A STDIN record after the end of input can only be a confused peer or an
    # AUTHORIZER's stray empty stream; it cannot desynchronise the framing, so
    # it is dropped rather than fatal.
    (INPUT_DONE, RecordType.STDIN): "_on_ignored",
    # DATA belongs to FILTER, which we do not serve; other roles never get it.
    (AWAIT_STDIN, RecordType.DATA): "_on_ignored",
    (INPUT_DONE, RecordType.DATA): "_on_ignored",
}


class _Request:
    __slots__ = (
        "request_id",
        "state",
        "keep_conn",
        "role",
        "params",
        "params_size",
        "response_started",
        "aborted",
        "stderr_used",
    )

    def __init__(self, request_id: int, keep_conn: bool, role: str) -> None:
        self.request_id = request_id
        self.state = AWAIT_PARAMS
        self.keep_conn = keep_conn
        self.role = role
        self.params: list[bytes] = []  # the PARAMS records' contents, joined at the end
        self.params_size = 0
        self.response_started = False
        self.aborted = False
        self.stderr_used = False


def _record(rtype: int, request_id: int, content: bytes = b"") -> bytes:
    """One record of at most FCGI_MAX_CONTENT bytes, padded to 8."""
    pad = -len(content) & 7
    return HEADER.pack(FCGI_VERSION_1, rtype, request_id, len(content), pad) + content + _PADDING[:pad]


def _stream(rtype: int, request_id: int, data: bytes) -> bytes:
    """``data`` as a stream of records (never the empty end-of-stream record)."""
    n = len(data)
    if n <= OUTPUT_CHUNK:
        pad = -n & 7
        return b"".join((HEADER.pack(FCGI_VERSION_1, rtype, request_id, n, pad), data, _PADDING[:pad]))
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    for start in range(0, n, OUTPUT_CHUNK):
        chunk = view[start : start + OUTPUT_CHUNK]
        pad = -len(chunk) & 7
        parts.append(HEADER.pack(FCGI_VERSION_1, rtype, request_id, len(chunk), pad))
        parts.append(chunk)
        if pad:
            parts.append(_PADDING[:pad])
    return b"".join(parts)


def _end_of_response(request_id: int, app_status: int, stderr_used: bool = False) -> bytes:
    """The empty STDOUT record that ends the stream (and the empty STDERR record
    if that stream was opened), then END_REQUEST."""
    if stderr_used:
        return END_OF_RESPONSE_STDERR.pack(
            FCGI_VERSION_1, _STDOUT, request_id, 0, 0,
            FCGI_VERSION_1, _STDERR, request_id, 0, 0,
            FCGI_VERSION_1, _END_REQUEST, request_id, END_REQUEST_BODY.size, 0,
            app_status, _REQUEST_COMPLETE,
        )  # fmt: skip
    return END_OF_RESPONSE.pack(
        FCGI_VERSION_1, _STDOUT, request_id, 0, 0,
        FCGI_VERSION_1, _END_REQUEST, request_id, END_REQUEST_BODY.size, 0,
        app_status, _REQUEST_COMPLETE,
    )  # fmt: skip


def encode_pairs(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """Name-value pairs in FastCGI's 1- or 4-byte length encoding."""
    out = bytearray()
    for name, value in pairs:
        for length in (len(name), len(value)):
            if length < 128:
                out.append(length)
            else:
                out += _LEN4.pack(length | 0x80000000)
        out += name
        out += value
    return bytes(out)


def _pair_lengths(data: bytes | bytearray, pos: int, end: int, stream: str) -> tuple[int, int, int]:
    """The name and value lengths of the pair at ``pos`` (1 or 4 bytes each), and
    where its name starts. Raises RemoteProtocolError if a length is cut off."""
    lengths = []
    for _ in range(2):
        if pos >= end:
            raise RemoteProtocolError(f"truncated name-value pair in {stream}")
        first = data[pos]
        if first < 128:
            lengths.append(first)
            pos += 1
        else:
            if pos + 4 > end:
                raise RemoteProtocolError(f"truncated 4-byte length in {stream}")
            lengths.append(_LEN4.unpack_from(data, pos)[0] & 0x7FFFFFFF)
            pos += 4
    return lengths[0], lengths[1], pos


def _past_end(name_len: int, value_len: int, stream: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"name-value pair lengths ({name_len}+{value_len}) run past the end of {stream}"
    )


def _too_many(max_pairs: int, stream: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"more than {max_pairs} {stream} pairs (fastcgi_max_params)")


def decode_pairs(
    data: bytes | bytearray, max_pairs: int, stream: str = "PARAMS"
) -> list[tuple[bytes, bytes]]:
    """Parse a complete name-value pair stream.

    Raises RemoteProtocolError if a length runs past the end of the stream or
    there are more than ``max_pairs`` pairs.
    """
    data = bytes(data)  # slices of bytes are bytes
    pairs = []
    pos, end = 0, len(data)
    while pos < end:
        name_len, value_len, pos = _pair_lengths(data, pos, end, stream)
        if pos + name_len + value_len > end:
            raise _past_end(name_len, value_len, stream)
        if len(pairs) >= max_pairs:
            raise _too_many(max_pairs, stream)
        name = data[pos : pos + name_len]
        pos += name_len
        pairs.append((name, data[pos : pos + value_len]))
        pos += value_len
    return pairs


def decode_params(data: bytes, max_pairs: int) -> dict[str, str]:
    """A complete PARAMS stream as a dict of latin-1 ``str`` (a later pair
    replaces an earlier one of the same name).

    The hot path's twin of :func:`decode_pairs`: it raises the same error for
    the same input, but builds the dict in one pass and checks lazily.
    """
    text = data.decode("latin-1")  # once: latin-1 maps byte i to character i, so offsets agree
    params: dict[str, str] = {}
    pos, end = 0, len(data)
    try:
        for _ in range(max_pairs):
            if pos >= end:
                break
            name_len = data[pos]
            value_len = data[pos + 1]  # IndexError if only one byte is left
            if (name_len | value_len) < 128:  # both lengths in one byte, as nearly always
                pos += 2
            else:
                name_len, value_len, pos = _pair_lengths(data, pos, end, "PARAMS")
            name_end = pos + name_len
            value_end = name_end + value_len
            # A pair that runs past the end is cut short by the slices; the
            # loop then stops, and the check after it raises.
            params[text[pos:name_end]] = text[name_end:value_end]
            pos = value_end
    except IndexError:
        _pair_lengths(data, pos, end, "PARAMS")  # raises: a length is cut off
    if pos > end:
        raise _past_end(name_len, value_len, "PARAMS")
    if pos < end:
        # A pair more than max_pairs: as in decode_pairs, its lengths are checked first.
        name_len, value_len, pos = _pair_lengths(data, pos, end, "PARAMS")
        if pos + name_len + value_len > end:
            raise _past_end(name_len, value_len, "PARAMS")
        raise _too_many(max_pairs, "PARAMS")
    return params


class FastCGIConnection:
    """One FastCGI connection, seen from the responder (application) side."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._buffer = bytearray()  # the start of a record whose end has not arrived
        self._wanted = FCGI_HEADER_LEN  # how long the buffer must be to hold a whole record
        self._out = bytearray()
        self._requests: dict[int, _Request] = {}
        self._requests_begun = 0
        # Set once a request without FCGI_KEEP_CONN was seen, or the
        # per-connection request limit was reached: the glue closes the
        # connection as soon as no request is active.
        self.close_when_idle = False
        self.eof = False

    # -- input ---------------------------------------------------------------------

    @property
    def active_requests(self) -> int:
        return len(self._requests)

    def feed(self, data: bytes) -> list[RequestEvent]:
        """Take bytes from the peer and return the request events they complete.

        ``b""`` means EOF: the peer closed its side. Every active request is
        then returned as :class:`RequestAborted` (a web server that closes the
        connection abandons all its requests; nginx does this on a client
        abort). Raises :class:`RemoteProtocolError` on bytes that break the
        protocol or a limit: the connection must then be closed.
        """
        if not data:
            self.eof = True
            events: list[RequestEvent] = []
            for req in self._requests.values():
                if req.state != AWAIT_PARAMS and not req.aborted:
                    req.aborted = True
                    events.append(RequestAborted(req.request_id))
            return events
        buf = self._buffer
        if buf:
            # A record is still incomplete: collect until it is whole, then
            # parse it and what follows from one bytes copy.
            buf += data
            if len(buf) < self._wanted:
                return []
            data = bytes(buf)
            buf.clear()
        elif type(data) is not bytes:
            data = bytes(data)  # contents are sliced out of it, and must be bytes
        events = []
        pos = 0
        end = len(data)
        wanted = FCGI_HEADER_LEN
        unpack = HEADER.unpack_from
        on_record = self._on_record
        try:
            while end - pos >= FCGI_HEADER_LEN:
                version, rtype, request_id, length, padding = unpack(data, pos)
                if version != FCGI_VERSION_1:
                    raise RemoteProtocolError(f"unsupported FastCGI version {version} (only 1 exists)")
                start = pos + FCGI_HEADER_LEN
                record_end = start + length + padding
                if record_end > end:
                    wanted = record_end - pos
                    break
                pos = record_end
                on_record(rtype, request_id, data[start : start + length], events)
        finally:
            if pos < end:
                buf += memoryview(data)[pos:]  # one copy of the tail (a slice would make two)
                self._wanted = wanted
        return events

    def data_to_send(self) -> bytes:
        """Bytes the connection wants to send on its own (management answers,
        END_REQUEST for requests it refused). Empty when there are none."""
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def _on_record(self, rtype: int, request_id: int, content: bytes, events: list[RequestEvent]) -> None:
        if request_id == FCGI_NULL_REQUEST_ID:
            self._on_management(rtype, content)
            return
        if rtype == _BEGIN_REQUEST:
            self._on_begin(request_id, content, events)
            return
        req = self._requests.get(request_id)
        if req is None:
            if rtype not in _KNOWN_TYPES:
                self._out += _record(RecordType.UNKNOWN_TYPE, 0, UNKNOWN_TYPE_BODY.pack(rtype))
            # spec 3.3: records for inactive request ids are ignored.
            return
        handler = _HANDLERS.get((req.state, rtype))
        if handler is None:
            name = RecordType(rtype).name if rtype in _KNOWN_TYPES else f"type {rtype}"
            raise RemoteProtocolError(
                f"unexpected {name} record for request {request_id} in state {req.state}"
            )
        handler(self, req, content, events)

    def _on_management(self, rtype: int, content: bytes) -> None:
        if rtype == RecordType.GET_VALUES:
            known = {
                b"FCGI_MAX_CONNS": str(self.limits.max_conns).encode(),
                b"FCGI_MAX_REQS": str(self.limits.max_reqs).encode(),
                b"FCGI_MPXS_CONNS": b"1" if self.limits.max_concurrent_requests > 1 else b"0",
            }
            asked = decode_pairs(content, self.limits.max_params, "GET_VALUES")
            answer = [(name, known[name]) for name, _ in asked if name in known]
            self._out += _record(RecordType.GET_VALUES_RESULT, 0, encode_pairs(answer))
        elif rtype in (RecordType.BEGIN_REQUEST, RecordType.PARAMS, RecordType.STDIN, RecordType.DATA):
            raise RemoteProtocolError(f"{RecordType(rtype).name} record with request id 0")
        else:
            self._out += _record(RecordType.UNKNOWN_TYPE, 0, UNKNOWN_TYPE_BODY.pack(rtype))

    def _on_begin(self, request_id: int, content: bytes, events: list[RequestEvent]) -> None:
        if len(content) != BEGIN_REQUEST_BODY.size:
            raise RemoteProtocolError(f"BEGIN_REQUEST body of {len(content)} bytes (expected 8)")
        if request_id in self._requests:
            raise RemoteProtocolError(f"BEGIN_REQUEST for request {request_id}, which is already active")
        role, flags = BEGIN_REQUEST_BODY.unpack(content)
        keep_conn = bool(flags & FCGI_KEEP_CONN)
        if not keep_conn:
            self.close_when_idle = True
        role_name = SERVED_ROLES.get(role)  # type: ignore[call-overload]
        if role_name is None:
            self._end(request_id, 0, ProtocolStatus.UNKNOWN_ROLE)
            return
        if len(self._requests) >= self.limits.max_concurrent_requests:
            # A connection that serves one request at a time says so (spec
            # 5.3, FCGI_MPXS_CONNS=0); past a larger cap we are overloaded.
            one_at_a_time = self.limits.max_concurrent_requests == 1
            self._end(
                request_id, 0, ProtocolStatus.CANT_MPX_CONN if one_at_a_time else ProtocolStatus.OVERLOADED
            )
            return
        self._requests_begun += 1
        limit = self.limits.max_requests_per_connection
        if limit and self._requests_begun >= limit:
            self.close_when_idle = True
        self._requests[request_id] = _Request(request_id, keep_conn, role_name)

    def _on_params(self, req: _Request, content: bytes, events: list[RequestEvent]) -> None:
        if content:
            req.params.append(content)
            req.params_size += len(content)
            if req.params_size > self.limits.max_params_size:
                raise RemoteProtocolError(
                    f"PARAMS of request {req.request_id} exceed {self.limits.max_params_size} bytes "
                    "(fastcgi_max_params_size)"
                )
            return
        # b"".join of a single record's content returns it as is: no copy in the usual case.
        params = decode_params(b"".join(req.params), self.limits.max_params)
        req.params = []
        events.append(RequestStarted(req.request_id, params, req.keep_conn, req.role))
        if req.role == "AUTHORIZER":
            # An authorizer gets no request body (spec 6.3).
            req.state = INPUT_DONE
            events.append(BodyEnd(req.request_id))
        else:
            req.state = AWAIT_STDIN

    def _on_stdin(self, req: _Request, content: bytes, events: list[RequestEvent]) -> None:
        if content:
            events.append(BodyData(req.request_id, content))
        else:
            req.state = INPUT_DONE
            events.append(BodyEnd(req.request_id))

    def _on_abort(self, req: _Request, content: bytes, events: list[RequestEvent]) -> None:
        if req.state == AWAIT_PARAMS:
            # Nothing was dispatched: answer on our own.
            self._end(req.request_id, 0, ProtocolStatus.REQUEST_COMPLETE)
            return
        if not req.aborted:
            req.aborted = True
            events.append(RequestAborted(req.request_id))

    def _on_ignored(self, req: _Request, content: bytes, events: list[RequestEvent]) -> None:
        return

    def _end(self, request_id: int, app_status: int, protocol_status: int) -> None:
        self._requests.pop(request_id, None)
        self._out += _record(
            RecordType.END_REQUEST, request_id, END_REQUEST_BODY.pack(app_status, protocol_status)
        )

    # -- output --------------------------------------------------------------------

    def is_active(self, request_id: int) -> bool:
        return request_id in self._requests

    def send(self, event: ResponseEvent) -> bytes:
        """Turn one response event into bytes for the peer.

        Raises :class:`LocalProtocolError` for an event about a request that
        is not active (already ended, or never begun).
        """
        rid = event.request_id
        req = self._requests.get(rid)
        if req is None:
            raise LocalProtocolError(f"response event for inactive request {rid}")
        if req.state == AWAIT_PARAMS:
            raise LocalProtocolError(f"response event for request {rid}, whose PARAMS have not ended")
        kind = type(event)
        if kind is ResponseData:
            if not req.response_started:
                raise LocalProtocolError(f"ResponseData for request {rid} before ResponseStart")
            return _stream(_STDOUT, rid, event.data) if event.data else b""
        if kind is ResponseStart:
            if req.response_started:
                raise LocalProtocolError(f"a second ResponseStart for request {rid}")
            req.response_started = True
            return _stream(_STDOUT, rid, cgi_head(event.status, event.headers))
        if kind is ResponseEnd:
            del self._requests[rid]
            return _end_of_response(rid, event.app_status, req.stderr_used)
        if kind is ErrorData:
            if not event.data:
                return b""
            req.stderr_used = True
            return _stream(_STDERR, rid, event.data)
        raise LocalProtocolError(f"cannot send {event!r}")

    def respond(self, request_id: int, status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
        """A whole response in one write: the fast path for bodies known up front.

        Equivalent to sending ResponseStart, ResponseData and ResponseEnd, but
        the head and the body share one STDOUT stream.
        """
        req = self._requests.pop(request_id, None)
        if req is None:
            raise LocalProtocolError(f"response for inactive request {request_id}")
        head = cgi_head(status, headers)
        end = _end_of_response(request_id, 0, req.stderr_used)
        size = len(head) + len(body)
        if size <= OUTPUT_CHUNK:
            # The usual case: head and body in one STDOUT record, then the end, in one join.
            pad = -size & 7
            header = HEADER.pack(FCGI_VERSION_1, _STDOUT, request_id, size, pad)
            return b"".join((header, head, body, _PADDING[:pad], end))
        # Small bodies ride in the head's record; large ones are not copied twice.
        if len(body) <= OUTPUT_CHUNK:
            return b"".join((_stream(_STDOUT, request_id, head + body), end))
        return b"".join((_stream(_STDOUT, request_id, head), _stream(_STDOUT, request_id, body), end))


def cgi_head(status: str, headers: list[tuple[str, str]]) -> bytes:
    """The CGI response head: ``Status:`` line, header lines, blank line (RFC 3875 6.2)."""
    head = f"Status: {status}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"  # str += grows in place: cheaper than a list and a join
    return (head + "\r\n").encode("latin-1")


def closing_trailer() -> bytes:
    """A harmless record to send right after the last END_REQUEST of a
    connection we are about to close (an FCGI_UNKNOWN_TYPE management record).

    nginx keeps an upstream connection for reuse only when the END_REQUEST
    record ends exactly where its read buffer ends; bytes after it make nginx
    finish the request and drop the connection instead of caching it
    (ngx_http_fastcgi_input_filter). Sent in the same write as END_REQUEST,
    this closes the window in which nginx could pick the connection from its
    cache for a new request just before our FIN arrives.
    """
    return _record(RecordType.UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, UNKNOWN_TYPE_BODY.pack(0))


# TRANSITIONS as the per-record lookup uses it: plain-int record types (no
# IntEnum conversion per record) and the handler functions themselves.
_HANDLERS = {
    (state, int(rtype)): getattr(FastCGIConnection, name) for (state, rtype), name in TRANSITIONS.items()
}
