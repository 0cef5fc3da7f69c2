"""The real daemon, over real sockets, driven by a FastCGI client written from the spec.

Every test starts ``python -m fcgigate`` as a subprocess (``daemon_factory``) and
talks to it with ``tests.support.fcgi``, which shares no code with fcgigate. The
daemon runs inline (``threads = 0``) and with a pool (``threads = 4``) wherever
a user must see the same behaviour from both, and over TCP and unix sockets
where the transport could matter (waitress's functional tests do the same).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.apps.stream import expected_bytes
from tests.support.daemon import Daemon
from tests.support.fcgi import (
    FCGI_END_REQUEST,
    FCGI_GET_VALUES_RESULT,
    FCGI_KEEP_CONN,
    FCGI_MAX_CONNS,
    FCGI_MAX_REQS,
    FCGI_MPXS_CONNS,
    FCGI_PARAMS,
    FCGI_REQUEST_COMPLETE,
    FCGI_STDERR,
    FCGI_STDOUT,
    FCGI_UNKNOWN_ROLE,
    FCGI_UNKNOWN_TYPE,
    ConnectionClosed,
    FastCGIClient,
    Record,
    abort_request,
    begin_request,
    decode_pairs,
    default_params,
    get_values,
    header,
    params_records,
    parse_cgi_response,
    parse_records,
    record,
    request_records,
    stdin_records,
    unknown_type_of,
)

THREADS = [pytest.param(0, id="inline"), pytest.param(4, id="threads4")]
TRANSPORTS = ["tcp", "unix"]
MiB = 1024 * 1024
# How long "promptly" is: far below the seconds the slow apps below take.
PROMPT = 1.0

Start = Callable[..., Daemon]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=THREADS)
def threads(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def serve(daemon_factory: Start, socket_dir: Path, threads: int) -> Callable[..., Daemon]:
    """``serve(app, transport="tcp", **settings)``: a daemon with the test's ``threads``."""

    def start(app: str, transport: str = "tcp", **settings: Any) -> Daemon:
        settings.setdefault("threads", threads)
        if transport == "unix":
            settings.setdefault("bind", f"fastcgi+unix://{socket_dir / 'fcgigate.sock'}")
        return daemon_factory(settings, app=app)

    return start


