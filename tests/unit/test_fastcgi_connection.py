"""FastCGIConnection: the response side, per-request state, keep-conn and EOF.

The request side is tested against the corpus in ``test_fastcgi_corpus.py``; here the
bytes the connection produces are parsed with the corpus helpers (written from the
specification, independent of fcgigate's encoder) and checked for the framing rules
a web server relies on: version 1, content of at most 65535 bytes, content plus
padding a multiple of 8, zero reserved and padding bytes, and no empty STDOUT record
before the end of the response (an empty record ends the stream).
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from fcgigate.protocols.errors import LocalProtocolError, RemoteProtocolError
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    ErrorData,
    RequestAborted,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseStart,
)
from fcgigate.protocols.fastcgi import (
    AWAIT_PARAMS,
    AWAIT_STDIN,
    INPUT_DONE,
    TRANSITIONS,
    FastCGIConnection,
    Limits,
    RecordType,
)
from tests.corpus.fastcgi import helpers as h

HEAD = b"Status: 200 OK\r\nName: value\r\n\r\n"


def framed(data: bytes) -> list[h.Record]:
    """Parse what the connection sent, checking the framing of every record."""
    records = h.parse_records(data)  # strict: no truncated tail
    for rec in records:
        assert rec.version == 1, rec
        assert len(rec.content) <= 0xFFFF, rec
        assert (len(rec.content) + rec.padding) % 8 == 0, f"record not padded to 8: {rec}"
        assert data[rec.offset + 7] == 0, f"reserved byte is not 0: {rec}"
        assert not any(data[rec.end - rec.padding : rec.end]), f"padding bytes are not 0: {rec}"
    return records


def begun(*rids: int, keep_conn: bool = True, body: bytes | None = b"", limits: Limits | None = None):
    """A connection on which requests ``rids`` were dispatched (their body complete,
    or still open when ``body`` is None)."""
    conn = FastCGIConnection(limits)
    events = []
    for rid in rids:
        data = h.begin(rid, keep_conn=keep_conn) + h.params(rid, {"N": str(rid)}) + h.params_end(rid)
        if body is not None:
            data += h.stdin(rid, body) + h.stdin_end(rid)
        events += conn.feed(data)
    assert [e for e in events if type(e) is RequestStarted] == [
        RequestStarted(rid, {"N": str(rid)}, keep_conn, "RESPONDER") for rid in rids
    ]
    assert conn.data_to_send() == b""
    return conn


def end_body(rec: h.Record) -> tuple[int, int]:
    assert rec.type == h.END_REQUEST and len(rec.content) == 8
    app_status, protocol_status, reserved = struct.unpack("!IB3s", rec.content)
    assert reserved == bytes(3)
    return app_status, protocol_status


# -- the response head and body ---------------------------------------------------------


def test_head_is_a_cgi_status_line_headers_and_blank_line() -> None:
    conn = begun(1)
    out = conn.send(ResponseStart(1, "200 OK", [("Name", "value")]))
    records = framed(out)
    assert all(r.type == h.STDOUT and r.request_id == 1 and r.content for r in records)
    assert h.stream(records, h.STDOUT, 1) == HEAD


def test_head_with_several_headers_and_other_status() -> None:
    conn = begun(1)
    headers = [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-É", "é")]
    records = framed(conn.send(ResponseStart(1, "404 Not Found", headers)))
    assert h.stream(records, h.STDOUT, 1) == (
        b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\nX-\xc9: \xe9\r\n\r\n"
    )


@pytest.mark.parametrize("size", [1, 7, 8, 9, 65527, 65528, 65529, 65535, 65536, 131056, 131057, 1_000_000])
def test_body_records_fit_and_are_padded_to_8(size: int) -> None:
    conn = begun(1)
    conn.send(ResponseStart(1, "200 OK", []))
    body = bytes(i * 7 % 251 for i in range(size))
    records = framed(conn.send(ResponseData(1, body)))
    assert all(r.type == h.STDOUT and r.request_id == 1 and r.content for r in records)
    assert h.stream(records, h.STDOUT, 1) == body
    assert len(records) >= -(-size // 0xFFFF)


def test_one_megabyte_body_in_pieces_then_end() -> None:
    conn = begun(1)
    body = bytes(range(256)) * 4096  # 1 MiB
    out = conn.send(ResponseStart(1, "200 OK", [("Content-Length", str(len(body)))]))
    for start in range(0, len(body), 300_000):
        out += conn.send(ResponseData(1, body[start : start + 300_000]))
    out += conn.send(ResponseEnd(1))
    records = framed(out)
    assert h.stream(records, h.STDOUT, 1) == b"Status: 200 OK\r\nContent-Length: 1048576\r\n\r\n" + body
    assert [r.type for r in records[-2:]] == [h.STDOUT, h.END_REQUEST]
    assert all(r.content for r in records[:-2]), "an empty STDOUT record before the end ends the stream"


def test_empty_response_data_sends_nothing() -> None:
    conn = begun(1)
    conn.send(ResponseStart(1, "200 OK", []))
    assert conn.send(ResponseData(1, b"")) == b""
    assert conn.is_active(1)


# -- the end of a response, and what follows it ------------------------------------------


@pytest.mark.parametrize("app_status", [0, 3, 0xFFFFFFFF])
def test_response_end_is_empty_stdout_then_end_request(app_status: int) -> None:
    conn = begun(1)
    conn.send(ResponseStart(1, "200 OK", []))
    records = framed(conn.send(ResponseEnd(1, app_status)))
    assert [(r.type, r.request_id, r.content) for r in records[:1]] == [(h.STDOUT, 1, b"")]
    assert [(r.type, r.request_id) for r in records[1:]] == [(h.END_REQUEST, 1)]
    assert end_body(records[1]) == (app_status, h.REQUEST_COMPLETE)


def test_after_end_the_id_is_inactive_ignored_and_reusable() -> None:
    conn = begun(1, body=None)  # the app answers before the body ended
    conn.send(ResponseStart(1, "200 OK", []))
    conn.send(ResponseEnd(1))
    assert not conn.is_active(1) and conn.active_requests == 0
    # Records for the ended id are drained, not errors (spec 3.3).
    late = h.stdin(1, b"unread body") + h.stdin_end(1) + h.abort(1) + h.params_end(1)
    assert conn.feed(late) == []
    assert conn.data_to_send() == b""
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseData(1, b"late"))
    # ...and the id can be begun again.
    events = conn.feed(h.request(1, {"AGAIN": "yes"}, b"2nd", keep_conn=True))
    assert events == [
        RequestStarted(1, {"AGAIN": "yes"}, True, "RESPONDER"),
        BodyData(1, b"2nd"),
        BodyEnd(1),
    ]
    assert conn.is_active(1)


@pytest.mark.parametrize(
    "event",
    [
        ResponseStart(5, "200 OK", []),
        ResponseData(5, b"x"),
        ResponseData(5, b""),
        ErrorData(5, b"x"),
        ResponseEnd(5),
    ],
    ids=lambda e: type(e).__name__,
)
def test_send_for_an_inactive_id_raises(event: Any) -> None:
    conn = begun(1)
    with pytest.raises(LocalProtocolError, match="inactive request 5"):
        conn.send(event)
    assert conn.is_active(1)


def test_respond_for_an_inactive_id_raises() -> None:
    conn = begun(1)
    with pytest.raises(LocalProtocolError):
        conn.respond(2, "200 OK", [], b"")
    conn.respond(1, "200 OK", [], b"")
    with pytest.raises(LocalProtocolError):
        conn.respond(1, "200 OK", [], b"")
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseEnd(1))


# -- respond(): the one-write fast path ----------------------------------------------------

HEADERS = [("Content-Type", "application/octet-stream"), ("X-Pad", "p" * 33)]
HEAD_LEN = len(b"Status: 201 Created\r\n" + b"".join(f"{n}: {v}\r\n".encode() for n, v in HEADERS) + b"\r\n")


@pytest.mark.parametrize(
    "size",
    [0, 1, 65528 - HEAD_LEN, 65528 - HEAD_LEN + 1, 65528, 65529, 65535 - HEAD_LEN + 1, 200_000, 1_000_000],
)
def test_respond_equals_the_event_sequence(size: int) -> None:
    body = bytes(i % 253 for i in range(size))
    fast = begun(1).respond(1, "201 Created", HEADERS, body)
    slow_conn = begun(1)
    slow = (
        slow_conn.send(ResponseStart(1, "201 Created", HEADERS))
        + slow_conn.send(ResponseData(1, body))
        + slow_conn.send(ResponseEnd(1))
    )
    fast_records, slow_records = framed(fast), framed(slow)
    assert h.stream(fast_records, h.STDOUT, 1) == h.stream(slow_records, h.STDOUT, 1)
    assert h.stream(fast_records, h.STDOUT, 1)[:HEAD_LEN].startswith(b"Status: 201 Created\r\n")
    for records in (fast_records, slow_records):
        assert {r.request_id for r in records} == {1}
        assert all(r.type == h.STDOUT and r.content for r in records[:-2])
        assert (records[-2].type, records[-2].content) == (h.STDOUT, b"")
        assert end_body(records[-1]) == (0, h.REQUEST_COMPLETE)


def test_respond_ends_the_request() -> None:
    conn = begun(1, 2)
    conn.respond(1, "200 OK", [], b"ok")
    assert not conn.is_active(1) and conn.is_active(2)
    assert conn.feed(h.stdin(1, b"ignored")) == []


# -- STDERR -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 13, 65528, 100_000])
def test_error_data_goes_to_stderr_records(size: int) -> None:
    conn = begun(1)
    message = (b"oops: something went wrong\n" * (size // 27 + 1))[:size]
    records = framed(conn.send(ErrorData(1, message)))
    assert all(r.type == h.STDERR and r.request_id == 1 and r.content for r in records)
    assert h.stream(records, h.STDERR, 1) == message
    assert conn.send(ErrorData(1, b"")) == b""


@pytest.mark.parametrize("ending", ["ResponseEnd", "respond"])
def test_stderr_stream_is_closed_before_end_request_when_used(ending: str) -> None:
    """Spec 3.3: a stream is its non-empty records *followed by an empty record*.
    The spec's appendix B, example 3, ends a used STDERR with {FCGI_STDERR, 1, ""}
    before END_REQUEST, and libfcgi does the same (fcgiapp.c WriteCloseRecords: the
    empty record is left out only for a STDERR nothing was written to)."""
    conn = begun(1)
    if ending == "ResponseEnd":
        out = conn.send(ResponseStart(1, "500 Internal Server Error", []))
        out += conn.send(ErrorData(1, b"Traceback...\n"))
        out += conn.send(ResponseEnd(1, 1))
    else:
        out = conn.send(ErrorData(1, b"Traceback...\n"))
        out += conn.respond(1, "500 Internal Server Error", [], b"oops")
    records = framed(out)
    stderr = [r for r in records if r.type == h.STDERR]
    assert stderr and stderr[-1].content == b"", "the STDERR stream is never ended"
    assert [r.content for r in stderr].count(b"") == 1
    assert records[-1].type == h.END_REQUEST
    assert h.stream(records, h.STDERR, 1) == b"Traceback...\n"


def test_unused_stderr_sends_no_records() -> None:
    conn = begun(1)
    out = conn.send(ResponseStart(1, "200 OK", [])) + conn.send(ErrorData(1, b"")) + conn.send(ResponseEnd(1))
    assert [r.type for r in framed(out)] == [h.STDOUT, h.STDOUT, h.END_REQUEST]
    assert [r.type for r in framed(begun(1).respond(1, "200 OK", [], b""))] == [
        h.STDOUT,
        h.STDOUT,
        h.END_REQUEST,
    ]


# -- multiplexing ---------------------------------------------------------------------


def test_interleaved_responses_each_carry_their_own_id() -> None:
    conn = begun(1, 2, 3)
    bodies = {1: b"one" * 30_000, 2: b"", 3: b"three" * 5}
    out = b""
    for rid in (2, 1, 3):
        out += conn.send(ResponseStart(rid, "200 OK", [("X-Id", str(rid))]))
    out += conn.send(ResponseData(1, bodies[1][:50_000]))
    out += conn.send(ResponseData(3, bodies[3]))
    out += conn.send(ErrorData(2, b"warning 2"))
    out += conn.send(ResponseEnd(3, 33))
    out += conn.send(ResponseData(1, bodies[1][50_000:]))
    out += conn.send(ResponseEnd(2, 22))
    out += conn.send(ResponseEnd(1, 11))
    records = framed(out)
    for rid in (1, 2, 3):
        head = f"Status: 200 OK\r\nX-Id: {rid}\r\n\r\n".encode()
        assert h.stream(records, h.STDOUT, rid) == head + bodies[rid]
        ends = [r for r in records if r.type == h.END_REQUEST and r.request_id == rid]
        assert [end_body(r) for r in ends] == [(rid * 11, h.REQUEST_COMPLETE)]
    assert h.stream(records, h.STDERR, 2) == b"warning 2"
    assert [r.request_id for r in records if r.type == h.END_REQUEST] == [3, 2, 1]
    assert conn.active_requests == 0


def test_multiplexed_bodies_stay_with_their_request() -> None:
    conn = begun(1, 2, body=None)
    events = conn.feed(h.stdin(2, b"b2") + h.stdin(1, b"a1") + h.stdin_end(2) + h.stdin(1, b"a2"))
    assert events == [BodyData(2, b"b2"), BodyData(1, b"a1"), BodyEnd(2), BodyData(1, b"a2")]
    conn.respond(2, "200 OK", [], b"")
    assert conn.feed(h.stdin_end(1)) == [BodyEnd(1)]


# -- keep-conn and the per-connection request limit ------------------------------------------


def test_close_when_idle_follows_keep_conn() -> None:
    conn = FastCGIConnection()
    assert not conn.close_when_idle
    conn.feed(h.begin(1, keep_conn=True))
    assert not conn.close_when_idle
    conn.feed(h.begin(2, keep_conn=False))
    assert conn.close_when_idle


def test_close_when_idle_set_by_max_requests_per_connection() -> None:
    conn = FastCGIConnection(Limits(max_requests_per_connection=3))
    for rid in (1, 2):
        conn.feed(h.request(rid, {}, keep_conn=True))
        conn.send(ResponseEnd(rid))
        assert not conn.close_when_idle, f"after request {rid} of 3"
    conn.feed(h.begin(3, keep_conn=True))
    assert conn.close_when_idle


def test_no_request_limit_by_default() -> None:
    conn = FastCGIConnection()
    for _ in range(200):
        assert conn.feed(h.request(1, {}, keep_conn=True))[-1] == BodyEnd(1)
        conn.respond(1, "204 No Content", [], b"")
    assert not conn.close_when_idle


# -- EOF ----------------------------------------------------------------------------------


def test_eof_aborts_dispatched_requests_only_and_only_once() -> None:
    conn = FastCGIConnection()
    conn.feed(h.begin(1, keep_conn=True) + h.params(1, {"A": "1"}))  # AWAIT_PARAMS
    conn.feed(h.begin(2, keep_conn=True) + h.params_end(2))  # AWAIT_STDIN
    conn.feed(h.request(3, {}, keep_conn=True))  # INPUT_DONE
    conn.feed(h.request(4, {}, keep_conn=True))
    conn.send(ResponseEnd(4))  # ended
    assert conn.feed(h.request(5, {}, keep_conn=True) + h.abort(5))[-1] == RequestAborted(5)
    assert conn.feed(b"") == [RequestAborted(2), RequestAborted(3)]
    assert conn.eof
    assert conn.feed(b"") == []
    # The aborted requests are still answered (or failed) by the app.
    assert framed(conn.send(ResponseEnd(2)))[-1].type == h.END_REQUEST


def test_eof_on_an_idle_connection() -> None:
    conn = FastCGIConnection()
    assert conn.feed(b"") == []
    assert conn.data_to_send() == b""


def test_eof_in_the_middle_of_a_record() -> None:
    conn = begun(1, body=None)
    partial = h.stdin(1, b"0123456789")[:12]
    assert conn.feed(partial) == []
    assert conn.feed(b"") == [RequestAborted(1)]


# -- the transition table -------------------------------------------------------------------

STATES = {
    AWAIT_PARAMS: h.begin(1, keep_conn=True),
    AWAIT_STDIN: h.begin(1, keep_conn=True) + h.params_end(1),
    INPUT_DONE: h.begin(1, keep_conn=True) + h.params_end(1) + h.stdin_end(1),
}
APPLICATION_TYPES = [t for t in RecordType if t not in (RecordType.BEGIN_REQUEST,)]


def test_transition_handlers_exist() -> None:
    for (state, rtype), handler in TRANSITIONS.items():
        assert state in STATES and rtype in RecordType
        assert callable(getattr(FastCGIConnection, handler)), handler


@pytest.mark.parametrize("rtype", APPLICATION_TYPES, ids=lambda t: t.name)
@pytest.mark.parametrize("state", list(STATES))
def test_records_not_in_the_table_are_protocol_errors(state: str, rtype: RecordType) -> None:
    conn = FastCGIConnection()
    conn.feed(STATES[state])
    content = b"" if rtype in (RecordType.ABORT_REQUEST, RecordType.PARAMS) else b"x"
    data = h.record(rtype, 1, content)
    if (state, rtype) in TRANSITIONS:
        conn.feed(data)
    else:
        with pytest.raises(RemoteProtocolError) as info:
            conn.feed(data)
        assert state in str(info.value) and rtype.name in str(info.value)


# -- management and refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    "limits",
    [Limits(), Limits(max_conns=1, max_reqs=1), Limits(max_conns=100_000, max_reqs=512)],
    ids=["default", "ones", "large"],
)
def test_get_values_reports_the_limits(limits: Limits) -> None:
    conn = FastCGIConnection(limits)
    conn.feed(h.get_values("FCGI_MPXS_CONNS", "FCGI_MAX_REQS", "FCGI_MAX_CONNS"))
    (rec,) = framed(conn.data_to_send())
    assert (rec.type, rec.request_id) == (h.GET_VALUES_RESULT, 0)
    assert dict(h.decode_pairs(rec.content)) == {
        b"FCGI_MAX_CONNS": str(limits.max_conns).encode(),
        b"FCGI_MAX_REQS": str(limits.max_reqs).encode(),
        b"FCGI_MPXS_CONNS": b"1",
    }
    assert conn.data_to_send() == b""


@pytest.mark.parametrize("role", [0, 3, 9, 0xFFFF])
def test_unknown_roles_are_refused(role: int) -> None:
    conn = FastCGIConnection()
    assert conn.feed(h.begin(7, role=role, keep_conn=True) + h.params_end(7) + h.stdin_end(7)) == []
    (rec,) = framed(conn.data_to_send())
    assert rec.request_id == 7 and end_body(rec) == (0, h.UNKNOWN_ROLE)
    assert not conn.is_active(7)


def test_overloaded_refusal_and_recovery() -> None:
    conn = begun(1, 2, limits=Limits(max_concurrent_requests=2))
    assert conn.feed(h.request(3, {})) == []
    (rec,) = framed(conn.data_to_send())
    assert rec.request_id == 3 and end_body(rec) == (0, h.OVERLOADED)
    conn.respond(1, "200 OK", [], b"")
    assert conn.feed(h.request(3, {}))[0] == RequestStarted(3, {}, False, "RESPONDER")


def test_abort_before_dispatch_is_answered_by_the_connection() -> None:
    conn = FastCGIConnection()
    assert conn.feed(h.begin(4, keep_conn=True) + h.params(4, {"A": "1"}) + h.abort(4)) == []
    (rec,) = framed(conn.data_to_send())
    assert rec.request_id == 4 and end_body(rec) == (0, h.REQUEST_COMPLETE)
    assert not conn.is_active(4)
    with pytest.raises(LocalProtocolError):
        conn.send(ResponseEnd(4))


def test_protocol_errors_ask_to_close_the_connection() -> None:
    conn = FastCGIConnection()
    with pytest.raises(RemoteProtocolError) as info:
        conn.feed(b"GET / HTTP/1.0\r\n\r\n")
    assert info.value.fcgi_protocol_status is None


# -- one request at a time, and the order of response events ----------------------


def test_a_connection_capped_at_one_request_says_it_does_not_multiplex() -> None:
    conn = FastCGIConnection(Limits(max_concurrent_requests=1))
    conn.feed(h.get_values("FCGI_MPXS_CONNS"))
    assert conn.data_to_send() == h.get_values_result([("FCGI_MPXS_CONNS", "0")])
    conn.feed(h.begin(1, keep_conn=True) + h.begin(2, keep_conn=True))
    (refusal,) = framed(conn.data_to_send())
    assert (refusal.type, refusal.request_id) == (h.END_REQUEST, 2)
    assert end_body(refusal) == (0, h.CANT_MPX_CONN)


def test_response_events_out_of_order_are_refused() -> None:
    conn = begun(1)
    with pytest.raises(LocalProtocolError, match="before ResponseStart"):
        conn.send(ResponseData(1, b"x"))
    conn.send(ResponseStart(1, "200 OK", []))
    with pytest.raises(LocalProtocolError, match="second ResponseStart"):
        conn.send(ResponseStart(1, "200 OK", []))
    waiting = FastCGIConnection()
    waiting.feed(h.begin(3, keep_conn=True))
    with pytest.raises(LocalProtocolError, match="PARAMS have not ended"):
        waiting.send(ResponseStart(3, "200 OK", []))
