"""Request bodies: spooling to disk, streaming with back-pressure, never past the end."""

from __future__ import annotations

import threading

import pytest

from fcgigate.buffers import BodyAborted, BodyTooLarge, SpooledBody, StreamingBody

pytestmark = pytest.mark.unit

BODY = b"".join(b"%07d\n" % i for i in range(20_000))  # 160 KB of lines


def spooled(limit: int) -> SpooledBody:
    body = SpooledBody(limit)
    for i in range(0, len(BODY), 7777):
        body.write(BODY[i : i + 7777])
    body.finish()
    return body


def test_spooled_stays_in_memory_under_the_limit() -> None:
    body = spooled(1 << 20)
    assert not body.spilled and body.read() == BODY and body.read() == b""


def test_spooled_spills_to_a_file_past_the_limit() -> None:
    body = spooled(10_000)
    assert body.spilled
    assert body.read(5) == b"00000" and body.readline() == b"00\n"
    assert body.readline(3) == b"000" and body.readline() == b"0001\n"
    assert b"".join(body) == BODY[16:]


def test_readlines_with_hint() -> None:
    body = spooled(1 << 20)
    assert body.readlines(10) == [b"0000000\n", b"0000001\n"]
    assert len(body.readlines()) == 20_000 - 2


def test_streaming_reads_while_the_body_arrives() -> None:
    body = StreamingBody(1 << 20)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(body.read()))
    reader.start()
    for i in range(0, len(BODY), 1000):
        body.write(BODY[i : i + 1000])
    body.finish()
    reader.join(10)
    assert got == [BODY]
    assert body.read() == b"" and body.readline() == b""


def test_streaming_readline_and_sized_reads_never_pass_the_end() -> None:
    body = StreamingBody(1 << 20)
    body.write(b"ab\ncd")
    assert body.readline() == b"ab\n"
    body.write(b"ef\ngh")
    body.finish()
    assert body.readline() == b"cdef\n" and body.read(100) == b"gh" and body.read(1) == b""


def test_streaming_pauses_past_the_limit_and_resumes_when_drained() -> None:
    calls: list[str] = []
    body = StreamingBody(1000, pause=lambda: calls.append("pause"), resume=lambda: calls.append("resume"))
    body.write(b"x" * 600)
    assert calls == []
    body.write(b"x" * 600)
    body.write(b"x" * 600)
    assert calls == ["pause"]  # idempotent
    body.read(1000)
    assert calls == ["pause"]  # 800 left: still above half the limit
    body.read(400)
    assert calls == ["pause", "resume"]


def test_a_reader_waiting_on_an_aborted_body_gets_an_error() -> None:
    body = StreamingBody(1 << 20)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            body.read(10)
        except BodyAborted as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    body.abort(BodyTooLarge("too big"))
    reader.join(10)
    assert len(errors) == 1 and isinstance(errors[0], BodyTooLarge)


def test_spooled_abort_raises_on_read() -> None:
    body = SpooledBody(100)
    body.write(b"abc")
    body.abort()
    with pytest.raises(BodyAborted):
        body.read()
