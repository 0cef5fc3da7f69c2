"""The HTTP/1.1 request corpus under every chunking, plus property tests.

Each case in ``tests/corpus/http/{valid,invalid}`` (a ``.http`` file of raw bytes
and a ``.py`` sidecar, described in ``tests/corpus/http/helpers.py``) is fed to a
fresh :class:`HTTPConnection` by several feeders: whole, byte by byte, line by
line, every 2-way split point and seeded random chunks. A chunking may change how
a body is cut into :class:`BodyData` events and nothing else, so consecutive body
pieces of one request are merged before the events are compared: with the
case's expectation, and (for invalid cases) with what the whole-buffer feed gave.

An invalid case must end its events with exactly one :class:`RequestRejected`,
numbered ``before + 1`` and carrying the case's status. The requests before it
are complete; nothing of any request after it appears; and the refused request
itself never reaches the app (no ``RequestStarted``) unless its head was valid
and only its body broke the rules (``started = True``).
"""

from __future__ import annotations

import random
import runpy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fcgigate.protocols.events import BodyData, BodyEnd, RequestStarted
from fcgigate.protocols.http import HTTPConnection, HTTPLimits, RequestRejected
from tests.corpus.http import helpers as h
from tests.support import chunking

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "http"
BIG_CASE = 2048  # above this, "every split point" becomes ~200 chosen ones
SPLIT_POINTS_BIG = 200
RANDOM_SEEDS = range(4)
LONG = 256  # bodies and values longer than this are compared by length and head
NOT_PARAMS = ("body", "keep_alive", "expect_continue")


# -- loading cases ------------------------------------------------------------------


@dataclass
class Case:
    name: str
    data: bytes
    lines: list[int]  # offsets just after each LF
    limits: HTTPLimits
    expect: list[dict[str, Any]]
    status: int | None = None  # invalid cases only
    before: int = 0
    started: bool = False


def load_case(path: Path) -> Case:
    ns = runpy.run_path(str(path.with_suffix(".py")))
    data = h.load_http(path)
    return Case(
        name=f"{path.parent.name}/{path.stem}",
        data=data,
        lines=h.line_ends(data),
        limits=HTTPLimits(**ns.get("limits", {})),
        expect=ns.get("expect", []),
        status=ns.get("status"),
        before=ns.get("before", 0),
        started=ns.get("started", False),
    )


VALID = {p.stem: load_case(p) for p in h.cases(CORPUS / "valid")}
INVALID = {p.stem: load_case(p) for p in h.cases(CORPUS / "invalid")}


# -- feeding ---------------------------------------------------------------------


def run(case: Case, cuts: Iterable[int]) -> tuple[list[Any], HTTPConnection]:
    """Feed ``case.data`` cut at ``cuts``; return the events and the connection."""
    conn = HTTPConnection(case.limits)
    events: list[Any] = []
    prev = 0
    for point in sorted({*cuts, len(case.data)}):
        if point > prev:
            events += conn.feed(case.data[prev:point])
            prev = point
    return events, conn


def random_cuts(case: Case, seed: int) -> list[int]:
    rng = random.Random(f"{case.name}/{seed}")
    cuts, pos, n = [], 0, len(case.data)
    while True:
        # Mostly tiny pieces (a head cut anywhere), some bigger ones.
        pos += rng.randint(1, 8 if rng.random() < 0.6 else 200)
        if pos >= n:
            return cuts
        cuts.append(pos)


def split_points(case: Case) -> list[int]:
    return chunking.split_points(len(case.data), case.lines, BIG_CASE, SPLIT_POINTS_BIG)


FEEDERS = ["whole", "bytewise", "per-line", "split2", *(f"random-{seed}" for seed in RANDOM_SEEDS)]


def chunkings(case: Case, feeder: str) -> list[list[int]]:
    """The list of cut sets that ``feeder`` feeds ``case`` with."""
    return chunking.chunkings(
        feeder, len(case.data), case.lines, lambda: split_points(case), lambda seed: random_cuts(case, seed)
    )


# -- comparing ---------------------------------------------------------------------


def _short(value: bytes | str) -> bytes | str:
    if len(value) <= LONG:
        return value
    return f"{len(value)} {type(value).__name__}: {value[:40]!r}...{value[-40:]!r} #{hash(value)}"


