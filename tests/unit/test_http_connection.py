"""HTTPConnection beyond the request corpus: the response side (framing, keep-alive,
HEAD and bodiless statuses, 100-continue, misuse by the glue) and the request-side
behaviours that depend on more than one feed.

Responses are parsed back with a small reader written here from RFC 9112, never
with fcgigate's own code.
"""

from __future__ import annotations

from typing import Any

import pytest

from fcgigate.protocols.errors import LocalProtocolError
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    ErrorData,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseStart,
)
from fcgigate.protocols.http import (
    RAW_HEAD_SLACK,
    HTTPConnection,
    HTTPLimits,
    RequestRejected,
    error_response,
)

GET11 = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
HEAD11 = b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n"
GET10 = b"GET / HTTP/1.0\r\n\r\n"
GET10_KEEP = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
GET11_CLOSE = b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
POST_EXPECT = b"POST / HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"


def connection(*requests: bytes) -> tuple[HTTPConnection, list[Any]]:
    conn = HTTPConnection()
    events = conn.feed(b"".join(requests))
    return conn, events


def parse_head(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, [(lower-cased name, value)], rest) of one response."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of head in {raw!r}"
    status, *lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines:
        name, colon, value = line.partition(":")
        assert colon and name == name.strip(), f"bad field line {line!r}"
        fields.append((name.lower(), value.strip()))
    return status, fields, rest


