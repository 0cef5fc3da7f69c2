"""The test-side FastCGI client checked against hand-computed bytes and real captures.

The client is the ruler every daemon test measures with, so it is checked against
the specification's byte layout and against what nginx and cgi-fcgi really sent
(/work/shared/fastcgi-captures, copied here as hex).
"""

from __future__ import annotations

import struct

import pytest

from tests.support import fcgi
from tests.support.fcgi import (
    FCGI_BEGIN_REQUEST,
    FCGI_END_REQUEST,
    FCGI_GET_VALUES,
    FCGI_KEEP_CONN,
    FCGI_OVERLOADED,
    FCGI_PARAMS,
    FCGI_REQUEST_COMPLETE,
    FCGI_STDERR,
    FCGI_STDIN,
    FCGI_STDOUT,
    FastCGIError,
    RecordReader,
    Response,
    decode_pairs,
    encode_pairs,
    parse_records,
    read_response,
    record,
)

# cgi-fcgi (libfcgi-bin 2.4.2) sending GET with REQUEST_METHOD=GET QUERY_STRING=a=1
# SCRIPT_NAME=/x and its own PATH: cgi-fcgi-tcp-get.bin, 112 bytes.
CGI_FCGI_GET = bytes.fromhex(
    "010100010008000000010000000000000104000100460200040d504154482f7573722f62696e3a2f62696e0e0352"
    "4551554553545f4d4554484f444745540c0351554552595f535452494e47613d310b025343524950545f4e414d45"
    "2f78000001040001000000000105000100000000"
)

# nginx 1.22.1 passing `HEAD /app/head?h=1` from curl: nginx-head.bin, 512 bytes.
NGINX_HEAD = bytes.fromhex(
    "010100010008000000010000000000000104000101d107000c0351554552595f535452494e47683d310e045245515545"
    "53545f4d4554484f44484541440c00434f4e54454e545f545950450e00434f4e54454e545f4c454e4754480b09534352"
    "4950545f4e414d452f6170702f686561640b0d524551554553545f5552492f6170702f686561643f683d310c09444f43"
    "554d454e545f5552492f6170702f686561640d0d444f43554d454e545f524f4f542f7661722f7777772f68746d6c0f08"
    "5345525645525f50524f544f434f4c485454502f312e310e04524551554553545f534348454d45687474701107474154"
    "455741595f494e544552464143454347492f312e310f0c5345525645525f534f4654574152456e67696e782f312e3232"
    "2e310b0952454d4f54455f414444523132372e302e302e310b0552454d4f54455f504f525434383134320b0052454d4f"
    "54455f555345520b095345525645525f414444523132372e302e302e310b055345525645525f504f525431383633320b"
    "095345525645525f4e414d456c6f63616c686f73740f0352454449524543545f5354415455533230300909485454505f"
    "484f53543132372e302e302e310f0b485454505f555345525f4147454e546375726c2f372e38382e310b03485454505f"
    "4143434550542a2f2a0000000000000001040001000000000105000100000000"
)


# --------------------------------------------------------------------------- encoders


def test_pair_lengths_below_128_take_one_byte() -> None:
    assert encode_pairs([("A", "x" * 127)]) == b"\x01\x7f" + b"A" + b"x" * 127


def test_pair_lengths_from_128_take_four_bytes_with_the_high_bit() -> None:
    assert encode_pairs([("A", "x" * 128)]) == b"\x01\x80\x00\x00\x80" + b"A" + b"x" * 128
    assert encode_pairs([("N" * 300, "")]) == b"\x80\x00\x01\x2c\x00" + b"N" * 300


def test_pair_lengths_can_be_forced_long() -> None:
    assert encode_pairs({"AB": "c"}, force_long=True) == b"\x80\x00\x00\x02\x80\x00\x00\x01ABc"


def test_pairs_encode_str_as_utf8_and_pass_bytes_through() -> None:
    assert encode_pairs([("X", "é")]) == b"\x01\x02X\xc3\xa9"
    assert encode_pairs([(b"X", b"\xe9")]) == b"\x01\x01X\xe9"
    assert encode_pairs([("N", 5)]) == b"\x01\x01N5"


