"""flup's FastCGI ``WSGIServer``, served by fcgigate: the change is one import line.

In the program, ``from flup.server.fcgi import WSGIServer`` becomes::

    from fcgigate.compat.flup import WSGIServer

    WSGIServer(app, bindAddress="/run/app.sock").run()

(fcgigate itself never imports flup.)

Rule 1: the constructor only checks and records its arguments. It binds no socket,
creates no event loop and starts no thread. flup's constructor starts its thread pool
(``ThreadPool.__init__`` in flup/server/threadpool.py), so code that builds the server,
then daemonizes (python-daemon's ``DaemonContext``, twistd), then calls ``run()`` loses
those threads in the fork: the daemon accepts connections and never answers them.
Here everything that belongs to a process (the socket, the loop, the pool) is made by
``run()``, in the process that serves. flup binds in ``run()`` too (``_setupSocket``),
so binding after daemonizing is flup's behaviour, kept.

Rule 2: ``run()`` serves in the calling process, with no master and no fork, through
fcgigate's :class:`~fcgigate.worker.Worker`: its event loop, FastCGI glue, thread pool
(created on the first request) and graceful stop. Like flup's, it returns on SIGTERM,
SIGINT or SIGHUP, True for SIGHUP ("restart me") and False otherwise, and puts back the
signal handlers it found.

Rule 3: an argument is supported, or refused with the reason and what to do instead;
never silently ignored. A value equal to flup's default (``roles=(FCGI_RESPONDER,)``,
``forceCGI=False``) is accepted, since it asks for nothing. docs/migrating-from-flup.md
has the whole table.
"""

from __future__ import annotations

import difflib
import errno
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from fcgigate import logs, sockets
from fcgigate.config import SETTINGS, SETTINGS_BY_NAME, Config, as_app, parse_bind_url
from fcgigate.loops import new_event_loop
from fcgigate.worker import Worker

__all__ = ["FCGI_RESPONDER", "WSGIServer", "with_environ"]

error_log = logging.getLogger("fcgigate.error")

# The FastCGI spec's names, as flup.server.fcgi_base spells them.
FCGI_RESPONDER = 1
FCGI_LISTENSOCK_FILENO = 0  # where a web server that spawns the app puts the listening socket

# flup's ThreadPool defaults (flup/server/threadpool.py): no limit on threads.
FLUP_MIN_SPARE = 1
FLUP_MAX_SPARE = 5
FLUP_MAX_THREADS = sys.maxsize

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Every disposition run() may change: the stop signals, and those the worker's loop
# handles (QUIT: fast stop; USR1: reopen logs; USR2: slow-request stacks). All are put
# back when run() returns, as flup puts back its three.
TOUCHED_SIGNALS = (*STOP_SIGNALS, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)

_SOURCE = "fcgigate.compat.flup.WSGIServer"
_CLI = "run `fcgigate -c FILE` (docs/migrating-from-flup.md)"

# Keyword arguments of flup's other servers and internals: each refused with what to do.
REFUSED = {
    "maxChildren": f"is flup's preforking server's (fcgi_fork); this WSGIServer serves in one process. "
    f"For several processes, {_CLI} with `workers = N`",
    "maxRequests": f"is flup's preforking server's (fcgi_fork): recycling a process needs a master to start "
    f"its replacement, and run() has none. {_CLI} with `max_requests = N`",
    "timeout": f"is flup's preforking server's per-request alarm (fcgi_fork). {_CLI} with "
    "`request_terminate_timeout`, which answers 504 and recycles the worker",
    "sockTimeout": "is flup's preforking server's socket timeout; fcgigate already times out idle and slow "
    "connections (`idle_timeout`, `header_timeout`, `body_timeout`)",
    "jobClass": "is the connection class of flup's thread pool, an internal; fcgigate has its own FastCGI "
    "connection and cannot run flup's",
    "jobArgs": "is the argument tuple of flup's connection class, an internal; fcgigate has its own FastCGI "
    "connection and cannot run flup's",
}
_KNOWN = (
    "application", "environ", "multithreaded", "multiprocess", "bindAddress", "umask", "multiplexed",
    "debug", "roles", "forceCGI", "minSpare", "maxSpare", "maxThreads",
)  # fmt: skip