def field(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [value for n, value in fields if n == name]


def dechunk(data: bytes) -> tuple[bytes, bytes]:
    """(body, rest) of a chunked body (RFC 9112 7.1); fails on bad framing."""
    body = bytearray()
    while True:
        line, sep, data = data.partition(b"\r\n")
        assert sep, "chunk size line without CRLF"
        size = int(line, 16)
        if size == 0:
            assert data.startswith(b"\r\n"), "no CRLF after the last chunk"
            return bytes(body), data[2:]
        assert data[size : size + 2] == b"\r\n", "no CRLF after chunk data"
        body += data[:size]
        data = data[size + 2 :]


# -- has_body: what the head says of a body ---------------------------------------


@pytest.mark.parametrize(
    ("fields", "has_body"),
    [
        (b"", False),
        (b"Content-Length: 0\r\n", False),
        (b"Content-Length: 2\r\n", True),
        (b"Transfer-Encoding: chunked\r\n", True),
    ],
    ids=["no-length", "length-0", "length-2", "chunked"],
)
def test_request_started_says_whether_a_body_follows(fields: bytes, has_body: bool) -> None:
    """A request whose head announces no body is run at once (the glue does
    not wait for BodyEnd); BodyEnd still follows it."""
    tail = b"ok" if has_body and b"Length" in fields else b"2\r\nok\r\n0\r\n\r\n" if has_body else b""
    _, events = connection(b"POST / HTTP/1.1\r\nHost: example.com\r\n" + fields + b"\r\n" + tail)
    assert type(events[0]) is RequestStarted and events[0].has_body is has_body
    assert type(events[-1]) is BodyEnd


# -- respond(): the whole response in one piece -----------------------------------


def test_respond_adds_content_length() -> None:
    conn, _ = connection(GET11)
    raw = conn.respond(1, "200 OK", [("Content-Type", "text/plain")], b"hello")
    status, fields, body = parse_head(raw)
    assert status == "HTTP/1.1 200 OK"
    assert field(fields, "content-length") == ["5"]
    assert field(fields, "content-type") == ["text/plain"]
    assert field(fields, "connection") == [] and field(fields, "transfer-encoding") == []
    assert body == b"hello"
    assert not conn.must_close


def test_respond_keeps_the_apps_content_length() -> None:
    conn, _ = connection(GET11)
    raw = conn.respond(1, "200 OK", [("content-length", "5")], b"hello")
    _, fields, body = parse_head(raw)
    assert field(fields, "content-length") == ["5"]
    assert body == b"hello"


def test_respond_empty_body_has_content_length_zero() -> None:
    conn, _ = connection(GET11)
    _, fields, body = parse_head(conn.respond(1, "200 OK", [], b""))
    assert field(fields, "content-length") == ["0"] and body == b""


def test_respond_in_order_on_a_pipelined_connection() -> None:
    conn, events = connection(GET11, GET11, GET11)
    assert [type(e) for e in events] == [RequestStarted, BodyEnd] * 3
    out = b"".join(conn.respond(rid, "200 OK", [], b"%d" % rid) for rid in (1, 2, 3))
    for rid in (1, 2, 3):
        status, fields, out = parse_head(out)
        assert status == "HTTP/1.1 200 OK" and field(fields, "content-length") == ["1"]
        assert out[:1] == b"%d" % rid
        out = out[1:]
    assert out == b"" and not conn.must_close


# -- send(): streamed responses -------------------------------------------------------


def test_send_without_length_on_http11_is_chunked() -> None:
    conn, _ = connection(GET11)
    head = conn.send(ResponseStart(1, "200 OK", [("Content-Type", "text/plain")]))
    _, fields, rest = parse_head(head)
    assert rest == b""
    assert field(fields, "transfer-encoding") == ["chunked"]
    assert field(fields, "content-length") == []
    assert conn.send(ResponseData(1, b"hello")) == b"5\r\nhello\r\n"
    assert conn.send(ResponseData(1, b"")) == b""  # an empty piece is not the last chunk
    assert conn.send(ResponseData(1, b"x" * 300)) == b"12c\r\n" + b"x" * 300 + b"\r\n"
    assert conn.send(ResponseEnd(1)) == b"0\r\n\r\n"
    assert not conn.must_close


def test_send_chunked_body_round_trips() -> None:
    conn, _ = connection(GET11)
    pieces = [b"a", b"\r\n0\r\n\r\n", bytes(range(256)), b"z" * 4096]
    out = conn.send(ResponseStart(1, "200 OK", []))
    out += b"".join(conn.send(ResponseData(1, p)) for p in pieces)
    out += conn.send(ResponseEnd(1))
    _, _, rest = parse_head(out)
    assert dechunk(rest) == (b"".join(pieces), b"")


def test_send_with_content_length_is_not_chunked() -> None:
    conn, _ = connection(GET11)
    _, fields, _ = parse_head(conn.send(ResponseStart(1, "200 OK", [("Content-Length", "5")])))
    assert field(fields, "transfer-encoding") == [] and field(fields, "content-length") == ["5"]
    assert conn.send(ResponseData(1, b"hel")) == b"hel"
    assert conn.send(ResponseData(1, b"lo")) == b"lo"
    assert conn.send(ResponseEnd(1)) == b""
    assert not conn.must_close


def test_send_without_length_on_http10_is_close_delimited() -> None:
    conn, _ = connection(GET10_KEEP)  # even a keep-alive client: there is no other framing
    _, fields, _ = parse_head(conn.send(ResponseStart(1, "200 OK", [])))
    assert field(fields, "connection") == ["close"]
    assert field(fields, "transfer-encoding") == [] and field(fields, "content-length") == []
    assert conn.send(ResponseData(1, b"raw")) == b"raw"
    assert not conn.must_close  # not before the body has been sent
    assert conn.send(ResponseEnd(1)) == b""
    assert conn.must_close


def test_http10_keep_alive_request_gets_keep_alive() -> None:
    conn, events = connection(GET10_KEEP)
    assert events[0].keep_conn
    status, fields, body = parse_head(conn.respond(1, "200 OK", [], b"ok"))
    assert status.startswith("HTTP/1.1 200")
    assert field(fields, "connection") == ["keep-alive"]
    assert field(fields, "content-length") == ["2"] and body == b"ok"
    assert not conn.must_close
    # ...and the connection serves the next request
    assert [type(e) for e in conn.feed(GET10_KEEP)] == [RequestStarted, BodyEnd]


def test_http10_keep_alive_streamed_with_length_stays_open() -> None:
    conn, _ = connection(GET10_KEEP)
    _, fields, _ = parse_head(conn.send(ResponseStart(1, "200 OK", [("Content-Length", "2")])))
    assert field(fields, "connection") == ["keep-alive"]
    conn.send(ResponseData(1, b"ok"))
    conn.send(ResponseEnd(1))
    assert not conn.must_close


def test_http10_without_keep_alive_closes() -> None:
    conn, events = connection(GET10)
    assert not events[0].keep_conn
    _, fields, _ = parse_head(conn.respond(1, "200 OK", [], b"ok"))
    assert field(fields, "connection") == ["close"]
    assert conn.must_close


def test_connection_close_request_closes() -> None:
    conn, events = connection(GET11_CLOSE)
    assert not events[0].keep_conn
    _, fields, _ = parse_head(conn.respond(1, "200 OK", [], b"bye"))
    assert field(fields, "connection") == ["close"]
    assert conn.must_close


def test_connection_close_request_streamed() -> None:
    conn, _ = connection(GET11_CLOSE)
    _, fields, _ = parse_head(conn.send(ResponseStart(1, "200 OK", [])))
    assert field(fields, "connection") == ["close"]
    assert field(fields, "transfer-encoding") == ["chunked"]
    assert not conn.must_close
    conn.send(ResponseEnd(1))
    assert conn.must_close


def test_close_after_forces_close() -> None:
    conn, _ = connection(GET11, GET11)
    conn.close_after(1)
    _, fields, _ = parse_head(conn.respond(1, "200 OK", [], b""))
    assert field(fields, "connection") == ["close"]
    assert conn.must_close
    # the next response, if the glue still sent one, says close as well
    _, fields, _ = parse_head(conn.respond(2, "200 OK", [], b""))
    assert field(fields, "connection") == ["close"]


def test_close_after_unknown_request_is_harmless() -> None:
    conn, _ = connection(GET11)
    conn.close_after(7)
    _, fields, _ = parse_head(conn.respond(1, "200 OK", [], b""))
    assert field(fields, "connection") == []


def test_rejection_makes_earlier_responses_close() -> None:
    conn, events = connection(GET11, b"\x16\x03\x01garbage")
    assert events[-1] == RequestRejected(2, 400, events[-1].reason)
    assert conn.must_close
    _, fields, _ = parse_head(conn.respond(1, "200 OK", [], b"ok"))
    assert field(fields, "connection") == ["close"]


# -- HEAD and bodiless statuses -----------------------------------------------------


def test_head_respond_sends_no_body_but_the_length() -> None:
    conn, _ = connection(HEAD11)
    raw = conn.respond(1, "200 OK", [("Content-Type", "text/html")], b"<html>hello</html>")
    status, fields, body = parse_head(raw)
    assert status == "HTTP/1.1 200 OK"
    assert body == b""
    # RFC 9110 9.3.2: the same fields as for GET, so the GET length
    assert field(fields, "content-length") == ["18"]
    assert not conn.must_close


def test_head_with_an_empty_body_claims_no_length() -> None:
    """An app that skips the body for HEAD says nothing of the GET length:
    no Content-Length: 0 (RFC 9110 8.6), and the connection stays usable."""
    conn, _ = connection(HEAD11)
    _, fields, body = parse_head(conn.respond(1, "200 OK", [("Content-Type", "text/html")], b""))
    assert body == b"" and field(fields, "content-length") == [] and field(fields, "transfer-encoding") == []
    assert not conn.must_close


def test_head_send_sends_no_body_bytes_at_all() -> None:
    conn, _ = connection(HEAD11)
    out = conn.send(ResponseStart(1, "200 OK", []))
    _, fields, rest = parse_head(out)
    assert rest == b""
    assert field(fields, "transfer-encoding") == []  # no chunked framing for no body
    assert conn.send(ResponseData(1, b"ignored")) == b""
    assert conn.send(ResponseData(1, b"x" * 1000)) == b""
    assert conn.send(ResponseEnd(1)) == b""
    assert not conn.must_close  # nothing to delimit: the connection survives
    assert [type(e) for e in conn.feed(GET11)] == [RequestStarted, BodyEnd]


def test_head_with_app_content_length_is_kept() -> None:
    conn, _ = connection(HEAD11)
    out = conn.send(ResponseStart(1, "200 OK", [("Content-Length", "1234")]))
    _, fields, rest = parse_head(out)
    assert field(fields, "content-length") == ["1234"] and rest == b""
    assert conn.send(ResponseData(1, b"abc")) == b""
    assert conn.send(ResponseEnd(1)) == b""


def test_head_on_http10_streamed_is_not_close_delimited() -> None:
    conn, _ = connection(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    _, fields, rest = parse_head(conn.send(ResponseStart(1, "200 OK", [])))
    assert rest == b"" and field(fields, "connection") == ["keep-alive"]
    conn.send(ResponseEnd(1))
    assert not conn.must_close


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodiless_status_respond(status: str) -> None:
    conn, _ = connection(GET11)
    raw = conn.respond(1, status, [("ETag", '"x"')], b"must not be sent")
    got, fields, body = parse_head(raw)
    assert got == f"HTTP/1.1 {status}"
    assert body == b""
    assert field(fields, "content-length") == [] and field(fields, "transfer-encoding") == []
    assert field(fields, "etag") == ['"x"']
    assert not conn.must_close


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodiless_status_send(status: str) -> None:
    conn, _ = connection(GET11)
    _, fields, rest = parse_head(conn.send(ResponseStart(1, status, [])))
    assert rest == b""
    assert field(fields, "content-length") == [] and field(fields, "transfer-encoding") == []
    assert conn.send(ResponseData(1, b"nope")) == b""
    assert conn.send(ResponseEnd(1)) == b""
    assert not conn.must_close


def test_bodiless_status_on_http10_does_not_close() -> None:
    conn, _ = connection(GET10_KEEP)
    _, fields, _ = parse_head(conn.send(ResponseStart(1, "304 Not Modified", [])))
    assert field(fields, "connection") == ["keep-alive"]
    conn.send(ResponseEnd(1))
    assert not conn.must_close


# -- 100-continue ---------------------------------------------------------------------


def test_continue_100_once_when_asked() -> None:
    conn, events = connection(POST_EXPECT)
    assert 1 in conn.expect_continue
    assert type(events[0]) is RequestStarted and type(events[-1]) is not BodyEnd
    assert conn.continue_100(1) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert conn.continue_100(1) == b""  # once
    assert 1 not in conn.expect_continue
    assert conn.feed(b"ok") == [BodyData(1, b"ok"), BodyEnd(1)]


def test_continue_100_not_without_expect() -> None:
    conn, _ = connection(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
    assert conn.expect_continue == set()
    assert conn.continue_100(1) == b""
    assert conn.continue_100(99) == b""


def test_continue_100_not_after_the_response_started() -> None:
    conn, _ = connection(POST_EXPECT)
    conn.send(ResponseStart(1, "413 Content Too Large", [("Content-Length", "0")]))
    assert conn.continue_100(1) == b""


def test_continue_100_not_after_respond() -> None:
    conn, _ = connection(POST_EXPECT)
    conn.respond(1, "200 OK", [], b"")
    assert conn.continue_100(1) == b""


def test_continue_100_only_for_its_own_request() -> None:
    conn, _ = connection(GET11, POST_EXPECT)
    assert conn.expect_continue == {2}
    assert conn.continue_100(1) == b""
    assert conn.continue_100(2) == b"HTTP/1.1 100 Continue\r\n\r\n"


def test_expect_100_continue_ignored_for_http10() -> None:
    """RFC 9110 10.1.1: "A server that receives a 100-continue expectation in an
    HTTP/1.0 request MUST ignore that expectation", and 15.2: "A server MUST NOT
    send a 1xx response to an HTTP/1.0 client"."""
    conn, events = connection(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert type(events[0]) is RequestStarted
    assert 1 not in conn.expect_continue
    assert conn.continue_100(1) == b""


# -- extra headers and the error response ---------------------------------------------


def test_extra_headers_appear_in_the_head() -> None:
    conn, _ = connection(GET11, GET11)
    extra = b"Date: x\r\nServer: fcgigate\r\n"
    status, fields, body = parse_head(conn.respond(1, "200 OK", [], b"a", extra))
    assert field(fields, "date") == ["x"] and field(fields, "server") == ["fcgigate"]
    assert body == b"a"
    head = conn.send(ResponseStart(2, "200 OK", [("X-App", "1")]), extra)
    assert head.endswith(b"X-App: 1\r\nTransfer-Encoding: chunked\r\nDate: x\r\nServer: fcgigate\r\n\r\n")


def test_error_response_is_complete_and_closes() -> None:
    raw = error_response(431, b"Date: x\r\n")
    status, fields, body = parse_head(raw)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert field(fields, "connection") == ["close"] and field(fields, "date") == ["x"]
    assert field(fields, "content-length") == [str(len(body))]
    assert body.startswith(b"431")


# -- misuse by the glue ---------------------------------------------------------------


def test_events_for_unknown_requests_raise() -> None:
    conn, _ = connection(GET11)
    for event in (ResponseStart(2, "200 OK", []), ResponseData(2, b"x"), ResponseEnd(2)):
        with pytest.raises(LocalProtocolError):
            conn.send(event)
    with pytest.raises(LocalProtocolError):
        conn.respond(0, "200 OK", [], b"")


def test_events_before_response_start_raise() -> None:
    conn, _ = connection(GET11)
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseData(1, b"x"))
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseEnd(1))


def test_second_response_start_raises() -> None:
    conn, _ = connection(GET11)
    conn.send(ResponseStart(1, "200 OK", []))
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseStart(1, "500 Internal Server Error", []))


def test_events_after_the_end_raise() -> None:
    conn, _ = connection(GET11, GET11)
    conn.send(ResponseStart(1, "200 OK", []))
    conn.send(ResponseEnd(1))
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseData(1, b"late"))
    conn.respond(2, "200 OK", [], b"")
    with pytest.raises(LocalProtocolError):
        conn.respond(2, "200 OK", [], b"")


