"""The hot path in-process: microseconds per request for parsing, environ building,
the app call and response writing, without sockets, for fcgigate beside gunicorn
(HTTP) and flup (FastCGI), in the same run, as ratios.

    python bench/hotpath.py             # make bench-hotpath: 5 rounds x 20,000 requests, about 20 s
    python bench/hotpath.py --smoke     # CI: a few hundred requests; the peers only if already installed
    python bench/hotpath.py --only fcgigate-http,gunicorn-http --rounds 3

What one request is, for each of the four (all call ``bench.apps:hello``, and
all write into an object that counts the bytes instead of a socket):

- ``fcgigate-http``: ``HTTPProtocol.data_received`` with the request's bytes, on
  a kept-alive connection of the glue a worker builds (``ServerState`` with
  ``ServeSettings()``, inline, its ``Runner``, a scoreboard slot as every worker
  has, no access log): the sans-I/O parser, the environ, the app, the response
  head and body handed to ``transport.write`` in one piece.
- ``gunicorn-http``: what gunicorn's workers do for a kept-alive request
  (``handle_request`` of its sync worker, which gthread shares, without the
  ``force_close`` that only the sync worker adds): ``next(parser)`` of its
  ``RequestParser`` over a socket-like object, the ``pre_request`` hook,
  ``wsgi.create`` (environ and ``Response``), the app, ``resp.write`` and
  ``resp.close`` (``sendall`` of the head, then of the body), the access-log
  call (off by default, as fcgigate's) and ``post_request``.
- ``fcgigate-fastcgi``: ``FastCGIProtocol.data_received`` with the records
  nginx sent for a GET with ``fastcgi_keep_conn on`` (the first request of
  ``tests/corpus/fastcgi/valid/005-nginx-keepconn-two-requests.bin``, a real
  capture: BEGIN_REQUEST with FCGI_KEEP_CONN, the params of Debian's
  ``/etc/nginx/fastcgi_params`` and curl's headers, the empty PARAMS and STDIN),
  request id 1 again after each END_REQUEST, as nginx does.
- ``flup-fastcgi``: the same bytes through flup's ``Connection.process_input``
  (``Record.read`` with ``sock.recv``, the ``_do_*`` handlers, the request run
  inline as its non-multiplexed connection does, ``WSGIServer.handler``: environ,
  app, STDOUT, END_REQUEST) of the ``WSGIServer`` that ``bench/flup_server.py``
  runs, minus the ``select()`` it makes before each record (a wait for the
  socket, the part of I/O this benchmark leaves out) and its thread pool.

Not measured: the system calls (a server that makes more of them pays more for
them on a real socket: flup sends three per record, gunicorn two per response,
fcgigate one), the event loop's or the thread's wake-up, the accept.

Each implementation runs in a child process of its own interpreter (fcgigate in
its virtualenv, gunicorn and flup in the peers', ``bench/.peers``, which has no
fcgigate), which sets up, checks its response once (status 200, the body, the
connection kept), warms up, then answers the driver's rounds: in each round
every child in turn (the order rotated by one each round, one child running at
a time) runs a short warm-up then ``--requests`` requests timed with
``time.perf_counter_ns``, and checks that it sent exactly that many responses'
bytes. Reported: the median of the rounds' microseconds per request with their
range, and the ratios peer / fcgigate (how many times faster fcgigate's path
is), computed per round, with their median and range (bench/report.py's rule).

Results: bench/results/hotpath.{json,md} (--smoke: bench/results/smoke/). The
exit status is 1 if an implementation that ran failed its check or a round, 2 if
the peers were asked for (--only) but are not there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_OUT = BENCH_DIR / "results"
SMOKE_OUT = DEFAULT_OUT / "smoke"
DEFAULT_PEERS = BENCH_DIR / ".peers"

# What curl 7.88.1 sends (wrk sends Host alone); its answer fits one write.
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
FASTCGI_CAPTURE = REPO_ROOT / "tests" / "corpus" / "fastcgi" / "valid" / "005-nginx-keepconn-two-requests.bin"
PEER = ("127.0.0.1", 40000)  # the fake connections' ends (TCP: make bench's FastCGI uses a unix socket)
SERVER = ("127.0.0.1", 8000)

# mode -> rounds, timed requests per round, warm-up requests before each round
MODES = {
    "full": (5, 20_000, 1_000),
    "smoke": (2, 200, 50),
}
FIRST_WARMUP = 2_000  # once, after the check, before the first round (smoke: the round's)
CHILD_TIMEOUT = 120.0  # one answer from a child (setup, or a round); past it the child is hung
PREFIX = "hotpath: "  # a child's answers on stdout start with it; anything else is noise


@dataclass(frozen=True)
class Impl:
    name: str
    protocol: str  # "HTTP" or "FastCGI"
    peer: str  # "fcgigate", "gunicorn", "flup": which interpreter runs it
    label: str


IMPLS = (
    Impl("fcgigate-http", "HTTP", "fcgigate", "fcgigate HTTPProtocol (inline)"),
    Impl("gunicorn-http", "HTTP", "gunicorn", "gunicorn RequestParser + wsgi.create + Response"),
    Impl("fcgigate-fastcgi", "FastCGI", "fcgigate", "fcgigate FastCGIProtocol (inline)"),
    Impl("flup-fastcgi", "FastCGI", "flup", "flup Connection + WSGIServer.handler"),
)
BY_NAME = {impl.name: impl for impl in IMPLS}
# (numerator, denominator, label): how many times faster fcgigate's path is
RATIOS = (
    ("gunicorn-http", "fcgigate-http", "gunicorn / fcgigate, HTTP"),
    ("flup-fastcgi", "fcgigate-fastcgi", "flup / fcgigate, FastCGI"),
)


# -- the request bytes and the checks (standard library: every child runs them) -----------

FCGI_HEADER = struct.Struct(">BBHHBx")  # version, type, request id, content length, padding
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_KEEP_CONN = 1


def fcgi_records(data: bytes) -> list[tuple[int, int, bytes, int]]:
    """(type, request id, content, end offset) of each whole record in ``data``."""
    records = []
    pos = 0
    while pos + FCGI_HEADER.size <= len(data):
        _, kind, rid, length, padding = FCGI_HEADER.unpack_from(data, pos)
        end = pos + FCGI_HEADER.size + length + padding
        if end > len(data):
            break
        records.append((kind, rid, data[pos + FCGI_HEADER.size : pos + FCGI_HEADER.size + length], end))
        pos = end
    return records


def fastcgi_request() -> tuple[bytes, int]:
    """nginx's first request on the captured kept connection (through its empty STDIN
    record), and how many records it has."""
    data = FASTCGI_CAPTURE.read_bytes()
    records = fcgi_records(data)
    for count, (kind, _, content, end) in enumerate(records, 1):
        if kind == FCGI_STDIN and not content:
            begin = records[0]
            if begin[0] != FCGI_BEGIN_REQUEST or not begin[2][2] & FCGI_KEEP_CONN:
                raise SystemExit(f"hotpath: {FASTCGI_CAPTURE.name} does not start with a kept BEGIN_REQUEST")
            return data[:end], count
    raise SystemExit(f"hotpath: {FASTCGI_CAPTURE.name}: no empty STDIN record")


def check_http(response: bytes, body: bytes) -> str | None:
    """Why ``response`` is not a kept-alive 200 with ``body``, or None."""
    head, _, rest = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if lines[0] != b"HTTP/1.1 200 OK":
        return f"status line {lines[0][:80]!r}"
    if rest != body:
        return f"body {rest[:80]!r}"
    if any(line.lower() == b"connection: close" for line in lines):
        return "the response closes the connection"
    return None


def check_fastcgi(response: bytes, body: bytes) -> str | None:
    """Why ``response`` (records) is not one complete 200 with ``body`` for request 1."""
    records = fcgi_records(response)
    if not records or records[-1][3] != len(response):
        return f"not whole records: {response[:80]!r}"
    stdout = b"".join(content for kind, rid, content, _ in records if kind == FCGI_STDOUT and rid == 1)
    ends = [content for kind, rid, content, _ in records if kind == FCGI_END_REQUEST]
    if len(ends) != 1 or records[-1][0] != FCGI_END_REQUEST or records[-1][1] != 1:
        return f"{len(ends)} END_REQUEST records, the last record of type {records[-1][0]}"
    if ends[0][4] != 0:
        return f"END_REQUEST protocol status {ends[0][4]}"
    head, _, rest = stdout.partition(b"\r\n\r\n")
    if not head.startswith(b"Status: 200 OK\r\n"):
        return f"CGI head {head[:80]!r}"
    if rest != body:
        return f"body {rest[:80]!r}"
    return None


# -- what a child measures -------------------------------------------------------------------


class Sink:
    """What the servers write into: counts the bytes (and keeps them while checking)."""

    def __init__(self) -> None:
        self.sent = 0
        self.kept: list[bytes] | None = None

    def take(self) -> bytes:
        kept, self.kept = self.kept or [], None
        return b"".join(kept)


class FakeTransport(Sink):
    """What fcgigate's glue uses of an asyncio transport, on a TCP connection."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: bytes) -> None:
        self.sent += len(data)
        if self.kept is not None:
            self.kept.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": PEER, "sockname": SERVER}.get(name, default)  # socket, ssl_object: None

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    abort = close
    write_eof = close

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        return

    def resume_reading(self) -> None:
        return

    def get_write_buffer_size(self) -> int:
        return 0