def _count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"WSGIServer(): {name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"WSGIServer(): {name} must be >= {minimum}, got {value!r}")
    return value


def _check_address(address: object) -> str | None:
    """Check flup's ``bindAddress``; the fcgigate bind URL of a (host, port) tuple, None
    for a unix path (made absolute in run(), against the working directory of that
    moment, where flup's ``bind()`` would put it) or for None (fd 0)."""
    if address is None:
        return None
    if isinstance(address, os.PathLike):
        address = os.fspath(address)
    if isinstance(address, str):
        if not address or "\0" in address:
            raise ValueError(f"WSGIServer(): bindAddress must be a unix socket path, got {address!r}")
        return None
    if isinstance(address, tuple) and len(address) == 2:
        host, port = address
        if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
            host = host or "0.0.0.0"  # flup's '' binds every IPv4 address (INADDR_ANY)
            url = f"fastcgi://[{host}]:{port}" if ":" in host else f"fastcgi://{host}:{port}"
            try:
                return parse_bind_url(url).url
            except ValueError as exc:
                raise ValueError(f"WSGIServer(): bindAddress {address!r}: {exc}") from None
    raise TypeError(
        "WSGIServer(): bindAddress must be a (host, port) tuple, a unix socket path or None "
        f"(the listening socket on fd 0), got {address!r}"
    )