def summarize(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Events in a compact form, consecutive body pieces of one request merged::

    ("started", rid, params, keep_conn) ("body", rid, bytes) ("end", rid)
    ("rejected", rid, status)
    """
    out: list[list[Any]] = []
    for event in events:
        rid = event.request_id
        kind = type(event)
        if kind is BodyData:
            assert event.data, f"empty BodyData for request {rid}"
            if out and out[-1][0] == "body" and out[-1][1] == rid:
                out[-1][2] += event.data
            else:
                out.append(["body", rid, bytearray(event.data)])
        elif kind is RequestStarted:
            assert event.role == "RESPONDER"
            params = {name: _short(value) for name, value in event.params.items()}
            out.append(["started", rid, params, event.keep_conn])
        elif kind is BodyEnd:
            out.append(["end", rid])
        elif kind is RequestRejected:
            out.append(["rejected", rid, event.status])
        else:  # pragma: no cover - the protocol returned something else
            raise AssertionError(f"unexpected event {event!r}")
    return [("body", item[1], _short(bytes(item[2]))) if item[0] == "body" else tuple(item) for item in out]


def expected(requests: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The summary that the sidecar's ``expect`` describes (requests 1, 2...)."""
    out: list[tuple[Any, ...]] = []
    for rid, request in enumerate(requests, 1):
        params = {k: _short(v) for k, v in request.items() if k not in NOT_PARAMS}
        out.append(("started", rid, params, request.get("keep_alive", True)))
        if request.get("body"):
            out.append(("body", rid, _short(request["body"])))
        out.append(("end", rid))
    return out


def where(case: Case, cuts: list[int]) -> str:
    return f"{case.name}, fed with cuts at {cuts[:12]}{'...' if len(cuts) > 12 else ''}"


# -- the corpus ---------------------------------------------------------------------


def test_corpus_is_complete() -> None:
    assert len(VALID) >= 45 and len(INVALID) >= 45
    for kind in ("valid", "invalid"):
        for path in (CORPUS / kind).glob("*"):
            if path.suffix in (".http", ".py"):
                other = path.with_suffix(".py" if path.suffix == ".http" else ".http")
                assert other.exists(), f"{path.name} has no {other.suffix} twin"
    for case in VALID.values():
        assert case.expect and case.status is None, case.name
    for case in INVALID.values():
        assert case.status in (400, 413, 414, 417, 431, 501, 505), case.name
        assert not case.expect or len(case.expect) == case.before, case.name


def test_loader_decodes_escapes() -> None:
    assert h.decode(b"A\\r\\n\nB\\t\\0\\x7f\\xFF\\\\\n") == b"A\r\nB\t\x00\x7f\xff\\"
    with pytest.raises(ValueError, match="unknown escape"):
        h.decode(b"bad \\q escape")


@pytest.mark.parametrize("feeder", FEEDERS)
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_case(name: str, feeder: str) -> None:
    case = VALID[name]
    want = expected(case.expect)
    want_continue = {rid for rid, r in enumerate(case.expect, 1) if r.get("expect_continue")}
    for cuts in chunkings(case, feeder):
        events, conn = run(case, cuts)
        assert summarize(events) == want, where(case, cuts)
        assert conn.expect_continue == want_continue, where(case, cuts)
        assert not (conn.in_head or conn.body_open or conn.must_close), where(case, cuts)


@pytest.mark.parametrize("feeder", FEEDERS)
@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_case(name: str, feeder: str) -> None:
    case = INVALID[name]
    bad = case.before + 1
    reference = summarize(run(case, [])[0])
    for cuts in chunkings(case, feeder):
        events, conn = run(case, cuts)
        got = summarize(events)
        at = where(case, cuts)
        rejections = [item for item in got if item[0] == "rejected"]
        assert rejections == [("rejected", bad, case.status)], at
        assert got[-1] == rejections[0], f"{at}: events after the rejection"
        assert all(item[1] <= bad for item in got), f"{at}: a request after the bad one was parsed"
        good = [item for item in got if item[1] < bad]
        if case.expect:
            assert good == expected(case.expect), at
        else:
            assert [item[0] for item in good if item[0] != "body"] == ["started", "end"] * case.before, at
        refused = [item[0] for item in got[:-1] if item[1] == bad]
        if case.started:
            assert refused[:1] == ["started"] and set(refused[1:]) <= {"body"}, at
        else:
            assert refused == [], f"{at}: the refused request reached the app: {got}"
        assert got == reference, f"{at}: differs from the whole-buffer feed"
        assert conn.must_close, at
        assert conn.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == [], f"{at}: parsed after a rejection"


# -- properties --------------------------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Fields whose meaning goes beyond "a value handed to the app" have corpus cases.
SPECIAL = {
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "proxy-connection",
    "keep-alive",
    "upgrade",
    "expect",
}
PCHAR = "abcXYZ019-._~!$&'()*+,;=:@"
VCHAR = "".join(map(chr, range(0x21, 0x7F))) + "\x80\xa0\xe9\xff"

names = st.text(TCHAR, min_size=1, max_size=12).filter(lambda n: n.lower() not in SPECIAL)
words = st.text(VCHAR, min_size=1, max_size=10)
ows = st.sampled_from(["", " ", "\t", "  ", " \t "])
pct = st.integers(0, 255).map(lambda b: f"%{b:02X}")


@st.composite
def header_values(draw: st.DrawFn) -> tuple[str, str]:
    """(what is sent, what the app must see): words separated by spaces and tabs,
    with optional whitespace around them that is not part of the value."""
    parts = draw(st.lists(words, max_size=4))
    seps = [draw(st.sampled_from([" ", "\t", "  ", " \t"])) for _ in parts[1:]]
    value = parts[0] if parts else ""
    for sep, part in zip(seps, parts[1:], strict=True):
        value += sep + part
    return draw(ows) + value + draw(ows), value


@st.composite
def targets(draw: st.DrawFn) -> str:
    segment = st.lists(st.one_of(st.sampled_from(PCHAR), pct), max_size=8).map("".join)
    path = "/" + "/".join(draw(st.lists(segment, max_size=4)))
    if draw(st.booleans()):
        query = draw(st.lists(st.one_of(st.sampled_from(PCHAR + "/?"), pct), max_size=20))
        path += "?" + "".join(query)
    return path


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, dict[str, str], bytes]:
    """A random valid request: (bytes, params the app must see, body)."""
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    target = draw(targets())
    fields = [("Host", ("example.com", "example.com"))]
    fields += draw(st.lists(st.tuples(names, header_values()), max_size=10))
    body = draw(st.one_of(st.binary(max_size=64), st.binary(min_size=200, max_size=2000)))
    chunks = draw(st.one_of(st.none(), st.lists(st.integers(1, 300), max_size=6)))

    params = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": target,
        "QUERY_STRING": target.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    for name, (_, seen) in fields:
        if "_" in name:
            continue  # dropped: see the corpus case valid/*-underscore-headers-dropped
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in params:
            params[key] += ("; " if key == "HTTP_COOKIE" else ", ") + seen
        else:
            params[key] = seen
    if chunks is None:
        params["CONTENT_LENGTH"] = str(len(body))
    else:
        params["HTTP_TRANSFER_ENCODING"] = "chunked"
    data = h.request(method, target, [(n, sent) for n, (sent, _) in fields], body, chunks)
    return data, params, body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=3), st.data())