class CyclicSocket(Sink):
    """A blocking socket whose peer sends the same request again each time the last
    one is read: ``recv`` returns at most up to the end of one copy, as a kept-alive
    client that waits for each answer makes a socket do."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data
        self.pos = 0

    def recv(self, size: int) -> bytes:
        pos = self.pos
        end = min(pos + size, len(self.data))
        self.pos = 0 if end == len(self.data) else end
        return self.data[pos:end]

    def sendall(self, data: bytes) -> None:
        self.sent += len(data)
        if self.kept is not None:
            self.kept.append(bytes(data))

    def send(self, data: bytes) -> int:
        self.sendall(data)
        return len(data)

    def fileno(self) -> int:
        return 99  # flup formats it into its debug messages (built even when not logged)

    def getsockname(self) -> tuple[str, int]:
        return SERVER

    def setblocking(self, flag: bool) -> None:
        return


Setup = Callable[[Any], tuple[Callable[[], None], Sink, Callable[[], str | None], dict[str, str]]]


def _fcgigate(protocol_class: Any, listener: str, app: Any) -> tuple[Any, FakeTransport, dict[str, str]]:
    import fcgigate
    from fcgigate.loops import loop_name, new_event_loop
    from fcgigate.serve.runner import Runner
    from fcgigate.serve.state import ServerState, ServeSettings
    from fcgigate.status import Scoreboard

    loop = new_event_loop()  # never run: an inline request is answered within data_received
    state = ServerState(app, ServeSettings(), loop)
    state.runner = Runner(state)
    slot = Scoreboard(64).slot(0)  # as a worker has: the master always makes a scoreboard
    slot.claim(os.getpid(), 1)
    state.slot = slot
    protocol = protocol_class(state, listener)
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport, {"fcgigate": fcgigate.__version__, "loop": loop_name(loop)}


def _fcgigate_feeding(protocol_class: Any, listener: str, app: Any, request: bytes) -> Any:
    """fcgigate's setup for one protocol: each ``one()`` feeds ``request`` to a kept connection."""
    protocol, transport, versions = _fcgigate(protocol_class, listener, app)
    feed = protocol.data_received

    def one() -> None:
        feed(request)

    return one, transport, lambda: "closing" if transport.closing else None, versions