def test_responses_out_of_pipeline_order_raise() -> None:
    """HTTP/1.1 matches responses to requests by order alone (RFC 9112 9.3.2): a
    response to request 2 written before request 1's would be read as request 1's."""
    conn, _ = connection(GET11, GET11)
    with pytest.raises(LocalProtocolError):
        conn.respond(2, "200 OK", [], b"second")
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseStart(2, "200 OK", []))


def test_error_data_writes_nothing() -> None:
    conn, _ = connection(GET11)
    conn.send(ResponseStart(1, "200 OK", []))
    assert conn.send(ErrorData(1, b"to the log")) == b""


# -- request side across feeds -------------------------------------------------------


def test_in_head_and_body_open_follow_the_request() -> None:
    conn = HTTPConnection()
    assert not conn.in_head and not conn.body_open
    assert conn.feed(b"POST / HTTP/1.1\r\nHost: a\r\n") == []
    assert conn.in_head and not conn.body_open
    events = conn.feed(b"Content-Length: 4\r\n\r\nab")
    assert [type(e) for e in events] == [RequestStarted, BodyData]
    assert not conn.in_head and conn.body_open
    assert conn.feed(b"cd") == [BodyData(1, b"cd"), BodyEnd(1)]
    assert not conn.in_head and not conn.body_open


