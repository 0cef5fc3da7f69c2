"""The scenarios: each is a list of server configurations and one way to load them.

A ``Config`` names what is measured (``peer``), what it needs on the machine
(``needs``: peers from the virtualenv, nginx) and how to build its ``Server`` in
a fresh directory. A ``Scenario`` adds the wrk load (``Load``: path, method, body,
connections, idle connections), its durations per mode when they differ from the
run's, and what the report shows: ``Ratio``s between two configurations and
``Check``s of one configuration's numbers, with the issue's targets.

Config names are unique within a scenario; the same server configuration may
appear in several scenarios (the access-log scenario measures its own "off"
beside its "on", so that the two are always measured next to each other).

Metrics a ratio or a check may name (medians over rounds; see bench/report.py):
``rps``, ``p50_ms``, ``p99_ms``, ``p999_ms``, ``mean_ms``, ``max_ms``,
``errors_total`` (summed over rounds), ``in_flight`` (req/s x mean latency, the
requests the server really had in progress: the connections, unless some were
starved) and ``in_flight_pct``; with ``block_s``: ``limit_rps`` (connections /
block_s, capped by the configuration's ``concurrency``), ``limit_pct``,
``conn_limit_pct`` (of connections / block_s, the issue's limit); with idle
connections: ``p99_without_idle_ms``, ``p99_idle_ratio``, ``rss_per_idle_kib``,
``idle_alive``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.apps import BLOCK_S, BODIES, HELLO
from bench.load import Load
from bench.servers import Server, Tools

Builder = Callable[[Tools, Path], Server]
Timing = Mapping[str, tuple[float, float]]  # mode -> (duration, warm-up) in seconds

OPS = (">=", "<=", "<")


@dataclass(frozen=True)
class Config:
    name: str
    label: str  # short, for the chart
    peer: str  # whose server is measured: fcgigate, gunicorn, granian, flup, uwsgi or nginx
    describe: str  # exactly what runs, for the report
    build: Builder
    needs: tuple[str, ...] = ()  # peers (installed in bench/.peers) and "nginx"
    # Requests it can run at once when the app blocks (threads x workers); None: as
    # many as there are connections. Only read by scenarios with ``block_s``.
    concurrency: int | None = None
    full_only: bool = False  # left out of the quick run (make bench), run by FULL=1


@dataclass(frozen=True)
class Ratio:
    """numerator's ``metric`` over denominator's, per round (both measured in it), then
    the median of those: a ratio from one round cancels what drifted between rounds."""

    label: str
    numerator: str
    denominator: str
    target: float | None = None  # the "at least" (or, with op "<=", "at most")
    metric: str = "rps"
    op: str = ">="


@dataclass(frozen=True)
class Check:
    """One configuration's ``metric`` (its median over rounds) against a target; with
    no target the value is only reported."""

    label: str
    config: str
    metric: str
    target: float | None = None
    op: str = ">="


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    configs: tuple[Config, ...]
    load: Load = field(default_factory=Load)
    ratios: tuple[Ratio, ...] = ()
    checks: tuple[Check, ...] = ()
    # (duration, warm-up) per mode where the run's defaults (driver.MODES) do not fit.
    timing: Timing = field(default_factory=dict)
    block_s: float | None = None  # the app blocks this long per request: limits are reported
    columns: tuple[str, ...] = ()  # metrics shown in the table besides req/s, p50, p99...

    def config(self, name: str) -> Config:
        return next(config for config in self.configs if config.name == name)

    def __post_init__(self) -> None:
        names = [config.name for config in self.configs]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: configuration names repeat")
        for item in (*self.ratios, *self.checks):
            if item.op not in OPS:
                raise ValueError(f"{self.name}: {item.label}: op {item.op!r} is none of {OPS}")
            wanted = (item.numerator, item.denominator) if isinstance(item, Ratio) else (item.config,)
            for name in wanted:
                if name not in names:
                    raise ValueError(f"{self.name}: {item.label} names no configuration {name!r}")


# -- builders (``app`` names a function of bench/apps.py)


def _app(name: str) -> str:
    return f"bench.apps:{name}"


def http_fcgigate(threads: int = 0, access_log: bool = False, app: str = "hello", **more: object) -> Builder:
    """fcgigate over HTTP on a free port, 1 worker; with ``access_log``, the default
    (combined) format to a file in the run's directory; ``more`` settings as they are
    (``workers="auto"``, ``max_connections=...``)."""

    def build(tools: Tools, workdir: Path) -> Server:
        port = servers.free_port()
        settings: dict[str, object] = {"threads": threads, **more}
        facts = None
        if access_log:
            log = workdir / "access.log"
            settings["access_log"] = log

            def facts() -> dict[str, object]:
                return {"access_log_lines": _count_lines(log)}

        bind, address = f"http://127.0.0.1:{port}", ("127.0.0.1", port)
        launch = servers.fcgigate(tools, workdir, bind, address, settings, _app(app))
        return Server([launch], port, BODIES[app], facts)

    return build


def fastcgi_fcgigate(keep_conn: bool, threads: int = 0, app: str = "hello") -> Builder:
    """fcgigate on a FastCGI unix socket behind nginx, with or without kept connections."""

    def build(tools: Tools, workdir: Path) -> Server:
        sock = workdir / "fcgigate.sock"
        settings = {"threads": threads}
        backend = servers.fcgigate(tools, workdir, f"fastcgi+unix://{sock}", str(sock), settings, _app(app))
        port = servers.free_port()
        front = servers.nginx(tools, workdir, port, f"unix:{sock}", keep_conn)
        return Server([backend, front], port, BODIES[app])

    return build


def http_gunicorn(worker_class: str, threads: int = 1, app: str = "hello") -> Builder:
    def build(tools: Tools, workdir: Path) -> Server:
        port = servers.free_port()
        launch = servers.gunicorn(tools, workdir, port, worker_class, threads, _app(app))
        return Server([launch], port, BODIES[app])

    return build


def http_granian(app: str = "hello") -> Builder:
    """granian's WSGI server with its defaults: for WSGI, backpressure 1024 and 512
    blocking threads (GRANIAN_BLOCKING_THREADS), so it runs a blocking app 512 at once."""

    def build(tools: Tools, workdir: Path) -> Server:
        port = servers.free_port()
        return Server([servers.granian(tools, workdir, port, _app(app))], port, BODIES[app])

    return build


def fastcgi_peer(kind: str, keep_conn: bool, app: str = "hello") -> Builder:
    """flup or uWSGI on a FastCGI unix socket behind the same nginx as fcgigate."""

    def build(tools: Tools, workdir: Path) -> Server:
        sock = workdir / f"{kind}.sock"
        start = servers.flup if kind == "flup" else servers.uwsgi
        backend = start(tools, workdir, sock, _app(app))
        port = servers.free_port()
        front = servers.nginx(tools, workdir, port, f"unix:{sock}", keep_conn)
        return Server([backend, front], port, BODIES[app])

    return build


def nginx_alone(tools: Tools, workdir: Path) -> Server:
    """nginx answering by itself (``return 200``, the hello body): the machine's ceiling."""
    port = servers.free_port()
    return Server([servers.nginx(tools, workdir, port, None, role="server")], port, HELLO)


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))
    except OSError:
        return 0


