"""A sans-I/O HTTP/1.1 server connection over httptools (llhttp).

Rule 1: this file knows bytes and events, nothing else: no socket, clock,
thread or logging configuration, no ``fcgigate.config`` (limits arrive as a
frozen :class:`HTTPLimits`). Parsing is llhttp's, in its strict mode; we do not
parse HTTP by hand. What llhttp allows but we refuse is checked in the
callbacks below, and listed in docs/http.md.

Rule 2: requests come out as the same events the FastCGI core emits
(``RequestStarted`` with CGI meta-variables, ``BodyData``, ``BodyEnd``), so the
runner and the WSGI bridge never know which protocol a request came over.
``request_id`` is a per-connection sequence number; responses must be sent in
that order (pipelining), which the glue guarantees by running one request at
a time per connection.

A request the parser refuses ends the event list with
:class:`RequestRejected`: the requests before it are still answered, then the
rejection (a 4xx/5xx status), then the connection closes. No byte after the
offending request is ever parsed into a request.

Response framing (:meth:`HTTPConnection.send`): a Content-Length from the app
is used as is; without one, an HTTP/1.1 response is chunked, and an HTTP/1.0
one is close-delimited. HEAD responses and 1xx/204/304 carry no body.
``Connection: close`` is sent, and the connection closed after the response,
when the client asked for it, when an HTTP/1.0 client did not ask for
keep-alive, when the body is close-delimited, or when the glue says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import httptools

from fcgigate.protocols.errors import LocalProtocolError
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseEvent,
    ResponseStart,
)


@dataclass(frozen=True, slots=True)
class RequestRejected:
    """The request numbered ``request_id`` is invalid: answer ``status`` and close."""

    request_id: int
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class HTTPLimits:
    max_request_line: int = 8190  # bytes of the request target (414 past it)
    max_headers: int = 100  # header fields (431)
    max_header_size: int = 64 * 1024  # bytes of the whole head (431)
    keep_alive: bool = True  # False: every response closes its connection


# Status lines for the statuses we produce ourselves.
REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}

_NO_BODY_STATUS = ("204", "304")  # and every 1xx
# How far past max_header_size raw head bytes may go before llhttp has handed
# us the fields to count (one read's worth).
RAW_HEAD_SLACK = 64 * 1024
_CHUNK_END = b"0\r\n\r\n"


# Header names already seen -> their CGI key ("" for a name that is dropped).
# Names repeat from request to request, so each is decoded and upper-cased
# once; bounded, so a client sending endless new names cannot grow it.
_KEYS: dict[bytes, str] = {}
_KEYS_MAX = 1024
# The keys whose values decide framing and the connection (_check_framing).
_SPECIAL = frozenset(
    ("HTTP_HOST", "HTTP_TRANSFER_ENCODING", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_CONNECTION",
     "HTTP_EXPECT")
)  # fmt: skip
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}


def _cgi_key(raw_name: bytes) -> str:
    """``User-Agent`` -> ``HTTP_USER_AGENT``; ``Content-Length`` and
    ``Content-Type`` lose the prefix (RFC 3875 4.1.2-3). A name with ``_`` is
    dropped (""): Foo_Bar and Foo-Bar would both be HTTP_FOO_BAR, so a front
    end that vetted Foo-Bar could be bypassed with Foo_Bar; nginx and Apache
    drop them too."""
    name = raw_name.decode("latin-1")
    key = "" if "_" in name else name.upper().replace("-", "_")
    if key and key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
        key = "HTTP_" + key
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[raw_name] = key
    return key


class _Refuse(Exception):
    """Raised inside a parser callback to stop parsing with a status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Response:
    __slots__ = ("request_id", "head", "chunked", "keep_alive", "no_body", "started", "http11")

    def __init__(self, request_id: int, head: bool, keep_alive: bool, http11: bool) -> None:
        self.request_id = request_id
        self.head = head
        self.keep_alive = keep_alive
        self.http11 = http11
        self.chunked = False
        self.no_body = head
        self.started = False