def test_decode_pairs_inverts_encode_pairs() -> None:
    pairs = [(b"A", b""), (b"B" * 200, b"v"), (b"C", b"w" * 70000)]
    assert decode_pairs(encode_pairs(pairs)) == pairs
    assert decode_pairs(encode_pairs(pairs, force_long=True)) == pairs


def test_decode_pairs_rejects_a_length_past_the_end() -> None:
    with pytest.raises(ValueError):
        decode_pairs(b"\x01\x05Ax")


def test_record_pads_to_8_by_default_like_nginx() -> None:
    assert record(FCGI_STDIN, 1, b"abc") == b"\x01\x05\x00\x01\x00\x03\x05\x00abc\x00\x00\x00\x00\x00"
    assert record(FCGI_STDIN, 1, b"12345678") == b"\x01\x05\x00\x01\x00\x08\x00\x0012345678"
    assert record(FCGI_STDIN, 1, b"") == b"\x01\x05\x00\x01\x00\x00\x00\x00"


def test_record_padding_zero_like_apache_or_explicit() -> None:
    assert record(FCGI_STDIN, 258, b"abc", padding=0) == b"\x01\x05\x01\x02\x00\x03\x00\x00abc"
    assert record(FCGI_STDIN, 1, b"", padding=255) == b"\x01\x05\x00\x01\x00\x00\xff\x00" + bytes(255)


def test_record_refuses_content_over_65535() -> None:
    assert len(record(FCGI_STDIN, 1, bytes(65535), padding=0)) == 8 + 65535
    with pytest.raises(ValueError):
        record(FCGI_STDIN, 1, bytes(65536))


def test_begin_request_body() -> None:
    assert fcgi.begin_request(1) == b"\x01\x01\x00\x01\x00\x08\x00\x00" + b"\x00\x01\x00" + bytes(5)
    body = fcgi.begin_request(7, role=fcgi.FCGI_FILTER, flags=FCGI_KEEP_CONN)[8:]
    assert body == b"\x00\x03\x01" + bytes(5)


def test_params_split_at_makes_a_pair_straddle_records() -> None:
    pairs = [("REQUEST_METHOD", "GET"), ("QUERY_STRING", "a=1")]
    stream = encode_pairs(pairs)
    cut = 2 + len("REQUEST_METHOD") // 2  # inside the first name
    records = parse_records(fcgi.params_records(1, pairs, split_at=[cut, 0, len(stream)]))
    assert [(r.type, r.content_length) for r in records] == [
        (FCGI_PARAMS, cut),
        (FCGI_PARAMS, len(stream) - cut),
        (FCGI_PARAMS, 0),
    ]
    assert b"".join(r.content for r in records) == stream


def test_params_longer_than_one_record_are_split_at_65535() -> None:
    records = parse_records(fcgi.params_records(1, [("BIG", "v" * 70000)]))
    assert [r.content_length for r in records] == [65535, 70000 + 3 + 5 - 65535, 0]


def test_stdin_records_chunk_like_nginx_and_end_empty() -> None:
    records = parse_records(fcgi.stdin_records(1, bytes(100000)))
    assert [(r.content_length, r.padding_length) for r in records] == [
        (32768, 0),
        (32768, 0),
        (32768, 0),
        (1696, 0),
        (0, 0),
    ]
    records = parse_records(fcgi.stdin_records(1, b"abcdefghij", chunk=3, padding=0))
    assert [r.content for r in records] == [b"abc", b"def", b"ghi", b"j", b""]


def test_get_values_and_abort_request() -> None:
    assert fcgi.get_values(["FCGI_MPXS_CONNS"]) == (
        b"\x01\x09\x00\x00\x00\x11\x07\x00" + b"\x0f\x00FCGI_MPXS_CONNS" + bytes(7)
    )
    assert fcgi.abort_request(3) == b"\x01\x02\x00\x03\x00\x00\x00\x00"