# -- the scenarios

# What ``workers = auto`` gives here: one per CPU the process may run on.
AUTO_WORKERS = len(os.sched_getaffinity(0))

HTTP_HELLO = Scenario(
    name="http-hello",
    title="Hello world over HTTP, 1 worker (and fcgigate with workers = auto)",
    configs=(
        Config(
            "fcgigate-inline",
            "fcgigate inline",
            "fcgigate",
            "fcgigate, workers=1, threads=0",
            http_fcgigate(0),
        ),
        Config(
            "fcgigate-threads8",
            "fcgigate 8 threads",
            "fcgigate",
            "fcgigate, workers=1, threads=8",
            http_fcgigate(8),
        ),
        Config(
            "gunicorn-sync",
            "gunicorn sync",
            "gunicorn",
            "gunicorn --workers 1 --worker-class sync",
            http_gunicorn("sync"),
            ("gunicorn",),
        ),
        Config(
            "gunicorn-gthread8",
            "gunicorn gthread 8",
            "gunicorn",
            "gunicorn --workers 1 --worker-class gthread --threads 8",
            http_gunicorn("gthread", 8),
            ("gunicorn",),
        ),
        Config(
            "granian",
            "granian WSGI",
            "granian",
            "granian --interface wsgi --workers 1 --http 1",
            http_granian(),
            ("granian",),
        ),
        Config(
            "fcgigate-auto",
            "fcgigate workers=auto",
            "fcgigate",
            f"fcgigate, workers=auto ({AUTO_WORKERS} here: one per usable CPU, sharing them with wrk), "
            "threads=0",
            http_fcgigate(0, workers="auto"),
        ),
    ),
    ratios=(
        Ratio("fcgigate inline / granian", "fcgigate-inline", "granian", 1.2),
        Ratio("fcgigate inline / gunicorn sync", "fcgigate-inline", "gunicorn-sync", 8.0),
        Ratio("fcgigate 8 threads / granian", "fcgigate-threads8", "granian", 0.7),
        Ratio("fcgigate 8 threads / gunicorn gthread 8", "fcgigate-threads8", "gunicorn-gthread8"),
        Ratio("fcgigate workers=auto / 1 worker (inline)", "fcgigate-auto", "fcgigate-inline"),
        Ratio("fcgigate workers=auto / granian (1 worker)", "fcgigate-auto", "granian"),
    ),
)