def test_random_pipelines_reconstruct_params_and_bodies(
    pipeline: list[tuple[bytes, dict[str, str], bytes]], data: st.DataObject
) -> None:
    stream = b"".join(item[0] for item in pipeline)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=30))))
    conn = HTTPConnection()
    events: list[Any] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        events += conn.feed(stream[a:b])

    want: list[Any] = []
    for rid, (_, params, body) in enumerate(pipeline, 1):
        # A body is announced unless Content-Length says 0 (chunked: always).
        want.append(RequestStarted(rid, params, True, "RESPONDER", params.get("CONTENT_LENGTH") != "0"))
        want += [("body", rid, body)] if body else []
        want.append(BodyEnd(rid))
    got: list[Any] = []
    for event in events:
        if type(event) is BodyData:
            assert event.data
            if got and type(got[-1]) is tuple and got[-1][1] == event.request_id:
                got[-1] = ("body", event.request_id, got[-1][2] + event.data)
            else:
                got.append(("body", event.request_id, event.data))
        else:
            got.append(event)
    assert got == want
    assert not (conn.in_head or conn.body_open or conn.must_close)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_requests_give_events_or_one_rejection(data: st.DataObject) -> None:
    """Whatever bytes arrive, feed() returns events and at most one rejection, as
    its last event; it never raises (no crash on hostile input)."""
    case = data.draw(st.sampled_from(sorted(VALID)))
    base = bytearray(VALID[case].data[:1500])
    for _ in range(data.draw(st.integers(1, 4))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    base += data.draw(st.binary(max_size=32))
    conn = HTTPConnection(HTTPLimits(max_headers=20, max_header_size=2048, max_request_line=256))
    step = data.draw(st.integers(1, 64))
    events: list[Any] = []
    for i in range(0, len(base), step):
        events += conn.feed(bytes(base[i : i + step]))
    rejected = [i for i, e in enumerate(events) if type(e) is RequestRejected]
    assert rejected in ([], [len(events) - 1])
    if rejected:
        assert conn.must_close
        assert events[-1].status in (400, 414, 417, 431, 505)