def setup_fcgigate_http(app: Any) -> Any:
    from fcgigate.serve.http import HTTPProtocol

    return _fcgigate_feeding(HTTPProtocol, "http://127.0.0.1:8000", app, HTTP_REQUEST)


def setup_fcgigate_fastcgi(app: Any) -> Any:
    from fcgigate.serve.fastcgi import FastCGIProtocol

    return _fcgigate_feeding(FastCGIProtocol, "fastcgi://127.0.0.1:8000", app, fastcgi_request()[0])


def setup_gunicorn_http(app: Any) -> Any:
    from datetime import datetime

    import gunicorn
    from gunicorn.config import Config
    from gunicorn.http import get_parser, message, wsgi

    cfg = Config()
    sock = CyclicSocket(HTTP_REQUEST)

    class Worker:  # what the hooks and the access log are given
        log = cfg.logger_class(cfg)
        nr = 0

    worker = Worker()
    log = worker.log
    parser = get_parser(cfg, sock, PEER)
    closed: list[str] = []

    def one() -> None:
        # gunicorn.workers.sync.SyncWorker.handle_request (gthread's is the same),
        # for a kept-alive connection: no force_close; an error propagates.
        req = next(parser)
        cfg.pre_request(worker, req)
        request_start = datetime.now()
        resp, environ = wsgi.create(req, sock, PEER, SERVER, cfg)
        worker.nr += 1
        respiter = app(environ, resp.start_response)
        try:
            if isinstance(respiter, environ["wsgi.file_wrapper"]):
                resp.write_file(respiter)
            else:
                for item in respiter:
                    resp.write(item)
            resp.close()
        finally:
            request_time = datetime.now() - request_start
            log.access(resp, req, environ, request_time)
            if hasattr(respiter, "close"):
                respiter.close()
        cfg.post_request(worker, req, environ, resp)
        if resp.should_close():
            closed.append("the response closes the connection")

    fast = message._check_fast_parser(cfg)
    versions = {"gunicorn": gunicorn.__version__, "parser": "gunicorn_h1c (C)" if fast else "Python"}
    return one, sock, lambda: closed[0] if closed else None, versions