FASTCGI_HELLO = Scenario(
    name="fastcgi-hello",
    title="Hello world over FastCGI behind nginx (1 nginx worker, unix socket, 1 app worker)",
    configs=(
        Config(
            "fcgigate-keepconn",
            "fcgigate keep_conn",
            "fcgigate",
            "fcgigate threads=0; nginx fastcgi_keep_conn on + upstream keepalive",
            fastcgi_fcgigate(True),
            ("nginx",),
        ),
        Config(
            "fcgigate-nokeep",
            "fcgigate no keep_conn",
            "fcgigate",
            "fcgigate threads=0; nginx fastcgi_keep_conn off (a connection per request)",
            fastcgi_fcgigate(False),
            ("nginx",),
        ),
        Config(
            "uwsgi-keepconn",
            "uWSGI keep_conn",
            "uwsgi",
            "uwsgi --master --processes 1 --fastcgi-socket; nginx fastcgi_keep_conn on + keepalive",
            fastcgi_peer("uwsgi", True),
            ("uwsgi", "nginx"),
        ),
        Config(
            "uwsgi-nokeep",
            "uWSGI no keep_conn",
            "uwsgi",
            "uwsgi --master --processes 1 --fastcgi-socket; nginx fastcgi_keep_conn off",
            fastcgi_peer("uwsgi", False),
            ("uwsgi", "nginx"),
        ),
        # flup behind nginx as it was deployed (fastcgi_keep_conn is off by default), as the
        # issue's reference figure was taken. With keep_conn flup is faster on average but
        # starves connections: measured here, p50 3 ms and p99 2.2 s.
        Config(
            "flup",
            "flup threaded",
            "flup",
            "flup.server.fcgi.WSGIServer (threaded); nginx fastcgi_keep_conn off",
            fastcgi_peer("flup", False),
            ("flup", "nginx"),
        ),
        Config(
            "nginx-return200",
            "nginx return 200",
            "nginx",
            'nginx alone: return 200 "Hello, World!" (the ceiling of the machine)',
            nginx_alone,
            ("nginx",),
        ),
    ),
    ratios=(
        Ratio("fcgigate keep_conn / uWSGI keep_conn", "fcgigate-keepconn", "uwsgi-keepconn", 1.2),
        Ratio("fcgigate keep_conn / uWSGI no keep_conn", "fcgigate-keepconn", "uwsgi-nokeep"),
        Ratio("fcgigate no keep_conn / uWSGI no keep_conn", "fcgigate-nokeep", "uwsgi-nokeep", 0.8),
        Ratio("fcgigate keep_conn / flup", "fcgigate-keepconn", "flup", 8.0),
        Ratio("fcgigate keep_conn / nginx return 200", "fcgigate-keepconn", "nginx-return200"),
    ),
)

ACCESS_LOG = Scenario(
    name="access-log",
    title="Access log on vs off (fcgigate HTTP hello, 1 worker, inline)",
    configs=(
        Config(
            "fcgigate-log-off",
            "access log off",
            "fcgigate",
            "fcgigate threads=0, no access_log",
            http_fcgigate(0),
        ),
        Config(
            "fcgigate-log-on",
            "access log on",
            "fcgigate",
            "fcgigate threads=0, access_log = <file> (combined format)",
            http_fcgigate(0, access_log=True),
        ),
    ),
    ratios=(Ratio("access log on / off", "fcgigate-log-on", "fcgigate-log-off", 0.9),),
)