def wait_for(predicate: Callable[[], Any], timeout: float = 3.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value, or the last falsy one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def log_mark(daemon: Daemon) -> int:
    """Where the log ends once the daemon has said it is serving (what follows is new)."""
    assert wait_for(lambda: "serving" in daemon.log()), daemon.log()
    return len(daemon.log())


def new_log(daemon: Daemon, start: int) -> str:
    return daemon.log()[start:]


def interleave(*streams: bytes) -> bytes:
    """The records of several requests, taken round-robin, as one byte string."""
    queues = [parse_records(stream) for stream in streams]
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                rec = queue.pop(0)
                out.append(record(rec.type, rec.request_id, rec.content, rec.padding_length))
    return b"".join(out)


def read_until_end(client: FastCGIClient, ids: set[int]) -> tuple[dict[int, list[Record]], list[int]]:
    """Every record for ``ids`` until each has its END_REQUEST; and the order they ended in."""
    records: dict[int, list[Record]] = {rid: [] for rid in ids}
    ended: list[int] = []
    while len(ended) < len(ids):
        rec = client.read_record()
        assert rec is not None, f"connection closed; ended so far: {ended}"
        assert rec.request_id in ids, f"record for an unexpected request id: {rec!r}"
        records[rec.request_id].append(rec)
        if rec.type == FCGI_END_REQUEST:
            ended.append(rec.request_id)
    return records, ended


def stdout_of(records: list[Record]) -> bytes:
    return b"".join(rec.content for rec in records if rec.type == FCGI_STDOUT)


def body_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- requests and environ


def test_get_with_query_string(serve: Callable[..., Daemon], transport: str) -> None:
    daemon = serve("tests.apps.echo:app", transport)
    with daemon.client() as client:
        response = client.request(default_params("GET", "/some/path?x=1&y=a%20b&z"))
    assert response.status == 200
    assert response.protocol_status == FCGI_REQUEST_COMPLETE and response.app_status == 0
    assert response.header("Content-Type") == "application/json"
    environ = response.json()
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["QUERY_STRING"] == "x=1&y=a%20b&z"
    # nginx sends SCRIPT_NAME = the whole path and no PATH_INFO: the app is at the root.
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/some/path"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["HTTP_HOST"] == "localhost"
    assert environ["body_len"] == 0


def test_percent_encoded_path_is_decoded_as_latin1(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.echo:app")
    with daemon.client() as client:
        environ = client.request(default_params("GET", "/caf%C3%A9/a%2Fb?q=%C3%A9")).json()
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9/a/b"  # PEP 3333: bytes as latin-1
    assert environ["QUERY_STRING"] == "q=%C3%A9"  # stays encoded
    assert environ["REQUEST_URI"] == "/caf%C3%A9/a%2Fb?q=%C3%A9"


@pytest.mark.parametrize(
    "uri, script_name, path_info",
    [
        ("/app/x/y?q=1", "/app", "/x/y"),
        ("/app", "/app", ""),
        ("/app/", "/app", "/"),
        ("/application/x", "", "/application/x"),  # a prefix of a segment is not the mount
    ],
)
def test_mount_sets_script_name(
    serve: Callable[..., Daemon], uri: str, script_name: str, path_info: str
) -> None:
    daemon = serve("tests.apps.echo:app", mount="/app")
    with daemon.client() as client:
        environ = client.request(default_params("GET", uri)).json()
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script_name, path_info)


@pytest.mark.parametrize(
    "style, chunk, padding",
    [
        pytest.param("nginx", 32768, None, id="nginx-padded"),
        pytest.param("apache", 8192, 0, id="apache-unpadded"),
    ],
)
def test_post_body_sha256(
    serve: Callable[..., Daemon], transport: str, style: str, chunk: int, padding: int | None
) -> None:
    daemon = serve("tests.apps.echo:app", transport)
    body = body_of(MiB)
    params = default_params("POST", "/upload", body=body, content_type="application/octet-stream")
    with daemon.client() as client:
        response = client.request(params, body, chunk=chunk, padding=padding)
    assert response.status == 200
    environ = response.json()
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["CONTENT_LENGTH"] == str(MiB)
    assert environ["CONTENT_TYPE"] == "application/octet-stream"
    assert environ["body_len"] == MiB
    assert environ["body_sha256"] == sha256(body)


def test_post_without_content_length_reads_to_eof(serve: Callable[..., Daemon]) -> None:
    # nginx with fastcgi_request_buffering off and a chunked upload: CONTENT_LENGTH is empty.
    daemon = serve("tests.apps.echo:app")
    body = body_of(200_000, seed=1)
    params = default_params("POST", "/chunked", CONTENT_LENGTH="")
    with daemon.client() as client:
        environ = client.request(params, body, chunk=10_000).json()
    assert "CONTENT_LENGTH" not in environ
    assert environ["wsgi.input_terminated"] is True
    assert environ["body_sha256"] == sha256(body)


# --------------------------------------------------------------------------- connections


def test_multiplexed_requests_on_one_connection(serve: Callable[..., Daemon], transport: str) -> None:
    daemon = serve("tests.apps.echo:app", transport)
    bodies = {1: body_of(100_000, seed=1), 2: b"", 3: body_of(50_000, seed=3)}
    streams = []
    for rid, body in bodies.items():
        method = "POST" if body else "GET"
        params = default_params(method, f"/r{rid}?id={rid}", body=body if body else None)
        streams.append(
            begin_request(rid, flags=FCGI_KEEP_CONN)
            + params_records(rid, params)
            + stdin_records(rid, body, chunk=8192)
        )
    payload = interleave(*streams)
    with daemon.client() as client:
        client.sendall(payload)  # all three requests, records interleaved, in one write
        responses = client.read_responses([1, 2, 3])
        for rid, body in bodies.items():
            response = responses[rid]
            assert response.status == 200, response
            assert response.protocol_status == FCGI_REQUEST_COMPLETE
            assert {rec[1] for rec in response.records} == {rid}
            environ = response.json()
            assert environ["QUERY_STRING"] == f"id={rid}"
            assert environ["PATH_INFO"] == f"/r{rid}"
            assert environ["body_len"] == len(body)
            assert environ["body_sha256"] == sha256(body)
        # The connection carries on.
        after = client.request(default_params("GET", "/after?id=4"), keep_conn=True, rid=4)
        assert after.json()["QUERY_STRING"] == "id=4"


@pytest.mark.parametrize("threads", [4], indirect=True, ids=["threads4"])
def test_multiplexed_requests_run_concurrently(serve: Callable[..., Daemon]) -> None:
    # Three sleepers on one connection: with a pool they overlap, and the
    # shortest ends first (the responses are not serialised per connection).
    daemon = serve("tests.apps.sleepy:app")
    seconds = {1: 0.9, 2: 0.5, 3: 0.1}
    payload = interleave(
        *(
            request_records(rid, default_params("GET", f"/?seconds={s}"), keep_conn=True)
            for rid, s in seconds.items()
        )
    )
    with daemon.client() as client:
        began = time.monotonic()
        client.sendall(payload)
        records, ended = read_until_end(client, set(seconds))
        elapsed = time.monotonic() - began
    assert ended == [3, 2, 1]
    assert elapsed < sum(seconds.values())
    for rid, s in seconds.items():
        status, _, _, _, body = parse_cgi_response(stdout_of(records[rid]))
        assert (status, body) == (200, f"slept {s}".encode())


def test_keep_conn_serves_50_requests_on_one_connection(serve: Callable[..., Daemon], transport: str) -> None:
    daemon = serve("tests.apps.echo:app", transport)
    with daemon.client() as client:
        sock = client.sock
        for i in range(50):
            body = b"%d" % i if i % 2 else b""
            params = default_params("POST" if body else "GET", f"/n/{i}?i={i}", body=body or None)
            environ = client.request(params, body, keep_conn=True).json()
            assert (environ["QUERY_STRING"], environ["PATH_INFO"]) == (f"i={i}", f"/n/{i}")
            assert environ["body_sha256"] == sha256(body)
            assert client.sock is sock, f"request {i} needed a new connection"
        # The kept connection stays open until the web server closes it.
        assert not client.wait_closed(0.3)
        # A last request without FCGI_KEEP_CONN: the daemon closes after it.
        assert client.request(default_params("GET", "/last"), keep_conn=False).status == 200
        assert client.wait_closed(2.0)


def test_without_keep_conn_the_daemon_closes(serve: Callable[..., Daemon], transport: str) -> None:
    daemon = serve("tests.apps.echo:app", transport)
    with daemon.client() as client:
        response = client.request(default_params("GET", "/once"), keep_conn=False)
        assert response.status == 200 and response.ended
        assert client.wait_closed(2.0)


def test_idle_timeout_closes_an_idle_kept_connection(serve: Callable[..., Daemon]) -> None:
    """docs/settings.md: ``idle_timeout`` is how long a connection with no request
    in progress is kept open (each connection's own timer enforces it)."""
    daemon = serve("tests.apps.sleepy:app", idle_timeout=1)
    with daemon.client() as client:
        assert client.request(default_params("GET", "/?seconds=0"), keep_conn=True).body == b"slept 0.0"
        began = time.monotonic()
        assert client.wait_closed(5.0), "the idle kept connection was still open after 5 s"
        assert 0.8 <= time.monotonic() - began <= 3.0
    # A request that runs longer than idle_timeout is not cut short.
    with daemon.client() as client:
        assert client.request(default_params("GET", "/?seconds=1.6"), keep_conn=True).body == b"slept 1.6"
        assert client.wait_closed(3.0)


def test_get_values(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.echo:app", max_connections=37)
    with daemon.client() as client:
        values = client.get_values()
        assert set(values) == {FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS}
        assert values[FCGI_MAX_CONNS] == "37"
        assert values[FCGI_MAX_REQS].isdigit() and int(values[FCGI_MAX_REQS]) >= 37
        assert values[FCGI_MPXS_CONNS] == "1"
        # Only the names asked for; names it does not know are left out.
        assert client.get_values([FCGI_MPXS_CONNS, "FCGI_NO_SUCH_VARIABLE"]) == {FCGI_MPXS_CONNS: "1"}
        assert client.get_values([FCGI_MAX_CONNS]) == {FCGI_MAX_CONNS: "37"}
        # The connection is still good for a request.
        response = client.request(default_params("GET", "/after?values"), keep_conn=True)
        assert response.json()["QUERY_STRING"] == "values"


def test_get_values_mid_request(serve: Callable[..., Daemon]) -> None:
    # GET_VALUES may arrive between a request's records (notes 2.3); it is answered
    # on request id 0 and the request goes on.
    daemon = serve("tests.apps.echo:app")
    params = default_params("POST", "/mid", body=b"abc")
    with daemon.client() as client:
        client.sendall(begin_request(1, flags=FCGI_KEEP_CONN) + params_records(1, params))
        client.sendall(get_values([FCGI_MPXS_CONNS]) + stdin_records(1, b"abc"))
        seen: list[Record] = []
        while not any(rec.type == FCGI_END_REQUEST for rec in seen):
            rec = client.read_record()
            assert rec is not None
            seen.append(rec)
    results = [rec for rec in seen if rec.type == FCGI_GET_VALUES_RESULT]
    assert len(results) == 1 and results[0].request_id == 0
    assert decode_pairs(results[0].content) == [(b"FCGI_MPXS_CONNS", b"1")]
    stdout = stdout_of([rec for rec in seen if rec.request_id == 1])
    assert json.loads(parse_cgi_response(stdout)[4])["body_sha256"] == sha256(b"abc")


def test_unknown_management_type(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.echo:app")
    with daemon.client() as client:
        client.sendall(record(42, 0, b"whatever"))
        rec = client.read_record()
        assert rec is not None and rec.type == FCGI_UNKNOWN_TYPE and rec.request_id == 0
        assert unknown_type_of(rec) == 42
        response = client.request(default_params("GET", "/after-unknown"), keep_conn=True)
        assert response.status == 200


def test_unknown_role_with_keep_conn(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.echo:app")
    with daemon.client() as client:
        client.sendall(begin_request(1, role=9, flags=FCGI_KEEP_CONN))
        rec = client.read_record()
        assert rec is not None and rec.type == FCGI_END_REQUEST and rec.request_id == 1
        assert rec.content[4] == FCGI_UNKNOWN_ROLE
        # The rejected request id is free again; the connection serves on.
        response = client.request(default_params("GET", "/after-role"), keep_conn=True)
        assert response.json()["PATH_INFO"] == "/after-role"


def test_unknown_role_without_keep_conn_closes(serve: Callable[..., Daemon]) -> None:
    # Spec 5.1: with FCGI_KEEP_CONN clear, the application closes the connection
    # after responding to this request; the FCGI_UNKNOWN_ROLE end is its response.
    daemon = serve("tests.apps.echo:app")
    with daemon.client() as client:
        client.sendall(begin_request(1, role=9))
        rec = client.read_record()
        assert rec is not None and rec.type == FCGI_END_REQUEST
        assert rec.content[4] == FCGI_UNKNOWN_ROLE
        assert client.wait_closed(2.0), "the connection stayed open after the request without KEEP_CONN"


def test_abort_request_ends_promptly_and_closes_the_iterable(
    serve: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = serve("tests.apps.closing:app")
    marker = tmp_path / "closed"
    # 100 chunks, 30 ms apart: 3 s if the app ran to its end.
    uri = f"/slow?marker={marker}&chunks=100&sleep=0.03"
    with daemon.client() as client:
        client.send_request(default_params("GET", uri), keep_conn=True)
        first = client.read_record()
        assert first is not None and first.type == FCGI_STDOUT  # the app is under way
        began = time.monotonic()
        client.sendall(abort_request(1))
        records, _ = read_until_end(client, {1})
        took = time.monotonic() - began
        end = records[1][-1]
        assert end.content[4] == FCGI_REQUEST_COMPLETE
        assert took < PROMPT, f"END_REQUEST came {took:.2f}s after FCGI_ABORT_REQUEST"
        closed = wait_for(lambda: read_text(marker), timeout=2.0)
        assert re.fullmatch(r"closed \d+ incomplete\n", closed), closed
        # The kept connection serves the next request.
        response = client.request(default_params("GET", "/?chunks=2&size=5&sleep=0"), keep_conn=True)
        assert (response.status, response.body) == (200, b"x" * 10)


@pytest.mark.parametrize("threads", [4], indirect=True, ids=["threads4"])
def test_abort_request_while_the_app_sleeps(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.sleepy:app")
    with daemon.client() as client:
        client.send_request(default_params("GET", "/?seconds=3"), keep_conn=True)
        time.sleep(0.2)  # the app is asleep in its thread
        began = time.monotonic()
        client.sendall(abort_request(1))
        records, _ = read_until_end(client, {1})
        assert time.monotonic() - began < PROMPT
        assert records[1][-1].content[4] == FCGI_REQUEST_COMPLETE
        assert client.request(default_params("GET", "/?seconds=0"), keep_conn=True).body == b"slept 0.0"


# --------------------------------------------------------------------------- malformed input


def _bad_version() -> bytes:
    return record(FCGI_PARAMS, 1, b"", version=2)


def _params_too_large() -> bytes:
    params = default_params("GET", "/", HTTP_X_BIG="x" * 3000)
    return request_records(1, params)


def _too_many_pairs() -> bytes:
    params = default_params("GET", "/", **{f"HTTP_X_{i}": str(i) for i in range(60)})
    return request_records(1, params)


def _pair_past_end() -> bytes:
    # lengths 10 + 5, but only the 10 name bytes follow
    return (
        begin_request(1)
        + record(FCGI_PARAMS, 1, bytes((10, 5)) + b"NAME_ONLY_")
        + record(FCGI_PARAMS, 1, b"")
        + stdin_records(1, b"")
    )


def _header_version_zero() -> bytes:
    return header(FCGI_PARAMS, 1, 0, version=0)


MALFORMED = {
    "bad-version": _bad_version,
    "version-0": _header_version_zero,
    "params-over-max-size": _params_too_large,
    "too-many-pairs": _too_many_pairs,
    "pair-past-end": _pair_past_end,
    "garbage-http": lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_input_closes_the_connection(serve: Callable[..., Daemon], case: str) -> None:
    daemon = serve(
        "tests.apps.echo:app", fastcgi_max_params_size=2048, fastcgi_max_params=40, log_level="info"
    )
    start = log_mark(daemon)
    with daemon.client() as client:
        client.sendall(MALFORMED[case]())
        assert client.wait_closed(2.0), "the daemon kept the connection open after malformed input"
    assert wait_for(lambda: "WARNING" in new_log(daemon, start), timeout=2.0), daemon.log()
    # The daemon still serves.
    with daemon.client() as client:
        response = client.request(default_params("GET", "/still?serving"))
        assert response.json()["QUERY_STRING"] == "serving"
    assert daemon.running
    logged = new_log(daemon, start)
    lines = [line for line in logged.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one warning line, got:\n{logged}"
    assert "WARNING" in lines[0]
    assert "Traceback" not in logged


# --------------------------------------------------------------------------- app failures


def test_app_exception_is_a_500_with_the_traceback_only_in_the_log(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.error:app")
    with daemon.client() as client:
        response = client.request(default_params("GET", "/?when=before"), keep_conn=True)
        assert response.status == 500
        assert response.protocol_status == FCGI_REQUEST_COMPLETE
        assert b"Traceback" not in response.body and b"FixtureError" not in response.body
        assert b"Traceback" not in response.stderr
        log = wait_for(lambda: "raised before start_response" in daemon.log() and daemon.log())
        assert "Traceback" in log and "FixtureError: raised before start_response" in log
        # After start_response but before any body: still a 500.
        response = client.request(default_params("GET", "/?when=after_start"), keep_conn=True)
        assert response.status == 500 and b"Traceback" not in response.body
        # The same kept connection serves the next request.
        response = client.request(default_params("GET", "/?when=exc_info"), keep_conn=True)
        assert (response.status, response.body) == (503, b"service unavailable")
        response = client.request(default_params("GET", "/?when=close"), keep_conn=True)
        assert response.status == 200 and len(response.body) == MiB


def test_app_exception_after_the_head_cuts_the_response(serve: Callable[..., Daemon]) -> None:
    # The head and 64 KiB are out when the app raises: the web server must see a
    # truncated response (no END_REQUEST), never a short one that looks complete.
    daemon = serve("tests.apps.error:app")
    with daemon.client() as client:
        with pytest.raises(ConnectionClosed) as caught:
            client.request(default_params("GET", "/?when=in_iter"), keep_conn=True)
    partial = caught.value.partial
    assert partial is not None and not partial.ended
    assert len(partial.body) < MiB
    assert wait_for(lambda: "raised while iterating the body" in daemon.log())
    with daemon.client() as client:
        assert client.request(default_params("GET", "/?when=exc_info")).status == 503


@pytest.mark.parametrize("case", ["crlf", "lf", "hop", "te", "name", "status", "nonlatin"])
def test_bad_response_headers_are_a_500(serve: Callable[..., Daemon], case: str) -> None:
    daemon = serve("tests.apps.headers:app")
    start = log_mark(daemon)
    with daemon.client() as client:
        response = client.request(default_params("GET", f"/?case={case}"), keep_conn=True)
        assert response.status == 500
        assert b"Injected" not in response.raw_headers and b"headers fixture" not in response.body
        assert response.header("Connection") is None and response.header("Transfer-Encoding") is None
        logged = wait_for(lambda: new_log(daemon, start))
        assert "ERROR" in logged, logged
        # Good headers on the same connection, a latin-1 value included.
        good = client.request(default_params("GET", "/?case=ok"), keep_conn=True)
        assert (good.status, good.body) == (200, b"headers fixture")
        assert good.header("X-Latin") == "caf\u00e9"


def test_wsgi_errors_arrive_as_fcgi_stderr(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.stderr:app")
    with daemon.client() as client:
        response = client.request(default_params("GET", "/?msg=something+odd"))
    assert (response.status, response.body) == (200, b"ok")
    assert response.stderr == b"something odd\n"
    assert any(rec[0] == FCGI_STDERR for rec in response.records)
    assert wait_for(lambda: "something odd" in daemon.log())


def test_wsgi_errors_are_capped_at_stderr_limit(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.stderr:app", stderr_limit=100)
    with daemon.client() as client:
        response = client.request(default_params("GET", "/?msg=0123456789&n=50"))
    assert (response.status, response.body) == (200, b"ok")
    assert 0 < len(response.stderr) <= 100
    assert (b"0123456789\n" * 50).startswith(response.stderr)


# --------------------------------------------------------------------------- streaming and back-pressure


def test_streamed_20mb_response_with_bounded_memory(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.stream:app")
    size = 20 * MiB
    with daemon.client() as client:
        assert client.request(default_params("GET", "/?size=1000"), keep_conn=True).status == 200
        baseline = daemon.rss_kb()
        client.send_request(default_params("GET", f"/?size={size}&chunk=65536"), keep_conn=True)
        # A client that does not read: the daemon must stop producing, not buffer 20 MB.
        time.sleep(0.5)
        samples = [daemon.rss_kb()]
        stdout = bytearray()
        while True:
            rec = client.read_record()
            assert rec is not None, "connection closed mid-response"
            assert rec.request_id == 1
            if rec.type == FCGI_END_REQUEST:
                break
            stdout += rec.content
            if len(stdout) < 2 * MiB:
                time.sleep(0.01)  # a slow reader for the first 2 MB
            if len(samples) < 200 and len(stdout) % (1 << 20) < 65536:
                samples.append(daemon.rss_kb())
    peak = max([*samples, daemon.rss_kb(field="VmHWM")])
    status, _, headers, _, body = parse_cgi_response(bytes(stdout))
    assert status == 200
    assert dict(headers)["Content-Length"] == str(size)
    assert len(body) == size
    assert sha256(body) == sha256(expected_bytes(size))
    growth_mb = (peak - baseline) / 1024
    assert growth_mb < 64, f"RSS grew by {growth_mb:.0f} MB streaming 20 MB"


def test_client_disconnect_closes_the_iterable(serve: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = serve("tests.apps.closing:app")
    marker = tmp_path / "closed"
    with daemon.client() as client:
        client.send_request(default_params("GET", f"/?marker={marker}&chunks=100&sleep=0.02"))
        first = client.read_record()
        assert first is not None and first.type == FCGI_STDOUT
    # 100 chunks take 2 s; the client is gone after the first.
    closed = wait_for(lambda: read_text(marker), timeout=1.5)
    assert closed, "the iterable was not closed within 1.5 s of the client leaving"
    assert re.fullmatch(r"closed \d+ incomplete\n", closed), closed
    with daemon.client() as client:
        response = client.request(default_params("GET", "/?chunks=3&size=4&sleep=0"))
    assert (response.status, response.body) == (200, b"x" * 12)


# --------------------------------------------------------------------------- request body limits


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
@pytest.mark.parametrize("chunk", [500, 32768], ids=["small-records", "one-record"])
def test_body_over_max_body_size_is_413(serve: Callable[..., Daemon], declared: bool, chunk: int) -> None:
    daemon = serve("tests.apps.echo:app", max_body_size=1000)
    body = body_of(5000)
    extra = {} if declared else {"CONTENT_LENGTH": ""}
    params = default_params("POST", "/big", body=body, **extra)
    with daemon.client() as client:
        sock = client.sock
        response = client.request(params, body, keep_conn=True, chunk=chunk)
        assert response.status == 413
        assert response.protocol_status == FCGI_REQUEST_COMPLETE
        # The same connection, in sync with the daemon, serves the next requests.
        at_limit = body_of(1000, seed=2)
        ok = client.request(default_params("POST", "/ok", body=at_limit), at_limit, keep_conn=True)
        assert ok.status == 200 and ok.json()["body_sha256"] == sha256(at_limit)
        assert client.request(default_params("GET", "/get"), keep_conn=True).status == 200
        assert client.sock is sock
    assert "Traceback" not in daemon.log()


# --------------------------------------------------------------------------- apps


def test_factory_app(daemon_factory: Start, threads: int) -> None:
    daemon = daemon_factory({"threads": threads}, app="tests.apps.factory:create_app()")
    with daemon.client() as client:
        response = client.request(default_params("GET", "/"))
    assert (response.status, response.body) == (200, b"Hello from the factory!")


def test_wsgiref_validator_is_satisfied(serve: Callable[..., Daemon]) -> None:
    daemon = serve("tests.apps.validated:app")
    body = body_of(100_000, seed=5)
    with daemon.client() as client:
        get = client.request(default_params("GET", "/v?x=1"), keep_conn=True)
        post = client.request(
            default_params("POST", "/v", body=body, content_type="application/octet-stream"),
            body,
            keep_conn=True,
        )
        empty_length = client.request(default_params("GET", "/v", CONTENT_LENGTH=""), keep_conn=True)
    assert get.status == 200, get.body
    assert get.json()["QUERY_STRING"] == "x=1"
    assert post.status == 200, post.body
    assert post.json()["body_sha256"] == sha256(body)
    assert empty_length.status == 200, empty_length.body
    log = daemon.log()
    for trouble in ("AssertionError", "WSGIWarning", "Traceback", "ERROR"):
        assert trouble not in log, log


def test_threads_probe(serve: Callable[..., Daemon], threads: int) -> None:
    daemon = serve("tests.apps.threads_probe:app")
    with daemon.client() as client:
        probe = client.request(default_params("GET", "/")).json()
    assert probe["pid"] in daemon.worker_pids()
    if threads:
        assert probe["current"].startswith("fcgigate-app"), probe
        assert probe["is_main"] is False
    else:
        assert probe["current"] == "MainThread"
        assert probe["is_main"] is True
        assert probe["active_count"] == 1, probe


def test_unix_socket_and_tcp_together(daemon_factory: Start, socket_dir: Path, free_port: int) -> None:
    path = socket_dir / "both.sock"
    daemon = daemon_factory(
        {"bind": f"fastcgi://127.0.0.1:{free_port}, fastcgi+unix://{path}"}, app="tests.apps.echo:app"
    )
    for index in (0, 1):
        with daemon.client(index) as client:
            assert (
                client.request(default_params("GET", f"/via/{index}")).json()["PATH_INFO"] == f"/via/{index}"
            )