def setup_flup_fastcgi(app: Any) -> Any:
    import importlib.metadata

    from flup.server import fcgi_base
    from flup.server.fcgi import WSGIServer

    request, records = fastcgi_request()
    # As bench/flup_server.py makes it (run() would bind the socket; it is not called).
    server = WSGIServer(app, bindAddress="/tmp/hotpath-flup-unused.sock", multiplexed=False)
    server.shutdown()  # its thread pool's idle thread: no part of a request

    class InMemoryConnection(fcgi_base.Connection):
        def process_input(self) -> None:
            # fcgi_base.Connection.process_input after its select() on the socket.
            rec = fcgi_base.Record()
            rec.read(self._sock)
            if rec.type == fcgi_base.FCGI_GET_VALUES:
                self._do_get_values(rec)
            elif rec.type == fcgi_base.FCGI_BEGIN_REQUEST:
                self._do_begin_request(rec)
            elif rec.type == fcgi_base.FCGI_ABORT_REQUEST:
                self._do_abort_request(rec)
            elif rec.type == fcgi_base.FCGI_PARAMS:
                self._do_params(rec)
            elif rec.type == fcgi_base.FCGI_STDIN:
                self._do_stdin(rec)
            elif rec.type == fcgi_base.FCGI_DATA:
                self._do_data(rec)
            elif rec.requestId == fcgi_base.FCGI_NULL_REQUEST_ID:
                self._do_unknown_type(rec)

    sock = CyclicSocket(request)
    # What ThreadedServer.run makes for an accepted unix-socket connection.
    conn = InMemoryConnection(sock, "", server, None)
    conn._keepGoing = True  # set by Connection.run
    process = conn.process_input

    def one() -> None:
        for _ in range(records):
            process()

    versions = {"flup": importlib.metadata.version("flup")}
    return one, sock, lambda: None if conn._keepGoing else "flup closed the connection", versions