FASTCGI_64K = Scenario(
    name="fastcgi-64k",
    title="A 64 KiB response over FastCGI behind nginx (unix socket, 1 app worker)",
    configs=(
        Config(
            "fcgigate-keepconn",
            "fcgigate keep_conn",
            "fcgigate",
            "fcgigate threads=0, bench.apps:big; nginx fastcgi_keep_conn on + upstream keepalive",
            fastcgi_fcgigate(True, app="big"),
            ("nginx",),
        ),
        Config(
            "fcgigate-nokeep",
            "fcgigate no keep_conn",
            "fcgigate",
            "fcgigate threads=0, bench.apps:big; nginx fastcgi_keep_conn off",
            fastcgi_fcgigate(False, app="big"),
            ("nginx",),
        ),
        Config(
            "uwsgi-keepconn",
            "uWSGI keep_conn",
            "uwsgi",
            "uwsgi --fastcgi-socket, bench.apps:big; nginx fastcgi_keep_conn on + keepalive",
            fastcgi_peer("uwsgi", True, app="big"),
            ("uwsgi", "nginx"),
        ),
        Config(
            "uwsgi-nokeep",
            "uWSGI no keep_conn",
            "uwsgi",
            "uwsgi --fastcgi-socket, bench.apps:big; nginx fastcgi_keep_conn off",
            fastcgi_peer("uwsgi", False, app="big"),
            ("uwsgi", "nginx"),
        ),
    ),
    ratios=(
        Ratio("fcgigate keep_conn / uWSGI keep_conn", "fcgigate-keepconn", "uwsgi-keepconn", 1.0),
        Ratio("fcgigate keep_conn / uWSGI no keep_conn", "fcgigate-keepconn", "uwsgi-nokeep"),
        Ratio("fcgigate no keep_conn / uWSGI no keep_conn", "fcgigate-nokeep", "uwsgi-nokeep"),
    ),
)

UPLOAD_1M = Scenario(
    name="upload-1m",
    title="A 1 MiB upload (POST; the app reads wsgi.input to its end and answers its length), 1 worker",
    configs=(
        Config(
            "fcgigate-fastcgi",
            "fcgigate FastCGI keep_conn",
            "fcgigate",
            "fcgigate threads=0, bench.apps:upload; nginx fastcgi_keep_conn on + upstream keepalive "
            "(nginx buffers the body first: client_body_buffer_size 16k, so in a temporary file)",
            fastcgi_fcgigate(True, app="upload"),
            ("nginx",),
        ),
        Config(
            "fcgigate-http",
            "fcgigate HTTP",
            "fcgigate",
            "fcgigate threads=0, bench.apps:upload, HTTP direct (inline, the whole body is received "
            "before the app runs: in memory up to body_memory_limit = 1m)",
            http_fcgigate(0, app="upload"),
        ),
        Config(
            "fcgigate-http-t32",
            "fcgigate HTTP 32 threads",
            "fcgigate",
            "fcgigate threads=32, bench.apps:upload, HTTP direct (the app thread reads the body as it "
            "arrives, the socket paused past body_memory_limit)",
            http_fcgigate(32, app="upload"),
            full_only=True,
        ),
        # uWSGI as it must be deployed: it ignores FCGI_KEEP_CONN and closes every
        # connection, so nginx's kept connections only add upstream errors (fastcgi-hello).
        Config(
            "uwsgi-fastcgi",
            "uWSGI FastCGI",
            "uwsgi",
            "uwsgi --fastcgi-socket, bench.apps:upload; nginx fastcgi_keep_conn off. Its log errors are "
            "the uploads wrk cuts short when it stops (about one per connection): uWSGI logs a traceback "
            "for each, fcgigate and gunicorn nothing",
            fastcgi_peer("uwsgi", False, app="upload"),
            ("uwsgi", "nginx"),
        ),
        Config(
            "gunicorn-sync",
            "gunicorn sync",
            "gunicorn",
            "gunicorn --workers 1 --worker-class sync, bench.apps:upload, HTTP direct",
            http_gunicorn("sync", app="upload"),
            ("gunicorn",),
        ),
    ),
    load=Load(method="POST", body_size=1 << 20),
    ratios=(
        Ratio("fcgigate FastCGI keep_conn / uWSGI FastCGI", "fcgigate-fastcgi", "uwsgi-fastcgi"),
        Ratio("fcgigate HTTP / gunicorn sync", "fcgigate-http", "gunicorn-sync"),
        Ratio("fcgigate HTTP / fcgigate FastCGI via nginx", "fcgigate-http", "fcgigate-fastcgi"),
        Ratio("fcgigate HTTP 32 threads / inline", "fcgigate-http-t32", "fcgigate-http"),
    ),
    checks=(
        Check(
            "fcgigate FastCGI: errors (a wrong length answers 400)",
            "fcgigate-fastcgi",
            "errors_total",
            0,
            "<=",
        ),
        Check("fcgigate HTTP: errors (a wrong length answers 400)", "fcgigate-http", "errors_total", 0, "<="),
    ),
    timing={"full": (10.0, 2.0)},
)


