"""The scenarios: each is a list of server configurations and one way to load them.

A ``Config`` names what is measured (``peer``), what it needs on the machine
(``needs``: peers from the virtualenv, nginx) and how to build its ``Server`` in
a fresh directory. A ``Scenario`` adds the wrk load (``Load``: path, Lua,
connections) and the ``Ratio``s the report shows, with the issue's targets. A
new scenario (a 64 KiB response, a 1 MiB upload, a 10 ms app) is a new app in
bench/apps.py, perhaps a ``Load`` with Lua, and an entry in ``SCENARIOS``.

Config names are unique within a scenario; the same server configuration may
appear in several scenarios (the access-log scenario measures its own "off"
beside its "on", so that the two are always measured next to each other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.apps import BODIES, HELLO
from bench.load import Load
from bench.servers import Server, Tools

Builder = Callable[[Tools, Path], Server]


@dataclass(frozen=True)
class Config:
    name: str
    label: str  # short, for the chart
    peer: str  # whose server is measured: fcgigate, gunicorn, granian, flup, uwsgi or nginx
    describe: str  # exactly what runs, for the report
    build: Builder
    needs: tuple[str, ...] = ()  # peers (installed in bench/.peers) and "nginx"


@dataclass(frozen=True)
class Ratio:
    """numerator's req/s over denominator's, per round (both measured in it), then
    the median of those: a ratio from one round cancels what drifted between rounds."""

    label: str
    numerator: str
    denominator: str
    target: float | None = None  # the "at least"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    configs: tuple[Config, ...]
    load: Load = field(default_factory=Load)
    ratios: tuple[Ratio, ...] = ()

    def config(self, name: str) -> Config:
        return next(config for config in self.configs if config.name == name)


# -- builders (``app`` names a function of bench/apps.py)


def _app(name: str) -> str:
    return f"bench.apps:{name}"


def http_fcgigate(threads: int = 0, access_log: bool = False, app: str = "hello") -> Builder:
    """fcgigate over HTTP on a free port, 1 worker; with ``access_log``, the default
    (combined) format to a file in the run's directory."""

    def build(tools: Tools, workdir: Path) -> Server:
        port = servers.free_port()
        settings: dict[str, object] = {"threads": threads}
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

HTTP_HELLO = Scenario(
    name="http-hello",
    title="Hello world over HTTP, 1 worker",
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
    ),
    ratios=(
        Ratio("fcgigate inline / granian", "fcgigate-inline", "granian", 1.2),
        Ratio("fcgigate inline / gunicorn sync", "fcgigate-inline", "gunicorn-sync", 8.0),
        Ratio("fcgigate 8 threads / granian", "fcgigate-threads8", "granian", 0.7),
        Ratio("fcgigate 8 threads / gunicorn gthread 8", "fcgigate-threads8", "gunicorn-gthread8"),
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

SCENARIOS: tuple[Scenario, ...] = (HTTP_HELLO, FASTCGI_HELLO, FASTCGI_64K, ACCESS_LOG)
