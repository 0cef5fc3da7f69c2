"""The FastCGI corpus under every chunking, plus property tests of the request side.

Each case in ``tests/corpus/fastcgi/{valid,invalid}`` is fed to a fresh
:class:`FastCGIConnection` by several feeders (whole, byte by byte, per record,
every 2-way split point, seeded random chunks). A chunking may change how a body
is cut into :class:`BodyData` events and nothing else, so consecutive body pieces
of one request are merged before the events are compared: with each other across
feeders, and with the case's ``expect``. Invalid cases must raise
:class:`RemoteProtocolError` under every feeder, with a message naming the fault.

Case files (see ``tests/corpus/fastcgi/helpers.py``):

- ``records = [...]``: bytes and actions (``respond(rid)``, ``eof()``), or a
  ``NNN-slug.bin`` capture with ``actions_at = {offset: [actions]}``;
- ``expect = [...]`` (valid) or ``error = (ExceptionType, "message part")`` (invalid);
- ``reply = b"..."``: what ``data_to_send()`` must have produced in all (default
  ``b""``: the connection said nothing on its own);
- ``limits = dict(...)``: overrides of :class:`Limits`.
"""

from __future__ import annotations

import hashlib
import random
import runpy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fcgigate.protocols.errors import RemoteProtocolError
from fcgigate.protocols.events import BodyData, BodyEnd, RequestAborted, RequestStarted, ResponseEnd
from fcgigate.protocols.fastcgi import FastCGIConnection, Limits, decode_pairs, decode_params
from tests.corpus.fastcgi import helpers as h
from tests.support import chunking

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "fastcgi"
BIG_CASE = 4096  # above this, "every split point" becomes ~200 chosen ones
SPLIT_POINTS_BIG = 200
RANDOM_SEEDS = range(4)
LONG = 256  # bodies and values longer than this are compared by digest (readable diffs)


# -- loading cases ------------------------------------------------------------------


@dataclass
class Case:
    name: str
    data: bytes
    actions: dict[int, list[h.Action]]
    bounds: list[int]  # record boundaries (offsets between records)
    limits: Limits
    expect: list[tuple[Any, ...]] | None = None
    reply: bytes = b""
    error: tuple[type[Exception], str] | None = None
    cuts_cache: dict[str, list[int]] = field(default_factory=dict)


def load_case(path: Path) -> Case:
    ns = runpy.run_path(str(path))
    capture = path.with_suffix(".bin")
    item_bounds: set[int] = set()
    if capture.exists():
        data = capture.read_bytes()
        actions = {int(k): list(v) for k, v in ns.get("actions_at", {}).items()}
    else:
        parts, actions, pos = [], {}, 0
        for item in ns["records"]:
            if isinstance(item, h.Action):
                actions.setdefault(pos, []).append(item)
            else:
                parts.append(item)
                pos += len(item)
                item_bounds.add(pos)
        data = b"".join(parts)
    parsed = {r.end for r in h.parse_records(data, strict=False)}
    bounds = sorted((parsed | item_bounds) - {0, len(data)})
    return Case(
        name=f"{path.parent.name}/{path.stem}",
        data=data,
        actions=actions,
        bounds=bounds,
        limits=Limits(**ns.get("limits", {})),
        expect=ns.get("expect"),
        reply=ns.get("reply", b""),
        error=ns.get("error"),
    )


def case_paths(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("[0-9][0-9][0-9]-*.py"))


VALID = {p.stem: load_case(p) for p in case_paths("valid")}
INVALID = {p.stem: load_case(p) for p in case_paths("invalid")}


# -- feeding ---------------------------------------------------------------------


def run(case: Case, cuts: Iterable[int]) -> tuple[list[Any], bytes]:
    """Feed ``case.data`` cut at ``cuts`` (and wherever an action must happen);
    return the events and everything ``data_to_send()`` produced."""
    conn = FastCGIConnection(case.limits)
    events: list[Any] = []
    reply = bytearray()
    prev = 0
    for point in sorted({0, len(case.data), *cuts, *case.actions}):
        if point > prev:
            events += conn.feed(case.data[prev:point])
            reply += conn.data_to_send()
            prev = point
        for action in case.actions.get(point, ()):
            if action.kind == "respond":
                conn.send(ResponseEnd(action.request_id))
            elif action.kind == "eof":
                events += conn.feed(b"")
                reply += conn.data_to_send()
            else:  # pragma: no cover - a typo in a case file
                raise ValueError(f"unknown action {action!r} in {case.name}")
    return events, bytes(reply)