# -- an app that blocks 10 ms per request: the thread pool

# fcgigate's pool sizes to compare, to choose the default of `threads` from; the
# quick run keeps 32 and 64 and the peers the targets name (gunicorn gthread 4
# at 50 connections, granian at 200); FULL=1 adds 8 and 128, gunicorn gthread 64, and
# the other peer at each count.
THREAD_COUNTS = (8, 32, 64, 128, 256)
QUICK_THREAD_COUNTS = (32, 64, 256)
GTHREAD_THREADS = 4  # the reference: gunicorn gthread with 4 threads
GTHREAD_SAME = 64  # and gthread with as many threads as one of fcgigate's pools
GRANIAN_BLOCKING_THREADS = 512  # granian's default for WSGI (see http_granian)


def _sleep_configs(connections: int) -> tuple[Config, ...]:
    configs = [
        Config(
            f"fcgigate-t{threads}",
            f"fcgigate {threads} threads",
            "fcgigate",
            f"fcgigate workers=1, threads={threads}, bench.apps:sleep10ms",
            http_fcgigate(threads, app="sleep10ms"),
            concurrency=threads,
            full_only=threads not in QUICK_THREAD_COUNTS,
        )
        for threads in THREAD_COUNTS
    ]
    configs += [
        Config(
            f"gunicorn-gthread{GTHREAD_THREADS}",
            f"gunicorn gthread {GTHREAD_THREADS}",
            "gunicorn",
            f"gunicorn --workers 1 --worker-class gthread --threads {GTHREAD_THREADS}, bench.apps:sleep10ms",
            http_gunicorn("gthread", GTHREAD_THREADS, app="sleep10ms"),
            ("gunicorn",),
            concurrency=GTHREAD_THREADS,
            full_only=connections > 50,
        ),
        Config(
            f"gunicorn-gthread{GTHREAD_SAME}",
            f"gunicorn gthread {GTHREAD_SAME}",
            "gunicorn",
            f"gunicorn --workers 1 --worker-class gthread --threads {GTHREAD_SAME}, bench.apps:sleep10ms",
            http_gunicorn("gthread", GTHREAD_SAME, app="sleep10ms"),
            ("gunicorn",),
            concurrency=GTHREAD_SAME,
            full_only=True,
        ),
        Config(
            "granian",
            "granian WSGI",
            "granian",
            "granian --interface wsgi --workers 1 --http 1 (512 blocking threads, its WSGI default), "
            "bench.apps:sleep10ms",
            http_granian(app="sleep10ms"),
            ("granian",),
            concurrency=GRANIAN_BLOCKING_THREADS,
            full_only=connections <= 50,
        ),
    ]
    return tuple(configs)