SETUPS: dict[str, Setup] = {
    "fcgigate-http": setup_fcgigate_http,
    "gunicorn-http": setup_gunicorn_http,
    "fcgigate-fastcgi": setup_fcgigate_fastcgi,
    "flup-fastcgi": setup_flup_fastcgi,
}


def _say(record: dict[str, Any]) -> None:
    sys.stdout.write(PREFIX + json.dumps(record) + "\n")
    sys.stdout.flush()


def child(name: str, first_warmup: int) -> int:
    """Set up ``name``, check one response, warm up, then answer "REQUESTS WARMUP"
    lines with one round's numbers each, until "quit" or EOF."""
    import platform

    from bench.apps import BODIES, hello

    impl = BY_NAME[name]
    check = check_http if impl.protocol == "HTTP" else check_fastcgi
    try:
        one, sink, broken, versions = SETUPS[name](hello)
        responses = []
        for _ in range(2):  # the second one shows that the connection was kept
            sink.kept = []
            one()
            responses.append(sink.take())
        problem = check(responses[0], BODIES["hello"]) or check(responses[1], BODIES["hello"]) or broken()
        if problem is None and len(responses[0]) != len(responses[1]):
            problem = f"two responses of {len(responses[0])} and {len(responses[1])} bytes"
    except Exception as exc:  # reported to the driver, which says which implementation failed
        _say({"ok": False, "error": f"setup: {type(exc).__name__}: {exc}"})
        return 1
    size = len(responses[0])
    ready = {
        "ok": problem is None,
        "error": problem,
        "response_bytes": size,
        "response": responses[0].decode("latin-1"),
        "versions": {**versions, "python": platform.python_version()},
    }
    if problem is not None:
        _say(ready)
        return 1
    for _ in repeat(None, first_warmup):
        one()
    _say(ready)
    timer = time.perf_counter_ns
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        requests, warmup = int(words[0]), int(words[1])
        try:
            for _ in repeat(None, warmup):
                one()
            before = sink.sent
            began = timer()
            for _ in repeat(None, requests):
                one()
            elapsed = timer() - began
            sent = sink.sent - before
            problem = broken()
            if problem is None and sent != requests * size:
                problem = f"sent {sent} bytes for {requests} responses of {size}"
        except Exception as exc:
            elapsed, problem = 0, f"{type(exc).__name__}: {exc}"
        _say({"ok": problem is None, "error": problem, "requests": requests, "ns": elapsed})
        if problem is not None:
            return 1
    return 0


# -- the driver ------------------------------------------------------------------------------