def random_cuts(case: Case, seed: int) -> list[int]:
    rng = random.Random(f"{case.name}/{seed}")
    cuts, pos, n = [], 0, len(case.data)
    while True:
        roll = rng.random()
        # Mostly small pieces (headers cut anywhere), some medium, a few large.
        top = 16 if roll < 0.5 else 600 if roll < 0.95 else 20000
        size = rng.randint(1, top)
        pos += size
        if pos >= n:
            return cuts
        cuts.append(pos)


def split_points(case: Case) -> list[int]:
    return chunking.split_points(len(case.data), (*case.bounds, *case.actions), BIG_CASE, SPLIT_POINTS_BIG)


FEEDERS = ["whole", "bytewise", "per-record", "split2", *(f"random-{seed}" for seed in RANDOM_SEEDS)]


def chunkings(case: Case, feeder: str) -> list[list[int]]:
    """The list of cut sets that ``feeder`` feeds ``case`` with."""
    return chunking.chunkings(
        feeder, len(case.data), case.bounds, lambda: split_points(case), lambda seed: random_cuts(case, seed)
    )


# -- comparing ---------------------------------------------------------------------


def _short(value: bytes | str) -> bytes | str:
    if len(value) <= LONG:
        return value
    raw = value if isinstance(value, bytes) else value.encode("latin-1")
    return h.digest(raw)