def _sleep_scenario(connections: int, p99_under_ms: float) -> Scenario:
    """The 10 ms app at ``connections``: every pool size against its limit, the issue's
    ratios (50 connections: 10x gunicorn gthread 4; 200: 0.8x granian) and p99."""
    limit = round(connections / BLOCK_S)
    ratios: list[Ratio] = []
    checks: list[Check] = []
    for threads in THREAD_COUNTS:
        name = f"fcgigate-t{threads}"
        if connections <= 50:
            ratios.append(
                Ratio(
                    f"fcgigate {threads} threads / gunicorn gthread {GTHREAD_THREADS}",
                    name,
                    f"gunicorn-gthread{GTHREAD_THREADS}",
                    10.0,
                )
            )
            checks.append(
                Check(
                    f"fcgigate {threads} threads: share of the {limit:,} req/s limit",
                    name,
                    "conn_limit_pct",
                    95.0,
                )
            )
        else:
            ratios.append(Ratio(f"fcgigate {threads} threads / granian", name, "granian", 0.8))
            checks.append(
                Check(
                    f"fcgigate {threads} threads: share of the {limit:,} req/s limit", name, "conn_limit_pct"
                )
            )
        checks.append(Check(f"fcgigate {threads} threads: p99 ms", name, "p99_ms", p99_under_ms, "<"))
    ratios.append(
        Ratio(
            f"fcgigate {GTHREAD_SAME} threads / gunicorn gthread {GTHREAD_SAME}",
            f"fcgigate-t{GTHREAD_SAME}",
            f"gunicorn-gthread{GTHREAD_SAME}",
        )
    )
    if connections <= 50:
        ratios.append(
            Ratio(f"fcgigate {GTHREAD_SAME} threads / granian", f"fcgigate-t{GTHREAD_SAME}", "granian")
        )
    checks.append(Check(f"granian: share of the {limit:,} req/s limit", "granian", "conn_limit_pct"))
    return Scenario(
        name=f"sleep10ms-c{connections}",
        title=f"An app that blocks 10 ms per request (time.sleep), 1 worker, {connections} connections "
        f"(limit {limit:,} req/s; 100 req/s per thread)",
        configs=_sleep_configs(connections),
        load=Load(connections=connections),
        ratios=tuple(ratios),
        checks=tuple(checks),
        # No warm-up: the pool's threads start with the first requests, in milliseconds.
        timing={"quick": (3.0, 0.0), "full": (10.0, 0.0)},
        block_s=BLOCK_S,
        columns=("limit_rps", "limit_pct", "conn_limit_pct"),
    )


SLEEP_C50 = _sleep_scenario(50, 20.0)
SLEEP_C200 = _sleep_scenario(200, 40.0)


# -- many connections

KEEPALIVE_CONNECTIONS = 1000

KEEPALIVE_1000 = Scenario(
    name="keepalive-1000",
    title=f"{KEEPALIVE_CONNECTIONS:,} concurrent keep-alive connections (HTTP hello, 1 worker)",
    configs=(
        Config(
            "fcgigate-inline",
            "fcgigate inline",
            "fcgigate",
            "fcgigate, workers=1, threads=0 (max_connections 1024, the default)",
            http_fcgigate(0),
        ),
        Config(
            "fcgigate-threads32",
            "fcgigate 32 threads",
            "fcgigate",
            "fcgigate, workers=1, threads=32 (max_connections 1024, the default)",
            http_fcgigate(32),
        ),
        Config(
            "gunicorn-gthread32",
            "gunicorn gthread 32",
            "gunicorn",
            "gunicorn --workers 1 --worker-class gthread --threads 32 (worker_connections 1000, the default)",
            http_gunicorn("gthread", 32),
            ("gunicorn",),
            full_only=True,
        ),
        Config(
            "granian",
            "granian WSGI",
            "granian",
            "granian --interface wsgi --workers 1 --http 1 (backpressure 1024, the default)",
            http_granian(),
            ("granian",),
        ),
    ),
    load=Load(connections=KEEPALIVE_CONNECTIONS),
    ratios=(
        Ratio("fcgigate inline / granian", "fcgigate-inline", "granian"),
        Ratio("fcgigate 32 threads / gunicorn gthread 32", "fcgigate-threads32", "gunicorn-gthread32"),
    ),
    checks=(
        Check("fcgigate inline: errors", "fcgigate-inline", "errors_total", 0, "<="),
        Check("fcgigate 32 threads: errors", "fcgigate-threads32", "errors_total", 0, "<="),
        # In-flight (req/s x mean latency) is reported, not judged: in a closed loop it is
        # the connections that were being answered (Little's law), so a connection that
        # waited the whole run (neither answered nor, in a run shorter than wrk's 5 s
        # timeout, timed out) lowers it, but so does a load generator that cannot keep
        # up (nginx alone: about 75% here); and wrk corrects its latencies for
        # coordinated omission before done() sees them, which raises the mean of a
        # long-tailed distribution past the connections (bench/README.md).
        Check("fcgigate inline: in-flight / connections", "fcgigate-inline", "in_flight_pct"),
        Check("fcgigate 32 threads: in-flight / connections", "fcgigate-threads32", "in_flight_pct"),
        Check("gunicorn gthread 32: in-flight / connections", "gunicorn-gthread32", "in_flight_pct"),
        Check("granian: in-flight / connections", "granian", "in_flight_pct"),
    ),
    # No warm-up: its 1,000 connections would still be closing when the measured run
    # opens its own (past max_connections, which is 1,024).
    timing={"quick": (3.0, 0.0), "full": (10.0, 0.0)},
    columns=("in_flight", "in_flight_pct", "p999_ms", "max_ms"),
)