class Child:
    """One implementation's child process, spoken to by lines."""

    def __init__(
        self, impl: Impl, python: str, first_warmup: int, env: dict[str, str], scratch: Path
    ) -> None:
        self.impl = impl
        self.python = python
        self.errors = scratch / f"{impl.name}.stderr"
        with open(self.errors, "wb") as errors:
            self.proc = subprocess.Popen(
                [python, str(Path(__file__).resolve()), "--child", impl.name, "--warmup", str(first_warmup)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )

    def answer(self) -> dict[str, Any]:
        """The child's next answer; on EOF, a failure with the end of its stderr. A
        child silent for CHILD_TIMEOUT is killed (its EOF then ends the wait)."""
        assert self.proc.stdout is not None
        watchdog = threading.Timer(CHILD_TIMEOUT, self.proc.kill)
        watchdog.start()
        try:
            for line in self.proc.stdout:
                if line.startswith(PREFIX):
                    return json.loads(line[len(PREFIX) :])
        finally:
            watchdog.cancel()
        self.proc.wait(timeout=10)
        tail = self.errors.read_text(errors="replace").strip().splitlines()[-8:]
        return {"ok": False, "error": f"exited {self.proc.returncode}: " + " | ".join(tail)}

    def round(self, requests: int, warmup: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{requests} {warmup}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # answer() reports how it ended
        return self.answer()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def peers_python(peers_dir: Path, install: bool) -> tuple[str | None, str]:
    """The peers' interpreter if gunicorn and flup import in it, else None and why.
    ``install``: create the peers' virtualenv as make bench does (bench/peers.py)."""
    python = peers_dir / "bin" / "python"
    if install:
        from bench.peers import ensure

        states = ensure(peers_dir)
        wanted = ("gunicorn", "flup")
        missing = [f"{name}: {states[name].reason}" for name in wanted if not states[name].available]
        if missing:
            return None, "; ".join(missing)
    if not python.exists():
        return None, f"no peers' virtualenv at {peers_dir} (python bench/hotpath.py, or make bench, makes it)"
    done = subprocess.run(
        [str(python), "-c", "import gunicorn.http.wsgi, flup.server.fcgi"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        return None, f"gunicorn or flup does not import in {python}: {done.stderr.strip()[-300:]}"
    return str(python), ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/hotpath.py",
        description="fcgigate's hot path in-process, beside gunicorn's and flup's (bench/README.md).",
    )
    parser.add_argument("--smoke", action="store_true", help="a few hundred requests; peers if installed")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (5; smoke 2)")
    parser.add_argument("--requests", type=int, help="timed requests per round (20000; smoke 200)")
    parser.add_argument("--warmup", type=int, help="untimed requests before each round (1000; smoke 50)")
    parser.add_argument("--only", default="", help=f"comma-separated, of: {', '.join(SETUPS)}")
    parser.add_argument("--out", type=Path, help=f"results directory ({DEFAULT_OUT}; smoke: {SMOKE_OUT})")
    parser.add_argument("--peers-dir", type=Path, default=DEFAULT_PEERS, help="the peers' virtualenv")
    parser.add_argument("--no-peers", action="store_true", help="fcgigate alone (no ratios)")
    parser.add_argument("--child", choices=sorted(SETUPS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def summarise(runs: list[dict[str, Any]]) -> dict[str, float] | None:
    values = [run["us"] for run in runs if run.get("ok")]
    if not values or len(values) != len(runs):
        return None
    return {"median_us": statistics.median(values), "min_us": min(values), "max_us": max(values)}


def ratio_of(results: dict[str, Any], numerator: str, denominator: str) -> dict[str, Any] | None:
    """numerator / denominator per round (both measured in it), their median and range."""
    top = results["implementations"].get(numerator, {}).get("runs") or []
    bottom = results["implementations"].get(denominator, {}).get("runs") or []
    if not top or len(top) != len(bottom) or not all(run.get("ok") for run in top + bottom):
        return None
    values = [a["us"] / b["us"] for a, b in zip(top, bottom, strict=True)]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "per_round": values}


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    settings = results["settings"]
    lines = [
        "# fcgigate's hot path, in-process",
        "",
        f"{results['started']}, `{results['command']}`: {settings['rounds']} interleaved rounds of "
        f"{settings['requests']:,} requests per implementation (after {settings['warmup']:,} untimed), "
        f"on {machine['cpu']} ({machine['usable_cores']} usable cores, load average "
        f"{machine['loadavg_start']} before, {machine['loadavg_end']} after), Python {machine['python']}.",
        "",
        "Microseconds per request for parsing, environ building, the app call (`bench.apps:hello`) and "
        "response writing, into an object that counts bytes instead of a socket: no system call is "
        "measured. bench/hotpath.py's docstring says what each path includes.",
        "",
        "| protocol | implementation | version | µs/request (median) | min–max | requests/s on one core |",
        "| --- | --- | --- | ---: | --- | ---: |",
    ]
    for impl in IMPLS:
        record = results["implementations"].get(impl.name)
        if record is None:
            continue
        version = record.get("versions", {}).get(impl.peer, "")
        if impl.peer == "gunicorn" and record.get("versions", {}).get("parser"):
            version += f" ({record['versions']['parser']} parser)"
        summary = record.get("summary")
        if summary is None:
            why = record.get("reason") or record.get("error") or "failed"
            lines.append(f"| {impl.protocol} | {impl.label} | {version} | - | {why} | - |")
            continue
        lines.append(
            f"| {impl.protocol} | {impl.label} | {version} | {summary['median_us']:.2f} | "
            f"{summary['min_us']:.2f}–{summary['max_us']:.2f} | {1e6 / summary['median_us']:,.0f} |"
        )
    if results["ratios"]:
        lines += ["", "| ratio (how many times faster fcgigate's path is) | median | per-round range |"]
        lines.append("| --- | ---: | --- |")
    for ratio in results["ratios"]:
        if ratio["value"] is None:
            lines.append(f"| {ratio['label']} | - | not measured |")
        else:
            value = ratio["value"]
            lines.append(
                f"| {ratio['label']} | {value['median']:.2f}x | {value['min']:.2f}–{value['max']:.2f}x |"
            )
    lines += [
        "",
        f"HTTP request: `{results['requests']['http']}` ({results['requests']['http_bytes']} bytes). "
        f"FastCGI request: {results['requests']['fastcgi']}.",
        "",
    ]
    return "\n".join(lines)


def start(
    selected: list[Impl], results: dict[str, Any], pythons: dict[str, str | None], why_not: str, **how: Any
) -> tuple[list[Child], bool]:
    """Start each selected implementation's child, one after the other (each sets up,
    checks and warms up alone), and record it; return those ready, and whether one failed."""
    children: list[Child] = []
    failed = False
    for impl in selected:
        record: dict[str, Any] = {"label": impl.label, "protocol": impl.protocol, "peer": impl.peer}
        record["runs"] = []
        results["implementations"][impl.name] = record
        interpreter = pythons[impl.peer]
        if interpreter is None:
            record.update(available=False, reason=why_not)
            print(f"hotpath: skipping {impl.name}: {why_not}")
            continue
        one = Child(impl, interpreter, **how)
        ready = one.answer()
        record.update(available=True, python=interpreter, versions=ready.get("versions", {}))
        record["check"] = {key: ready.get(key) for key in ("ok", "error", "response_bytes", "response")}
        if not ready.get("ok"):
            record["error"] = f"check: {ready.get('error')}"
            print(f"hotpath: {impl.name} failed its check: {ready.get('error')}", file=sys.stderr)
            failed = True
            one.stop()
            continue
        children.append(one)
    return children, failed


def run_rounds(
    children: list[Child], results: dict[str, Any], rounds: int, requests: int, warmup: int
) -> bool:
    """Every round asks every child for one timed batch, one child at a time, the order
    rotated by one each round. Returns whether one failed (it is asked no more)."""
    failed = False
    for round_no in range(1, rounds + 1):
        shift = (round_no - 1) % len(children) if children else 0
        for one in children[shift:] + children[:shift]:
            record = results["implementations"][one.impl.name]
            if record.get("error"):
                continue
            answer = one.round(requests, warmup)
            run: dict[str, Any] = {"round": round_no, "ok": bool(answer.get("ok"))}
            run["requests"] = answer.get("requests")
            if answer.get("ok"):
                run["ns"] = answer["ns"]
                run["us"] = answer["ns"] / 1000 / answer["requests"]
                print(f"hotpath: round {round_no}/{rounds} {one.impl.name}: {run['us']:.2f} µs/request")
            else:
                run["error"] = answer.get("error")
                record["error"] = f"round {round_no}: {answer.get('error')}"
                print(f"hotpath: {one.impl.name} failed: {answer.get('error')}", file=sys.stderr)
                failed = True
            record["runs"].append(run)
    return failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args.child, args.warmup or 0)

    from bench.driver import fcgigate_python, machine_info
    from bench.servers import server_env

    mode = "smoke" if args.smoke else "full"
    rounds, requests, warmup = MODES[mode]
    rounds = args.rounds or rounds
    requests = args.requests or requests
    warmup = args.warmup if args.warmup is not None else warmup
    only = [name for name in args.only.split(",") if name]
    unknown = sorted(set(only) - set(SETUPS))
    if unknown:
        raise SystemExit(f"hotpath: unknown implementations {', '.join(unknown)} (of {', '.join(SETUPS)})")
    selected = [impl for impl in IMPLS if not only or impl.name in only]
    if args.no_peers:
        selected = [impl for impl in selected if impl.peer == "fcgigate"]
    out = args.out or (SMOKE_OUT if args.smoke else DEFAULT_OUT)

    python = fcgigate_python()
    peer_python, why_not = None, ""
    if any(impl.peer != "fcgigate" for impl in selected):
        # make bench's peers' virtualenv, created if missing (not by --smoke: it takes minutes).
        peer_python, why_not = peers_python(args.peers_dir, install=not args.smoke)
        if only and peer_python is None:
            print(f"hotpath: the peers were asked for but are not there: {why_not}", file=sys.stderr)
            return 2
    arguments = argv if argv is not None else sys.argv[1:]
    request, records = fastcgi_request()
    results: dict[str, Any] = {
        "schema": 1,
        "mode": mode,
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join([Path(sys.executable).name, "bench/hotpath.py", *arguments]),
        "settings": {"rounds": rounds, "requests": requests, "warmup": warmup, "first_warmup": FIRST_WARMUP},
        "machine": machine_info(),
        "requests": {
            "http": HTTP_REQUEST.decode("latin-1").replace("\r\n", "\\r\\n"),
            "http_bytes": len(HTTP_REQUEST),
            "fastcgi": f"the first request of {FASTCGI_CAPTURE.relative_to(REPO_ROOT)} "
            f"({len(request)} bytes, {records} records)",
        },
        "implementations": {},
        "ratios": [],
    }
    pythons = {"fcgigate": python, "gunicorn": peer_python, "flup": peer_python}
    first_warmup = warmup if args.smoke else FIRST_WARMUP
    scratch = Path(tempfile.mkdtemp(prefix="fcgigate-hotpath-", dir="/tmp"))
    began = time.monotonic()
    children: list[Child] = []
    try:
        children, failed = start(
            selected, results, pythons, why_not, first_warmup=first_warmup, env=server_env(), scratch=scratch
        )
        failed = run_rounds(children, results, rounds, requests, warmup) or failed
    finally:
        for one in children:
            one.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    for record in results["implementations"].values():
        if record.get("available"):
            record["summary"] = summarise(record["runs"]) if not record.get("error") else None
    for numerator, denominator, label in RATIOS:
        if numerator in results["implementations"] and denominator in results["implementations"]:
            value = ratio_of(results, numerator, denominator)
            results["ratios"].append(
                {"label": label, "numerator": numerator, "denominator": denominator, "value": value}
            )
    results["machine"]["loadavg_end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    results["seconds"] = round(time.monotonic() - began, 1)
    text = markdown(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hotpath.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "hotpath.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"hotpath: {results['seconds']} s; wrote {out / 'hotpath.json'} and {out / 'hotpath.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    # Run as a script, this file's directory is on sys.path, not the repository:
    # put the repository first so that the suite imports as the package `bench`.
    sys.path.insert(0, str(REPO_ROOT))
    sys.exit(main())