def test_authorizer_requests_carry_no_stdin() -> None:
    records = parse_records(fcgi.request_records(1, {"A": "b"}, role=fcgi.FCGI_AUTHORIZER))
    assert [r.type for r in records] == [FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_PARAMS]


# --------------------------------------------------------------------------- against real clients


def test_builders_reproduce_cgi_fcgi_byte_for_byte() -> None:
    params = [
        ("PATH", "/usr/bin:/bin"),
        ("REQUEST_METHOD", "GET"),
        ("QUERY_STRING", "a=1"),
        ("SCRIPT_NAME", "/x"),
    ]
    assert fcgi.request_records(1, params) == CGI_FCGI_GET


def test_default_params_and_builders_reproduce_nginx_byte_for_byte() -> None:
    params = fcgi.default_params(
        "HEAD",
        "/app/head?h=1",
        REMOTE_PORT="48142",
        SERVER_PORT="18632",
        HTTP_HOST="127.0.0.1",
        HTTP_USER_AGENT="curl/7.88.1",
    )
    assert fcgi.request_records(1, params) == NGINX_HEAD


def test_default_params_for_a_body_mirror_nginx() -> None:
    params = fcgi.default_params(
        "POST", "/p", body=b"12345", content_type="text/plain", HTTP_X_A="1", REMOTE_USER=None
    )
    assert params["CONTENT_LENGTH"] == params["HTTP_CONTENT_LENGTH"] == "5"
    assert params["CONTENT_TYPE"] == params["HTTP_CONTENT_TYPE"] == "text/plain"
    assert params["SCRIPT_NAME"] == params["DOCUMENT_URI"] == "/p"
    assert params["HTTP_X_A"] == "1"
    assert "REMOTE_USER" not in params and "PATH_INFO" not in params


# --------------------------------------------------------------------------- parsers


def _server_answer(rid: int = 1, stdout: bytes = b"", stderr: bytes = b"") -> bytes:
    """What a responder sends: STDERR, STDOUT (in 10-byte records), END_REQUEST."""
    out = b""
    if stderr:
        out += fcgi.stream_records(FCGI_STDERR, rid, stderr)
    out += fcgi.stream_records(FCGI_STDOUT, rid, stdout, chunk=10)
    return out + record(FCGI_END_REQUEST, rid, fcgi.end_request_body(0, FCGI_REQUEST_COMPLETE))


def _collect(data: bytes, rid: int = 1, step: int = 1) -> Response:
    """read_response over a fake socket that hands out ``step`` bytes per recv."""

    class Trickle:
        def __init__(self) -> None:
            self.position = 0

        def recv(self, size: int) -> bytes:
            chunk = data[self.position : self.position + min(size, step)]
            self.position += len(chunk)
            return chunk

    return read_response(RecordReader(Trickle()), rid)  # type: ignore[arg-type]


def test_record_reader_handles_any_split() -> None:
    data = fcgi.request_records(1, {"A": "b" * 300}, b"body" * 1000)
    expected = parse_records(data)
    for step in (1, 7, 8, 9, 4096):
        reader = RecordReader()
        got = []
        for i in range(0, len(data), step):
            reader.feed(data[i : i + step])
            while (rec := reader.next_record()) is not None:
                got.append(rec)
        assert got == expected


def test_read_response_parses_the_cgi_header_block() -> None:
    stdout = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\nno such page"
    for step in (1, 3, 65536):
        response = _collect(_server_answer(stdout=stdout, stderr=b"warning\n"), step=step)
        assert (response.status, response.reason) == (404, "Not Found")
        assert response.headers == [("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")]
        assert response.header("content-type") == "text/plain"
        assert response.header_list("X-A") == ["1", "2"]
        assert response.body == b"no such page"
        assert response.stderr == b"warning\n"
        assert response.raw_headers.startswith(b"Status: 404") and response.raw_headers.endswith(b"\r\n\r\n")
        assert (response.app_status, response.protocol_status) == (0, FCGI_REQUEST_COMPLETE)
        assert response.stdout_closed and response.stderr_closed
        assert all((length + padding) % 8 == 0 for _, _, length, padding in response.records)