class HTTPConnection:
    """One HTTP/1.1 connection, server side."""

    def __init__(self, limits: HTTPLimits | None = None) -> None:
        self.limits = limits or HTTPLimits()
        self._parser = httptools.HttpRequestParser(self)
        # Let any digits through llhttp, so that on_headers_complete answers an
        # HTTP/3.0 request-line with 505 like HTTP/2.0 (llhttp would say 400).
        self._parser.set_dangerous_leniencies(lenient_version=True)
        self._events: list = []
        self._next_id = 1
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._max_headers = self.limits.max_headers
        self._fed = 0  # bytes in the feed() being parsed
        self._feeds = 0  # feed() calls so far
        self._has_body = False  # the current request's (see RequestStarted)
        self._head_feed = 0  # the one in which the current head began
        self._raw_head = 0  # bytes fed while inside a head
        self._in_head = False
        self._body_open = False
        self._rejected = False
        self._current_id = 0
        # Responses owed, in request order: request_id -> _Response.
        self._responses: dict[int, _Response] = {}
        self.expect_continue: set[int] = set()
        self.must_close = False  # no further request will be answered on this connection

    # -- input -------------------------------------------------------------------------

    def feed(self, data: bytes) -> list:
        """Parse bytes; return request events, possibly ending with a
        :class:`RequestRejected` (after which nothing more is parsed).

        ``b""`` (EOF) returns nothing: whether a half-finished request is
        abandoned or answered is the glue's call.
        """
        if self._rejected or not data:
            return []
        events = self._events = []
        self._fed = len(data)
        self._feeds += 1
        if self._in_head:
            self._raw_head += self._fed
        try:
            while True:
                try:
                    self._parser.feed_data(data)
                    break
                except httptools.HttpParserUpgrade as exc:
                    # Upgrade (h2c, websocket) is not offered: the request is
                    # served as a plain one (RFC 9110 7.8) and the bytes after
                    # it parsed as HTTP/1.1, in this feed as in the next ones.
                    # (Upgrade requests with a body were refused in
                    # on_headers_complete: httptools makes llhttp skip it.)
                    data = data[exc.args[0] :]
                    if not data:
                        break
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refuse):
                self._reject(cause.status, cause.reason)
            else:  # a bug of ours in a callback: still the peer gets an answer
                self._reject(400, f"malformed request: {exc}")
        except httptools.HttpParserError as exc:
            self._reject(400, f"malformed request: {exc}")
        if self._in_head and self._raw_head > self.limits.max_header_size + RAW_HEAD_SLACK:
            # llhttp buffers a header line until it ends: bound that too.
            self._reject(431, f"request head larger than {self.limits.max_header_size} bytes")
        return events

    def close(self) -> None:
        """The connection is gone: drop the parser, which holds this object's
        callbacks (a reference cycle the garbage collector would otherwise
        have to find, once per connection). Nothing more is parsed."""
        self._rejected = True
        self._parser = None
        self._events = []

    @property
    def in_head(self) -> bool:
        """True while a request head has begun but not ended."""
        return self._in_head

    @property
    def body_open(self) -> bool:
        """True while the current request's body is still arriving."""
        return self._body_open

    def _reject(self, status: int, reason: str) -> None:
        if self._rejected:
            return
        self._rejected = True
        self.must_close = True
        # The broken request is the one whose body is arriving, else the
        # one whose head is (or would be) next.
        rid = self._current_id if self._body_open else self._next_id
        self._events.append(RequestRejected(rid, status, reason))

    # httptools callbacks: each runs inside feed_data

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_feed = self._feeds
        self._url.clear()
        self._headers = []
        self._raw_head = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_request_line:
            raise _Refuse(414, f"request target longer than {self.limits.max_request_line} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        # Sized in on_headers_complete (meanwhile feed() bounds the raw bytes
        # of an unfinished head); counted here, so that a flood of tiny fields
        # is refused at the first one too many.
        headers = self._headers
        if len(headers) >= self._max_headers:
            raise _Refuse(431, f"more than {self._max_headers} header fields")
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        headers = self._headers
        limits = self.limits
        if (
            # A head that began and ended in this feed is at most its size:
            # then summed only when that could be too much.
            (self._fed > limits.max_header_size or self._head_feed != self._feeds)
            and sum(len(n) + len(v) + 4 for n, v in headers) > limits.max_header_size
        ):
            raise _Refuse(431, f"request head larger than {limits.max_header_size} bytes")
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise _Refuse(505 if version[0] in "23" else 400, f"HTTP/{version} is not served")
        rid = self._next_id
        raw_method = parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        params = self._params(rid, method, version)  # may refuse: then rid stays unused
        keep_alive = parser.should_keep_alive() and not self._close_asked and limits.keep_alive
        self._next_id += 1
        self._current_id = rid
        self._in_head = False
        self._body_open = True
        self._responses[rid] = _Response(rid, method == "HEAD", keep_alive, version == "1.1")
        self._events.append(RequestStarted(rid, params, keep_alive, "RESPONDER", self._has_body))

    def _params(self, rid: int, method: str, version: str) -> dict[str, str]:
        """CGI meta-variables for the request (RFC 3875 4.1), as latin-1 str."""
        target = self._url.decode("latin-1")
        path, _, query = target.partition("?")
        absolute = ""
        if path[:1] != "/":
            if path.startswith(("http://", "https://")):
                # absolute-form (RFC 9112 3.2.2): route on its path
                absolute, _, rest = path.split("//", 1)[1].partition("/")
                path = "/" + rest
            elif not (path == "*" and method == "OPTIONS"):
                raise _Refuse(400, f"request target {target[:100]!r} is not a path")
        params = {
            "REQUEST_METHOD": method,
            "REQUEST_URI": target,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1" if version == "1.1" else "HTTP/1.0",
        }
        self._close_asked = False
        special = []  # (key, value) of the fields _check_framing looks at
        hosts = 0
        keys = _KEYS
        for raw_name, raw_value in self._headers:
            key = keys.get(raw_name)
            if key is None:
                key = _cgi_key(raw_name)
            if not key:
                continue  # a name with "_" (see _cgi_key)
            value = raw_value.decode("latin-1").strip(" \t")
            if key in _SPECIAL:
                if key == "HTTP_HOST":
                    hosts += 1
                else:
                    special.append((key, value))
                    if key == "CONTENT_LENGTH" or key == "CONTENT_TYPE":
                        params[key] = value
                        continue
            if key in params:  # RFC 9110 5.3: repeated fields combine with a comma
                params[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
            else:
                params[key] = value
        if hosts != 1 and (hosts or version == "1.1"):
            raise _Refuse(400, "an HTTP/1.1 request needs exactly one Host header")
        if absolute:
            params["HTTP_HOST"] = absolute  # RFC 9112 3.2.2: the target's authority wins
        self._has_body = bool(special) and self._check_framing(rid, version, special)
        return params

    def _check_framing(self, rid: int, version: str, special: list[tuple[str, str]]) -> bool:
        """The header fields that decide framing and the connection's fate:
        Transfer-Encoding, Content-Length, Connection and Expect. Returns
        whether the request has a body."""
        codings: list[str] = []
        has_length = False
        expect = False
        for key, value in special:
            if key == "HTTP_TRANSFER_ENCODING":
                codings += [c.strip().lower() for c in value.split(",")]
            elif key == "CONTENT_LENGTH":
                has_length = value != "0"
            elif key == "HTTP_CONNECTION":
                self._close_asked |= "close" in (t.strip().lower() for t in value.split(","))
            elif key == "HTTP_EXPECT":
                if value.lower() != "100-continue":
                    raise _Refuse(417, f"unsupported expectation {value[:50]!r}")
                if version == "1.1":  # RFC 9110 10.1.1: ignored from HTTP/1.0
                    expect = True
        if codings and (version != "1.1" or codings[-1] != "chunked"):
            # RFC 9112 6.1, 6.3: the length cannot be determined (or, in
            # HTTP/1.0, the framing is faulty): refused before the app sees it.
            raise _Refuse(400, f"Transfer-Encoding {', '.join(codings)!r} not served")
        if len(codings) > 1:
            # gzip, chunked: framed fine, but we would hand the app a body
            # still encoded under a coding it never asked for (nginx: 501).
            raise _Refuse(501, f"Transfer-Encoding {', '.join(codings)!r} not implemented")
        if self._parser.should_upgrade() and (codings or has_length):
            # httptools makes llhttp skip an upgrade request's body: its bytes
            # would be parsed as the next request.
            raise _Refuse(400, "an Upgrade request with a body is not served")
        if expect:
            self.expect_continue.add(rid)
        return bool(codings) or has_length

    def on_body(self, body: bytes) -> None:
        self._events.append(BodyData(self._current_id, body))

    def on_message_complete(self) -> None:
        self._body_open = False
        self._events.append(BodyEnd(self._current_id))

    # -- output --------------------------------------------------------------------------

    def continue_100(self, request_id: int) -> bytes:
        """The interim ``100 Continue`` for a request that asked for it, once."""
        if request_id in self.expect_continue:
            self.expect_continue.discard(request_id)
            resp = self._responses.get(request_id)
            if resp is not None and not resp.started:
                return b"HTTP/1.1 100 Continue\r\n\r\n"
        return b""

    def close_after(self, request_id: int) -> None:
        """Answer ``request_id`` with Connection: close (a stopping server)."""
        resp = self._responses.get(request_id)
        if resp is not None:
            resp.keep_alive = False

    def send(self, event: ResponseEvent, extra_headers: bytes = b"") -> bytes:
        """Bytes for a response event. ``extra_headers`` (Date, Server) are
        raw header lines added to the head."""
        rid = event.request_id
        resp = self._responses.get(rid)
        if resp is None:
            raise LocalProtocolError(f"response event for unknown request {rid}")
        kind = type(event)
        if kind is ResponseStart:
            self._check_turn(rid)
            if resp.started:
                raise LocalProtocolError(f"a second ResponseStart for request {rid}")
            return self._head(resp, event.status, event.headers, None, extra_headers)
        if not resp.started:
            raise LocalProtocolError(f"{kind.__name__} for request {rid} before ResponseStart")
        if kind is ResponseData:
            if not event.data or resp.no_body:
                return b""
            if resp.chunked:
                return b"%x\r\n%b\r\n" % (len(event.data), event.data)
            return event.data
        if kind is ResponseEnd:
            del self._responses[rid]
            if not resp.keep_alive:
                self.must_close = True
            return _CHUNK_END if resp.chunked and not resp.no_body else b""
        return b""  # ErrorData: an HTTP peer has no error stream

    def respond(
        self,
        request_id: int,
        status: str,
        headers: list[tuple[str, str]],
        body: bytes,
        extra_headers: bytes = b"",
    ) -> bytes:
        """A whole response in one piece (the fast path): head and body."""
        responses = self._responses
        resp = responses.get(request_id)
        if resp is None:
            raise LocalProtocolError(f"response for unknown request {request_id}")
        self._check_turn(request_id)
        del responses[request_id]
        head = self._head(resp, status, headers, len(body), extra_headers)
        if not resp.keep_alive:
            self.must_close = True
        if resp.no_body or not body:
            return head
        return head + body

    def _check_turn(self, request_id: int) -> None:
        first = next(iter(self._responses))
        if request_id != first:
            raise LocalProtocolError(f"response to request {request_id} before request {first}'s")

    def _head(
        self, resp: _Response, status: str, headers: list[tuple[str, str]], length: int | None, extra: bytes
    ) -> bytes:
        resp.started = True
        if status[0] == "1" or status.startswith(_NO_BODY_STATUS):  # (a status is "NNN reason")
            resp.no_body = True
        has_length = False
        lines = [f"HTTP/1.1 {status}\r\n"]
        for name, value in headers:
            if len(name) == 14 and name.lower() == "content-length":
                has_length = True
            lines.append(f"{name}: {value}\r\n")
        if not has_length and not (resp.no_body and not resp.head):
            if length is not None and not (resp.head and not length):
                # (An empty HEAD body says nothing of the GET body's length,
                # so no Content-Length: 0 for it; RFC 9110 8.6.)
                lines.append(f"Content-Length: {length}\r\n")
            elif resp.http11 and not resp.head:
                resp.chunked = True
                lines.append("Transfer-Encoding: chunked\r\n")
            elif not resp.head:
                resp.keep_alive = False  # close-delimited body
        if not resp.keep_alive or self.must_close:
            resp.keep_alive = False
            lines.append("Connection: close\r\n")
        elif not resp.http11:
            lines.append("Connection: keep-alive\r\n")
        return "".join(lines).encode("latin-1") + extra + b"\r\n"


def error_response(status: int, extra_headers: bytes = b"") -> bytes:
    """A complete plain-text error response that closes the connection, for
    requests refused before any app saw them."""
    line = f"{status} {REASONS.get(status, 'Error')}"
    text = f"{line}\n".encode()
    head = (
        f"HTTP/1.1 {line}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(text)}\r\nConnection: close\r\n"
    )
    return head.encode("latin-1") + extra_headers + b"\r\n" + text