def test_eof_returns_nothing() -> None:
    conn = HTTPConnection()
    conn.feed(b"GET / HTTP/1.1\r\nHo")
    assert conn.feed(b"") == []
    assert not conn.must_close  # what to do with a half request is the glue's call


def test_nothing_is_parsed_after_a_rejection() -> None:
    conn = HTTPConnection()
    events = conn.feed(b"GET / HTTP/1.1\r\n\r\n")  # no Host
    assert [type(e) for e in events] == [RequestRejected]
    assert events[0].request_id == 1 and events[0].status == 400
    assert conn.must_close
    assert conn.feed(GET11) == []


def test_rejection_in_a_body_names_that_request() -> None:
    conn = HTTPConnection()
    conn.feed(GET11)
    events = conn.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n")
    assert [type(e) for e in events] == [RequestStarted, BodyData]
    events = conn.feed(b"zz\r\n")
    assert [(type(e), e.request_id) for e in events] == [(RequestRejected, 2)]


def test_endless_header_line_is_bounded() -> None:
    """A header line that never ends is refused once the head has gone past
    max_header_size by one read's worth (RAW_HEAD_SLACK), however it is cut."""
    limit = 512
    conn = HTTPConnection(HTTPLimits(max_header_size=limit))
    assert conn.feed(b"GET / HTTP/1.1\r\nHost: a\r\nX-Endless: ") == []
    fed = 0
    while True:
        events = conn.feed(b"a" * 1000)
        fed += 1000
        if events:
            break
        assert fed <= limit + RAW_HEAD_SLACK + 1000, "an endless header line was buffered without bound"
    assert [(type(e), e.request_id, e.status) for e in events] == [(RequestRejected, 1, 431)]