def test_status_defaults_to_200_and_lf_only_lines_are_accepted() -> None:
    response = _collect(_server_answer(stdout=b"Content-Type: text/plain\n\nhi"))
    assert (response.status, response.body) == (200, b"hi")
    assert response.headers == [("Content-Type", "text/plain")]


def test_a_refused_request_has_no_header_block() -> None:
    data = record(FCGI_END_REQUEST, 1, fcgi.end_request_body(0, FCGI_OVERLOADED))
    response = _collect(data)
    assert (response.status, response.protocol_status, response.stdout_closed) == (0, FCGI_OVERLOADED, False)


def test_strict_reading_rejects_framing_errors() -> None:
    after_end = _server_answer(stdout=b"Status: 200 OK\r\n\r\n") + record(FCGI_STDOUT, 1, b"late")
    with pytest.raises(FastCGIError, match="after FCGI_END_REQUEST"):
        # read_response stops at END_REQUEST, so drive the collector past it directly.
        reader = RecordReader()
        reader.feed(after_end)
        builder = fcgi._ResponseBuilder(1)
        while (rec := reader.next_record()) is not None:
            builder.add(rec)
    other_id = _server_answer(rid=2, stdout=b"\r\n")
    with pytest.raises(FastCGIError, match="request id 2"):
        _collect(other_id, rid=1)
    bad_version = b"\x02" + record(FCGI_STDOUT, 1, b"x")[1:]
    with pytest.raises(FastCGIError, match="version 2"):
        _collect(bad_version)
    with pytest.raises(FastCGIError, match="malformed CGI header"):
        _collect(_server_answer(stdout=b"Content-Type: a\r\nno colon here\r\n\r\n"))


def test_connection_closed_mid_response_keeps_what_arrived() -> None:
    data = record(FCGI_STDOUT, 1, b"Status: 200 OK\r\n\r\npart")
    with pytest.raises(fcgi.ConnectionClosed) as caught:
        _collect(data)
    assert caught.value.partial is not None and caught.value.partial.body == b"part"
    with pytest.raises(fcgi.ConnectionClosed, match="inside a record"):
        _collect(data[:-3])


def test_get_values_result_and_unknown_type_bodies() -> None:
    content = encode_pairs([("FCGI_MPXS_CONNS", "1")])
    rec = parse_records(record(fcgi.FCGI_GET_VALUES_RESULT, 0, content))[0]
    assert decode_pairs(rec.content) == [(b"FCGI_MPXS_CONNS", b"1")]
    unknown = parse_records(record(fcgi.FCGI_UNKNOWN_TYPE, 0, struct.pack("!B7x", FCGI_GET_VALUES + 90)))[0]
    assert fcgi.unknown_type_of(unknown) == 99


def test_parse_address_spellings() -> None:
    assert fcgi.parse_address(("127.0.0.1", 9000))[1] == ("127.0.0.1", 9000)
    assert fcgi.parse_address("fastcgi://127.0.0.1:9000")[1] == ("127.0.0.1", 9000)
    assert fcgi.parse_address("fastcgi://[::1]:9000")[1] == ("::1", 9000)
    assert fcgi.parse_address("fastcgi+unix:///run/x.sock")[1] == "/run/x.sock"
    assert fcgi.parse_address("unix:/run/x.sock")[1] == "/run/x.sock"
    assert fcgi.parse_address("/run/x.sock")[1] == "/run/x.sock"


@pytest.mark.parametrize(
    "block",
    [
        b"Bad Name: x\r\n\r\n",
        b"X-A: a\rInjected: yes\r\n\r\n",
        b"Status: abc\r\n\r\n",
        b"Content-Type: text/plain",  # no blank line
    ],
)
def test_strict_reading_rejects_bad_header_blocks(block: bytes) -> None:
    with pytest.raises(FastCGIError):
        _collect(_server_answer(stdout=block))
    assert fcgi.parse_cgi_response(block, strict=False)[2] == []