IDLE_CONNECTIONS = 10_000
# max_connections for the idle scenario: the default (1024) would stop accepting
# there (the rest wait in the listen backlog); --idle may not pass it.
IDLE_MAX_CONNECTIONS = 60_000
# The default keepalive_timeout (5 s) would close the idle connections: that is what
# it is for. Held open here for the whole run.
IDLE_KEEPALIVE_S = 600


def _idle_fcgigate(threads: int) -> Builder:
    return http_fcgigate(threads, max_connections=IDLE_MAX_CONNECTIONS, keepalive_timeout=IDLE_KEEPALIVE_S)


IDLE_10K = Scenario(
    name="idle-10k",
    title=f"Idle keep-alive connections ({IDLE_CONNECTIONS:,} unless --idle says otherwise) held open "
    "while wrk measures an active client (HTTP hello, 1 worker)",
    configs=(
        Config(
            "fcgigate-inline",
            "fcgigate inline",
            "fcgigate",
            f"fcgigate, workers=1, threads=0, max_connections={IDLE_MAX_CONNECTIONS}, "
            f"keepalive_timeout={IDLE_KEEPALIVE_S}",
            _idle_fcgigate(0),
        ),
        Config(
            "fcgigate-threads32",
            "fcgigate 32 threads",
            "fcgigate",
            f"fcgigate, workers=1, threads=32, max_connections={IDLE_MAX_CONNECTIONS}, "
            f"keepalive_timeout={IDLE_KEEPALIVE_S} (an idle connection must not hold a thread)",
            _idle_fcgigate(32),
        ),
    ),
    load=Load(idle=IDLE_CONNECTIONS),
    checks=(
        Check("fcgigate inline: p99 with / without idle", "fcgigate-inline", "p99_idle_ratio", 2.0, "<="),
        Check(
            "fcgigate inline: RSS KiB per idle connection", "fcgigate-inline", "rss_per_idle_kib", 10.0, "<="
        ),
        Check(
            "fcgigate inline: errors (idle ones lost included)", "fcgigate-inline", "errors_total", 0, "<="
        ),
        Check(
            "fcgigate 32 threads: p99 with / without idle", "fcgigate-threads32", "p99_idle_ratio", 2.0, "<="
        ),
        Check(
            "fcgigate 32 threads: RSS KiB per idle connection",
            "fcgigate-threads32",
            "rss_per_idle_kib",
            10.0,
            "<=",
        ),
        Check(
            "fcgigate 32 threads: errors (idle ones lost included)",
            "fcgigate-threads32",
            "errors_total",
            0,
            "<=",
        ),
    ),
    # Each run measures twice (without, then with the idle connections): 2 s each in
    # the quick run, where 10,000 connections also take about 3.5 s to open and check.
    timing={"quick": (2.0, 1.0), "full": (10.0, 2.0)},
    columns=("p99_without_idle_ms", "p99_idle_ratio", "max_ms", "rss_per_idle_kib", "idle_alive"),
)


SCENARIOS: tuple[Scenario, ...] = (
    HTTP_HELLO,
    FASTCGI_HELLO,
    FASTCGI_64K,
    ACCESS_LOG,
    UPLOAD_1M,
    SLEEP_C50,
    SLEEP_C200,
    KEEPALIVE_1000,
    IDLE_10K,
)