def test_endless_request_target_is_bounded() -> None:
    conn = HTTPConnection(HTTPLimits(max_request_line=100))
    events = conn.feed(b"GET /")
    for _ in range(20):
        events += conn.feed(b"a" * 10)
    assert [(type(e), e.request_id, e.status) for e in events] == [(RequestRejected, 1, 414)]


def _feed_all(data: bytes, cut: int) -> list[Any]:
    conn = HTTPConnection()
    return conn.feed(data[:cut]) + conn.feed(data[cut:])  # feed(b"") is a no-op


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
UPGRADE_WITH_BODY = (
    b"POST /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Content-Length: %d\r\n\r\n%b" % (len(SMUGGLED), SMUGGLED)
)


def test_upgrade_request_body_is_never_parsed_as_a_request() -> None:
    """An Upgrade request is served as a plain one, so its Content-Length body is
    body. It must never be parsed as the next request (llhttp stops at the end of
    an upgrade request's head, and httptools tells it the body is skipped)."""
    for cut in range(len(UPGRADE_WITH_BODY) + 1):
        events = _feed_all(UPGRADE_WITH_BODY, cut)
        uris = [e.params["REQUEST_URI"] for e in events if type(e) is RequestStarted]
        assert "/smuggled" not in uris, f"cut at {cut}: {events}"


def test_upgrade_request_body_is_delivered_or_refused() -> None:
    """...and it is either delivered as BodyData or the request is refused, never
    silently dropped."""
    for cut in range(len(UPGRADE_WITH_BODY) + 1):
        events = _feed_all(UPGRADE_WITH_BODY, cut)
        body = b"".join(e.data for e in events if type(e) is BodyData)
        rejected = [e for e in events if type(e) is RequestRejected]
        assert body == SMUGGLED or rejected, f"cut at {cut}: {events}"


@pytest.mark.parametrize("cut", [0, 30, 80, 95])
def test_upgrade_request_then_pipelined_request(cut: int) -> None:
    """Bytes after a (plain-served) Upgrade request are the next request, whether
    they arrive in the same feed or a later one."""
    data = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + GET11
    conn = HTTPConnection()
    events = conn.feed(data[:cut]) if cut else []
    events += conn.feed(data[cut:])
    assert [(type(e), e.request_id) for e in events] == [
        (RequestStarted, 1),
        (BodyEnd, 1),
        (RequestStarted, 2),
        (BodyEnd, 2),
    ]