class WSGIServer:
    """flup's ``flup.server.fcgi.WSGIServer``, same arguments, served by fcgigate.

    Supported: ``application``; ``environ`` (entries put into every request's environ
    over the web server's params, as flup does; the server's own ``wsgi.*`` keys win);
    ``multithreaded`` (False: the app is called inline on the event loop, one request at
    a time, where flup serialised it with a lock); ``multiprocess`` (``wsgi.multiprocess``);
    ``bindAddress`` ((host, port), a unix socket path, or None for a listening socket
    handed over on fd 0); ``umask`` (the unix socket's file gets 0777 minus it; None: the
    process umask when run() binds, as flup); ``multiplexed`` (several requests at once on
    one connection; False answers a second one FCGI_CANT_MPX_CONN, as flup);
    ``maxThreads`` (the pool's size: fcgigate's ``threads``; flup's default, no limit,
    becomes the most requests fcgigate can have in flight); ``minSpare`` (flup's floor
    under maxThreads); ``maxSpare`` (accepted: fcgigate's pool starts threads when
    requests need them and keeps them, it neither pre-starts nor retires idle ones);
    ``debug`` (fcgigate never puts a traceback in a response: it shows your code and
    settings to whoever triggers it; the traceback always goes to the error log, and
    debug=True turns that log's level to debug).

    Refused, with the reason: ``roles`` other than (FCGI_RESPONDER,), ``forceCGI=True``,
    flup's preforking arguments (:data:`REFUSED`) and any other keyword.
    """

    def __init__(
        self,
        application: Callable[..., Any],
        environ: Mapping[str, Any] | None = None,
        multithreaded: bool = True,
        multiprocess: bool = False,
        bindAddress: tuple[str, int] | str | os.PathLike[str] | None = None,  # noqa: N803 - flup's names
        umask: int | None = None,
        multiplexed: bool = False,
        debug: bool = False,
        roles: tuple[int, ...] = (FCGI_RESPONDER,),
        forceCGI: bool = False,  # noqa: N803
        **kw: Any,
    ) -> None:
        if not callable(application):
            raise TypeError(f"WSGIServer(): application must be a WSGI callable, got {application!r}")
        if environ is None:
            environ = {}
        if not isinstance(environ, Mapping) or not all(isinstance(key, str) for key in environ):
            raise TypeError(f"WSGIServer(): environ must be a mapping with str keys, got {environ!r}")
        if umask is not None:
            umask = _count("umask", umask, 0)
            if umask > 0o777:
                raise ValueError(f"WSGIServer(): umask must be at most 0o777, got {oct(umask)}")
        try:
            wanted_roles = set(roles)
        except TypeError:
            raise TypeError(f"WSGIServer(): roles must be a tuple of FastCGI roles, got {roles!r}") from None
        if wanted_roles != {FCGI_RESPONDER}:
            raise ValueError(
                f"WSGIServer(): roles={roles!r} is not supported: fcgigate is a FastCGI responder only "
                "(FCGI_RESPONDER = 1); the authorizer and filter roles are answered FCGI_UNKNOWN_ROLE. "
                "Leave roles out"
            )
        if forceCGI:
            raise ValueError(
                "WSGIServer(): forceCGI=True is not supported: fcgigate serves FastCGI only, never a CGI "
                "request on stdin. Run the app under a CGI gateway (wsgiref.handlers.CGIHandler) instead"
            )
        for name in kw:
            if name in REFUSED:
                raise TypeError(f"WSGIServer(): {name} is not supported: it {REFUSED[name]}")
            if name not in ("minSpare", "maxSpare", "maxThreads"):
                close = difflib.get_close_matches(name, [*_KNOWN, *REFUSED], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(f"WSGIServer() got an unexpected keyword argument {name!r}{hint}")
        self.minSpare = _count("minSpare", kw.get("minSpare", FLUP_MIN_SPARE), 0)
        self.maxSpare = _count("maxSpare", kw.get("maxSpare", FLUP_MAX_SPARE), 0)
        self.maxThreads = _count("maxThreads", kw.get("maxThreads", FLUP_MAX_THREADS), 0)
        if multithreaded and max(self.minSpare, self.maxThreads) < 1:
            raise ValueError(
                "WSGIServer(): maxThreads=0 leaves no thread to call the app; for one request at a time "
                "pass multithreaded=False"
            )
        self._tcp_url = _check_address(bindAddress)
        # flup's public attributes, for code that reads them back.
        self.application = application
        self.environ = environ
        self.multithreaded = bool(multithreaded)
        self.multiprocess = bool(multiprocess)
        self.debug = bool(debug)
        self.roles = roles
        self.forceCGI = False
        self.bindAddress = bindAddress
        self.umask = umask
        self.multiplexed = bool(multiplexed)

    # -- what it maps to

    def settings(self) -> dict[str, Any]:
        """fcgigate's setting values for these arguments (``bind`` aside: the listener is
        made by run()). Pure: computing them touches nothing."""
        per_connection = SETTINGS_BY_NAME["fastcgi_max_concurrent_requests"].default
        if not self.multiplexed:
            per_connection = 1  # FCGI_MPXS_CONNS=0; a second request gets FCGI_CANT_MPX_CONN
        max_connections = SETTINGS_BY_NAME["max_connections"].default
        if self.multithreaded:
            # Like flup's pool, fcgigate's starts a thread only when every one is busy, so
            # a cap above the requests that can be in flight at once never changes a thing:
            # that is what flup's "no limit" comes to.
            threads = min(max(self.minSpare, self.maxThreads), max_connections * per_connection)
        else:
            threads = 0
        return {
            "app": _label(self.application),
            "threads": threads,
            "fastcgi_max_concurrent_requests": per_connection,
            "max_connections": max_connections,
            # No master runs here to start a replacement: a worker that recycles would
            # stop run() itself. flup has neither limit.
            "request_terminate_timeout": 0,
            "max_requests": 0,
            # The master is what signals an inline worker whose loop a request blocks.
            "slow_request_timeout": SETTINGS_BY_NAME["slow_request_timeout"].default if threads else 0,
            "log_level": "debug" if self.debug else "info",
        }

    def build_config(self, bind_url: str | None = None) -> Config:
        """The effective fcgigate configuration run() serves with; ``bind_url`` is the
        listener's (run() knows it once bound), by default the (host, port) given."""
        values = {setting.name: setting.default for setting in SETTINGS}
        sources = dict.fromkeys(values, "default")
        chosen = self.settings()
        bind_url = bind_url or self._tcp_url
        if bind_url is not None:
            try:
                chosen["bind"] = parse_bind_url(bind_url).url
            except ValueError:  # an inherited socket fcgigate could not bind itself (abstract...)
                pass
        for name, value in chosen.items():
            values[name] = SETTINGS_BY_NAME[name].parse(value)
            sources[name] = _SOURCE
        return Config(values, sources)

    # -- serving

    def run(self) -> bool:
        """Bind, serve until SIGTERM, SIGINT or SIGHUP, and return True for SIGHUP.

        Everything is made here, in the calling process: the listening socket, the
        event loop, and (on the first request) the thread pool. Stopping is graceful:
        no new connection is accepted, and requests in flight get ``graceful_timeout``
        (30 s) to finish, where flup waits for its threads without a limit. SIGQUIT
        stops at once and returns False. A unix socket this run created is removed.
        Must be called from the main thread (signal handlers live there).
        """
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "WSGIServer.run() must be called from the main thread: it handles SIGTERM, SIGINT and "
                "SIGHUP, as flup's does"
            )
        if os.environ.get("FCGI_WEB_SERVER_ADDRS"):
            raise ValueError(
                "FCGI_WEB_SERVER_ADDRS is set, and fcgigate does not filter FastCGI clients by address: "
                "bind to 127.0.0.1 or a unix socket (and let the socket's mode decide who connects), "
                "then unset it"
            )
        saved = {sig: signal.getsignal(sig) for sig in TOUCHED_SIGNALS}
        early: list[int] = []  # stop signals that arrive before the loop's handlers take over

        def record(signum: int, frame: Any) -> None:
            early.append(signum)

        for sig in STOP_SIGNALS:
            signal.signal(sig, record)
        wakeup_fd = signal.set_wakeup_fd(-1)
        listener: socket.socket | None = None
        created = False
        try:
            _open_stdio()
            listener, url, created = self._listen()
            config = self.build_config(url)
            self._configure_logging()
            app = with_environ(self.application, self.environ, self.multiprocess)
            worker = _InProcessWorker(config, [(listener, url)], app, early)
            return worker.serve()
        finally:
            signal.set_wakeup_fd(wakeup_fd)
            for sig, handler in saved.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            if listener is not None:
                sockets.close(listener, unlink=created)

    def _listen(self) -> tuple[socket.socket, str, bool]:
        """The listening socket, made now as flup's ``_setupSocket`` does in run():
        (socket, its URL, whether this run created its file)."""
        backlog = SETTINGS_BY_NAME["backlog"].default
        if self.bindAddress is None:
            sock = _inherited_listener()
            return sock, sockets.describe(sock), False
        if self._tcp_url is not None:
            sock = sockets.bind(parse_bind_url(self._tcp_url), backlog)
            return sock, sockets.describe(sock), False  # the real port, if 0 was asked
        # Made absolute against the working directory of now, as flup's bind() would be.
        address = parse_bind_url(f"fastcgi+unix://{os.path.abspath(os.fspath(self.bindAddress))}")
        mask = self.umask if self.umask is not None else _process_umask()
        return sockets.bind(address, backlog, mode=0o777 & ~mask), address.url, True

    def _configure_logging(self) -> None:
        """fcgigate's error log, on stderr, unless the program set up logging itself (then
        fcgigate's records reach its handlers). Done here, not in the constructor: after
        daemonizing, stderr is whatever the daemon made of it."""
        package = logging.getLogger("fcgigate")
        if not package.handlers and not logging.getLogger().handlers:
            logs.configure("-", "debug" if self.debug else "info")
        elif self.debug:
            package.setLevel(logging.DEBUG)
        if self.debug:
            error_log.info(
                "debug=True: tracebacks of the app's errors go to this log, never into a response "
                "(the client gets a plain 500)"
            )