def summarize(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Events in the corpus's compact form, consecutive body pieces merged."""
    out: list[list[Any]] = []
    for event in events:
        rid = event.request_id
        if type(event) is BodyData:
            assert event.data, f"empty BodyData for request {rid}"
            if out and out[-1][0] == "body" and out[-1][1] == rid:
                out[-1][2] += event.data
            else:
                out.append(["body", rid, bytearray(event.data)])
        elif type(event) is RequestStarted:
            out.append(["started", rid, event.params, event.keep_conn, event.role])
        elif type(event) is BodyEnd:
            out.append(["end", rid])
        elif type(event) is RequestAborted:
            out.append(["aborted", rid])
        else:  # pragma: no cover - the protocol returned something else
            raise AssertionError(f"unexpected event {event!r}")
    return canonical([tuple(item) for item in out])


def canonical(items: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Long bodies and values as digests, so a failure diff stays readable."""
    out = []
    for item in items:
        if item[0] == "body":
            item = ("body", item[1], _short(bytes(item[2])))
        elif item[0] == "started":
            params = {name: _short(value) for name, value in item[2].items()}
            item = ("started", item[1], params, *item[3:])
        out.append(item)
    return out


# -- the corpus ---------------------------------------------------------------------


def test_corpus_is_complete() -> None:
    assert len(VALID) >= 40 and len(INVALID) >= 20
    for kind in ("valid", "invalid"):
        for capture in (CORPUS / kind).glob("*.bin"):
            assert capture.with_suffix(".py").exists(), f"{capture.name} has no sidecar .py"
    for case in VALID.values():
        assert case.expect is not None and case.error is None, case.name
    for case in INVALID.values():
        assert case.error is not None and case.expect is None, case.name
    assert hashlib.sha256(h.BODY100K).hexdigest() == h.BODY100K_SHA256


@pytest.mark.parametrize("feeder", FEEDERS)
@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_case(name: str, feeder: str) -> None:
    case = VALID[name]
    expected = canonical(case.expect)
    for cuts in chunkings(case, feeder):
        events, reply = run(case, cuts)
        where = f"{case.name}, fed with cuts at {cuts[:10]}{'...' if len(cuts) > 10 else ''}"
        assert summarize(events) == expected, where
        assert reply == case.reply, where


@pytest.mark.parametrize("feeder", FEEDERS)
@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_case(name: str, feeder: str) -> None:
    case = INVALID[name]
    exc_type, message = case.error
    for cuts in chunkings(case, feeder):
        with pytest.raises(exc_type) as info:
            run(case, cuts)
        assert isinstance(info.value, RemoteProtocolError)
        assert message in str(info.value), f"{case.name}, cuts at {cuts[:10]}: {info.value}"


# -- properties --------------------------------------------------------------------

LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)
SHORT_TEXT = st.text(LATIN1, max_size=40)
LONG_TEXT = st.builds(lambda c, n: c * n, LATIN1, st.integers(100, 70000))
BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda b, n: (b * n)[:n], st.binary(min_size=1, max_size=9), st.integers(0, 150000)),
)


@st.composite
def one_request(draw: st.DrawFn, rid: int) -> tuple[dict[str, str], bytes, bool, list[bytes]]:
    """A request's records (params, body, keep_conn, records), streams cut at random
    points into records of at most 65535 bytes, each record padded 0..255."""
    names = st.one_of(SHORT_TEXT, LONG_TEXT) if draw(st.booleans()) else SHORT_TEXT
    values = st.one_of(SHORT_TEXT, LONG_TEXT)
    params = draw(st.dictionaries(names, values, max_size=12))
    while len(h.pairs(params)) > Limits().max_params_size:
        params.popitem()
    body = draw(BODIES)
    keep_conn = draw(st.booleans())

    def pieces(stream: bytes) -> list[bytes]:
        cuts = draw(st.lists(st.integers(0, len(stream)), max_size=6))
        out = []
        for piece in h.split(stream, *sorted(cuts)):
            out += [piece[i : i + h.MAX_CONTENT] for i in range(0, len(piece), h.MAX_CONTENT)]
        return out

    def pad() -> int:
        return draw(st.one_of(st.just(None), st.integers(0, 255)))

    records = [h.begin(rid, keep_conn=keep_conn, padding=pad())]
    records += [h.record(h.PARAMS, rid, p, padding=pad()) for p in pieces(h.pairs(params))]
    records.append(h.params_end(rid, padding=pad()))
    records += [h.record(h.STDIN, rid, p, padding=pad()) for p in pieces(body)]
    records.append(h.stdin_end(rid, padding=pad()))
    return params, body, keep_conn, records


@st.composite
def request_streams(draw: st.DrawFn) -> tuple[dict[int, tuple[dict[str, str], bytes, bool]], bytes]:
    """1 to 3 requests on one connection, their records interleaved at random."""
    ids = draw(st.lists(st.integers(1, 0xFFFF), min_size=1, max_size=3, unique=True))
    requests = {rid: draw(one_request(rid)) for rid in ids}
    order = draw(st.permutations([rid for rid in ids for _ in requests[rid][3]]))
    queues = {rid: list(requests[rid][3]) for rid in ids}
    stream = b"".join(queues[rid].pop(0) for rid in order)
    return {rid: req[:3] for rid, req in requests.items()}, stream


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request_streams(), st.data())
def test_random_streams_reconstruct_params_and_body(streams: Any, data: st.DataObject) -> None:
    requests, stream = streams
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(stream) - 1)), max_size=40))))
    conn = FastCGIConnection()
    events: list[Any] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        events += conn.feed(stream[a:b])
    assert conn.data_to_send() == b""

    for rid, (params, body, keep_conn) in requests.items():
        mine = [e for e in events if e.request_id == rid]
        assert mine[0] == RequestStarted(rid, params, keep_conn, "RESPONDER")
        assert mine[-1] == BodyEnd(rid)
        pieces = mine[1:-1]
        assert all(type(e) is BodyData and e.data for e in pieces)
        assert b"".join(e.data for e in pieces) == body
    assert {e.request_id for e in events} == set(requests)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_streams_raise_only_remote_protocol_error(data: st.DataObject) -> None:
    """Whatever bytes arrive, the connection returns events or raises
    RemoteProtocolError: never another exception (no crash on hostile input)."""
    case = data.draw(st.sampled_from(sorted(VALID)))
    base = bytearray(VALID[case].data[:3000])
    for _ in range(data.draw(st.integers(1, 4))):
        if base:
            base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    base += data.draw(st.binary(max_size=64))
    conn = FastCGIConnection(Limits(max_concurrent_requests=2, max_params=50))
    step = data.draw(st.integers(1, 64))
    try:
        for i in range(0, len(base), step):
            conn.feed(bytes(base[i : i + step]))
            conn.data_to_send()
        conn.feed(b"")
    except RemoteProtocolError:
        pass


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.one_of(SHORT_TEXT, LONG_TEXT), st.one_of(SHORT_TEXT, LONG_TEXT)), max_size=6),
    st.booleans(),
    st.data(),
)
def test_decode_params_agrees_with_decode_pairs(
    items: list[tuple[str, str]], long: bool, data: st.DataObject
) -> None:
    """The hot path's decoder gives what the reference decoder's pairs give as a
    dict, or the same error, also for cut, corrupted and overlong streams."""
    stream = bytearray(h.pairs(items, long=long))
    for _ in range(data.draw(st.integers(0, 3))):
        if stream and data.draw(st.booleans()):
            stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(
                st.sampled_from([0, 1, 127, 128, 255])
            )
        elif stream:
            del stream[data.draw(st.integers(0, len(stream) - 1)) :]
    stream += data.draw(st.binary(max_size=6))
    max_pairs = data.draw(st.integers(0, 8))
    try:
        expected: Any = {
            n.decode("latin-1"): v.decode("latin-1") for n, v in decode_pairs(bytes(stream), max_pairs)
        }
    except RemoteProtocolError as exc:
        expected = str(exc)
    try:
        got: Any = decode_params(bytes(stream), max_pairs)
    except RemoteProtocolError as exc:
        got = str(exc)
    assert got == expected