def with_environ(application: Callable[..., Any], extra: Mapping[str, Any], multiprocess: bool) -> Any:
    """``application`` with flup's ``environ`` and ``multiprocess`` arguments applied.

    flup updates each request's environ with its ``environ`` argument (so an entry
    there overrides a param of the web server's of the same name), then sets its own
    ``wsgi.*`` keys; fcgigate's keys win the same way here. ``extra`` is copied now.
    """
    extra = dict(extra)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        server = {key: environ[key] for key in extra if key.startswith("wsgi.") and key in environ}
        environ.update(extra)
        environ.update(server)
        environ["wsgi.multiprocess"] = multiprocess
        return application(environ, start_response)

    return app


class _InProcessWorker(Worker):
    """fcgigate's worker, serving in the caller's process the way flup's run() does.

    No master: no scoreboard slot, no master to watch, no process title, no change to
    signal dispositions before the loop's own. SIGINT is graceful here (flup lets
    running requests finish on SIGINT as on SIGTERM) and SIGHUP stops too, remembered
    as :attr:`hup`.
    """

    def __init__(
        self, config: Config, listeners: list[tuple[socket.socket, str]], app: Any, early: list[int]
    ) -> None:
        super().__init__(config, listeners, app)
        self.early = early
        self.hup = False

    def serve(self) -> bool:
        """Serve until a stop signal; True if it was SIGHUP."""
        self.loop = loop = new_event_loop(self.config.loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()
        return self.hup

    async def _tick(self) -> None:
        # Worker._serve schedules this once its signal handlers are installed and its
        # listeners accept: the moment to make SIGINT graceful and SIGHUP a stop, and to
        # act on a stop signal that came before. (Installing ours before _serve would not
        # do: it installs SIGINT as a fast stop.)
        self.loop.add_signal_handler(signal.SIGINT, self._request_stop, "graceful")
        self.loop.add_signal_handler(signal.SIGHUP, self._hangup)
        for signum in self.early:
            if signum == signal.SIGHUP:
                self._hangup()
            else:
                self._request_stop("graceful")
        await super()._tick()

    def _hangup(self) -> None:
        if self._stop is not None and not self._stop.done():
            self.hup = True  # the first stop signal decides what run() returns
        self._request_stop("graceful")


def _label(application: Any) -> str | None:
    """``module:name`` of a function or class, for the log's "serving ..." line."""
    module = getattr(application, "__module__", None)
    name = getattr(application, "__qualname__", None)
    try:
        return as_app(f"{module}:{name}")
    except ValueError:
        return None  # an instance (Flask(...)): no import path names it


def _process_umask() -> int:
    """The process umask: what the kernel applies to flup's unix socket when umask is None.

    Reading it means setting it (there is no os.getumask before Python 3.13); the
    window between the two calls is where another thread creating a file would get
    the wrong mode, hence /proc first.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _open_stdio() -> None:
    """Put /dev/null on whichever of fds 0-2 is closed, as a daemon does.

    A web server that spawns a FastCGI app (``cgi-fcgi -start``, spawn-fcgi) may close
    stdout and stderr. The next descriptor opened then takes their number: the event
    loop's epoll, say, which libuv (uvloop) then aborts the process rather than close
    (it asserts every descriptor it closes is above 2), and where stderr logging lands.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: fd, as those below are open
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _inherited_listener() -> socket.socket:
    """bindAddress=None: the listening socket a web server handed over on fd 0, as
    flup uses it (mod_fcgid, spawn-fcgi, ``cgi-fcgi -start``). flup falls back to
    serving one CGI request when fd 0 is not a socket; fcgigate refuses instead."""
    instead = (
        "pass bindAddress=('127.0.0.1', 9000) or a unix socket path, or start the app the way a web "
        "server spawns FastCGI apps (spawn-fcgi, cgi-fcgi -start), with the listening socket on fd 0"
    )
    if os.environ.get("FCGI_FORCE_CGI", "N").upper().startswith("Y"):
        raise ValueError(
            f"FCGI_FORCE_CGI is set: fcgigate serves FastCGI only, never CGI; unset it and {instead}"
        )
    try:
        # A copy, so that fd 0 itself stays open (closing it would free the number for the
        # next file), above stdio (libuv aborts rather than close a descriptor below 3).
        fd = fcntl.fcntl(FCGI_LISTENSOCK_FILENO, fcntl.F_DUPFD_CLOEXEC, 3)
    except OSError as exc:
        raise sockets.BindError(exc.errno, f"bindAddress=None, but fd 0 is closed; {instead}") from None
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        os.close(fd)
        what = "not a socket" if exc.errno == errno.ENOTSOCK else exc.strerror
        raise sockets.BindError(
            exc.errno, f"bindAddress=None, but fd 0 is {what} (flup would serve one CGI request); {instead}"
        ) from None
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.close()
        raise sockets.BindError(
            errno.EINVAL, f"bindAddress=None, but fd 0 is a socket that does not listen; {instead}"
        )
    sock.setblocking(False)
    return sock
