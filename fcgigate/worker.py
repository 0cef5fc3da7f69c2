"""One serving process: import the app, create the loop, THEN the thread pool, serve.

Order matters and is the point of this module (design.md, invariant 1):
signals are reset, the app is imported, the event loop is created, and only
then may threads exist (the runner's pool is created on the first request).
Nothing here runs at import time.

Stopping: SIGTERM is graceful (stop accepting, close idle connections, let
in-flight requests finish within ``graceful_timeout``, then close the rest);
SIGINT and SIGQUIT are fast (close everything now).
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import gc
import importlib
import logging
import os
import random
import signal
import socket
import sys
import time
import traceback
from functools import partial
from typing import Any

from fcgigate.daemon import config_label, set_title
from fcgigate.logs import AccessLog
from fcgigate.loops import loop_name, new_event_loop
from fcgigate.protocols.fastcgi import Limits
from fcgigate.protocols.http import HTTPLimits
from fcgigate.serve.fastcgi import FastCGIProtocol
from fcgigate.serve.http import HTTPProtocol
from fcgigate.serve.runner import Runner
from fcgigate.serve.state import ServerState, ServeSettings
from fcgigate.status import DRAINING, READY, RETIRING
from fcgigate.statuspage import StatusPages
from fcgigate.tls import server_context, uses_tls

error_log = logging.getLogger("fcgigate.error")

ACCEPT_BATCH = 64  # connections taken per readable event, so one busy listener cannot starve the loop
DRAIN_IDLE = 1.0  # seconds a kept connection must be idle before a draining worker closes it
EXIT_OK = 0
EXIT_APP_LOAD_ERROR = 4


class AppLoadError(Exception):
    """The ``app`` setting names something that cannot be imported or called."""


def load_app(spec: str, chdir: str | None = None, pythonpath: tuple[str, ...] | list[str] = ()) -> Any:
    """Import ``package.module:callable`` or call the factory ``package.module:create_app()``.

    ``chdir`` is entered first and ``pythonpath`` entries are put in front of
    sys.path (the current directory too, as gunicorn does, so that
    ``fcgigate myapp:app`` works from the project directory).
    """
    if chdir:
        os.chdir(chdir)
    for entry in reversed([os.getcwd(), *pythonpath]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name, _, target = spec.partition(":")
    target = target or "application"
    factory = target.endswith("()")
    if factory:
        target = target[:-2]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AppLoadError(
                f"app {spec!r}: no module named {exc.name!r} (sys.path: {sys.path[:3]}...)"
            ) from None
        raise
    obj: Any = module
    for part in target.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError(f"app {spec!r}: module {module_name!r} has no attribute {target!r}") from None
    if factory:
        obj = obj()
    if not callable(obj):
        raise AppLoadError(f"app {spec!r}: {type(obj).__name__} object is not callable")
    return obj


def serve_settings(config: Any) -> ServeSettings:
    threads = config.threads
    max_conns = config.max_connections
    per_conn = config.fastcgi_max_concurrent_requests
    return ServeSettings(
        mount=config.mount,
        threads=threads,
        mounts=tuple((mount.prefix, mount.threads) for mount in config.mounts),
        body_memory_limit=config.body_memory_limit,
        max_body_size=config.max_body_size,
        stderr_limit=config.stderr_limit,
        idle_timeout=config.idle_timeout,
        multiprocess=True,
        fastcgi=Limits(
            max_params_size=config.fastcgi_max_params_size,
            max_params=config.fastcgi_max_params,
            max_concurrent_requests=per_conn,
            max_requests_per_connection=config.fastcgi_max_requests_per_connection,
            max_conns=max_conns,
            max_reqs=max_conns * per_conn,
        ),
        http=HTTPLimits(
            max_request_line=config.http_max_request_line,
            max_headers=config.http_max_headers,
            max_header_size=config.http_max_header_size,
            keep_alive=config.keepalive_timeout > 0,
        ),
        header_timeout=config.header_timeout,
        body_timeout=config.body_timeout,
        keepalive_timeout=config.keepalive_timeout,
        server_header=config.server_header,
        forwarded_allow_ips=config.forwarded_allow_ips,
    )


class AcceptedSocket(socket.socket):
    """An accepted connection's socket, for the loop to adopt.

    ``socket.socket`` turns ``family`` and ``type`` into enums on every
    read, and the loop reads them three times per connection; here they are
    the plain ints of the C socket object underneath. Its ``proto`` is
    IPPROTO_TCP on a TCP connection, which is what makes asyncio set
    TCP_NODELAY (uvloop sets it on every TCP transport): a response's last
    segment is never held back waiting for an ACK.
    """

    __slots__ = ()
    family = _socket.socket.family  # type: ignore[assignment]
    type = _socket.socket.type  # type: ignore[assignment]


class Acceptor:
    """Accepts connections on one listener and hands them to a protocol.

    The accept loop is ours rather than ``loop.create_server`` so that a
    worker can stop accepting without closing the shared listening socket
    (graceful stop now; capacity-aware accepting in the pre-fork master).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Any,
        url: str,
        has_capacity: Any = None,
        ssl_context: Any = None,
        handshake_timeout: float = 10.0,
    ) -> None:
        self.loop = loop
        self.ssl_context = ssl_context  # https:// listeners: TLS, the handshake within handshake_timeout
        self.handshake_timeout = handshake_timeout
        self.sock = sock
        self.factory = factory
        self.url = url
        self.accepting = False
        self.has_capacity = has_capacity or (lambda: True)
        self.pending = 0  # accepted, protocol not yet made
        self.on_slot_freed: Any = lambda: None
        # Of each accepted socket (SOCK_STREAM all). With proto IPPROTO_TCP,
        # asyncio turns Nagle off on a TCP connection as uvloop always does.
        self.family = int(sock.family)
        self.proto = socket.IPPROTO_TCP if sock.family in (socket.AF_INET, socket.AF_INET6) else 0

    def start(self) -> None:
        if not self.accepting:
            self.accepting = True
            self.loop.add_reader(self.sock.fileno(), self._on_readable)

    def stop(self) -> None:
        if self.accepting:
            self.accepting = False
            self.loop.remove_reader(self.sock.fileno())

    def _on_readable(self) -> None:
        for _ in range(ACCEPT_BATCH):
            if not self.has_capacity():
                # Full: leave the rest in the kernel's backlog until a
                # connection closes (Worker.connection_closed resumes us).
                self.stop()
                return
            try:
                fd, _addr = self.sock._accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: back off instead of spinning on a
                    # listener that stays readable.
                    error_log.error("accept on %s: %s; pausing accepts for 1 s", self.url, exc)
                    self.stop()
                    self.loop.call_later(1.0, self.start)
                    return
                error_log.debug("accept on %s: %s", self.url, exc)
                continue
            # A socket object the loop can adopt, made without what
            # socket.accept() adds (two enum conversions; uvloop reads
            # .family twice and .type once, which would be three more). The
            # loop makes the descriptor non-blocking itself.
            conn = AcceptedSocket(self.family, socket.SOCK_STREAM, self.proto, fd)
            # Counted as pending until the connection is set up (for TLS: until
            # the handshake is done, which is when our protocol's
            # connection_made runs), so that a draining worker waits for it
            # instead of exiting under a handshake in progress.
            self.pending += 1
            if self.ssl_context is None:
                connecting = self.loop.connect_accepted_socket(self.factory, conn)
            else:
                connecting = self.loop.connect_accepted_socket(
                    self.factory, conn, ssl=self.ssl_context, ssl_handshake_timeout=self.handshake_timeout
                )
            self._step(connecting)

    def _step(self, connecting: Any, _done: Any = None) -> None:
        """Drive a connection's set-up coroutine (``connect_accepted_socket``)
        without a Task: it awaits one future, the protocol's connection_made
        (or the TLS handshake); this runs it up to there, and again from the
        future's callback to its end. A Task per connection costs a
        registration in ``asyncio.all_tasks``, a context copy and two more
        callbacks through the loop, for nothing a connection needs."""
        try:
            waiter = connecting.send(None)
        except StopIteration:
            self._connected(None)
        except (Exception, asyncio.CancelledError) as exc:  # the set-up failed: the loop closed the socket
            self._connected(exc)
        else:
            if waiter is None:  # a bare yield, as Task would see it: step again next turn
                self.loop.call_soon(self._step, connecting)
            else:
                waiter.add_done_callback(partial(self._step, connecting))

    def _connected(self, exc: Exception | None) -> None:
        # Between connection_made and here a connection is counted twice
        # (pending, and among the worker's connections): the capacity check
        # may have stopped accepting meanwhile, so look again now.
        self.pending -= 1
        if exc is not None:
            error_log.debug("setting up a connection on %s failed: %s", self.url, exc)
        self.on_slot_freed()


_early_reopen: list[int] = []  # SIGUSR1 received while booting, before the loop's handler


def worker_dispositions() -> None:
    """A worker's signal dispositions until its loop installs its handlers:
    the stop signals act at once (default), the master's own are ignored, and
    USR1 (logrotate) is remembered: its default would kill a booting worker,
    and ignoring it would leave this worker writing to the rotated file."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    for sig in (signal.SIGHUP, signal.SIGUSR2, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, lambda signum, frame: _early_reopen.append(signum))


class Worker:
    """Serves every listener from one event loop until told to stop.

    ``index``/``total`` name the worker in its title; ``slot`` is its
    scoreboard slot (None when the master serves in-process, as tests of the
    glue do); ``master_pid`` lets it notice that its master died.
    """

    def __init__(
        self,
        config: Any,
        listeners: list[tuple[socket.socket, str]],
        app: Any = None,
        *,
        index: int = 0,
        total: int = 1,
        slot: Any = None,
        master_pid: int | None = None,
        reopen_logs: Any = None,
        scoreboard: Any = None,
    ) -> None:
        self.config = config
        self.listeners = listeners
        self.app = app
        self.mount_apps: tuple[Any, ...] = ()  # the [mount:...] apps, imported in run()
        self.index = index
        self.total = total
        self.slot = slot
        self.master_pid = master_pid
        self.reopen_logs = reopen_logs or (lambda: None)
        self.scoreboard = scoreboard
        self._page_size = os.sysconf("SC_PAGE_SIZE")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.state: ServerState | None = None
        self.acceptors: list[Acceptor] = []
        self._stop: asyncio.Future | None = None
        self.retire_after = 0
        if config.max_requests:
            self.retire_after = config.max_requests + random.randint(0, config.max_requests_jitter)

    def run(self) -> int:
        """Boot and serve; return the exit status (EXIT_APP_LOAD_ERROR when the
        app cannot be imported, which the master takes as a boot failure)."""
        signal.set_wakeup_fd(-1)
        worker_dispositions()
        cfg = self.config
        set_title(f"fcgigate: worker {self.index + 1}/{self.total} [{config_label(cfg.path)}]")
        if self.slot is not None:
            self.slot.set_pid(os.getpid())
        if cfg.cpu_affinity:
            cpus = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {cpus[self.index % len(cpus)]})
        # The root app (unless preloaded), then each mount's, in file order: a
        # failure is a boot failure that names which one.
        specs = [("", cfg.app)] if self.app is None and cfg.app else []
        specs += [(f"[mount:{mount.prefix}] ", mount.app) for mount in cfg.mounts]
        loaded = []
        for where, spec in specs:
            try:
                loaded.append(load_app(spec, cfg.chdir, cfg.pythonpath))
            except AppLoadError as exc:
                error_log.error("%s%s", where, exc)
                return EXIT_APP_LOAD_ERROR
            except Exception:
                error_log.exception("%sapp %r failed to import", where, spec)
                return EXIT_APP_LOAD_ERROR
        if self.app is None and cfg.app:
            self.app = loaded.pop(0)
        self.mount_apps = tuple(loaded)
        # What exists now (the app, its modules, ours) lives as long as the
        # worker: out of the garbage collector's sight, so that its full
        # passes do not walk it again and again while serving.
        gc.freeze()
        # The loop first; threads (the runner's pool) only after it, lazily.
        self.loop = loop = new_event_loop(cfg.loop)
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> int:
        loop = self.loop
        cfg = self.config
        self.state = state = ServerState(self.app, serve_settings(cfg), loop, self.mount_apps)
        state.runner = runner = Runner(state)
        state.slot = self.slot
        state.retire_at = self.retire_after
        state.on_retire = self._retire
        self._stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, self._request_stop, "graceful")
        for sig in (signal.SIGINT, signal.SIGQUIT):
            loop.add_signal_handler(sig, self._request_stop, "fast")
        loop.add_signal_handler(signal.SIGUSR1, self._reopen_logs)
        if _early_reopen:  # the access log opens below, at its new path anyway
            _early_reopen.clear()
            self.reopen_logs()
        if cfg.access_log:
            state.access_log = AccessLog(cfg.access_log, cfg.access_log_format)
        if self.slot is not None:
            self.slot.logs_opened()
            state.measure_cpu = "{cpu_us}" in cfg.access_log_format
        if self.scoreboard is not None and (cfg.status_path or cfg.ping_path):
            state.pages = StatusPages(self.scoreboard, cfg.apps(), cfg.status_path, cfg.ping_path,
                                      cfg.status_allow, cfg.mount_names())  # fmt: skip
        if cfg.runs_inline() and cfg.slow_request_timeout:
            # The loop is what an inline app blocks: the master, seeing the
            # request run long in the scoreboard, signals us, and this handler
            # runs in the middle of the app's code, with its frame.
            signal.signal(signal.SIGUSR2, self._inline_slow_request)
        state.on_connection_closed = self._connection_closed
        # Read now, in this worker: a reload's new workers read renewed files.
        context = server_context(cfg) if uses_tls(cfg) else None
        for sock, url in self.listeners:
            protocol = HTTPProtocol if url.startswith("http") else FastCGIProtocol
            factory = lambda url=url, protocol=protocol: protocol(state, url)  # noqa: E731
            tls = context if url.startswith("https://") else None
            acceptor = Acceptor(loop, sock, factory, url, self._has_capacity, tls, cfg.header_timeout)
            acceptor.on_slot_freed = self._connection_closed
            acceptor.start()
            self.acceptors.append(acceptor)
        if self.slot is not None:
            self.slot.beat()
            self.slot.set_state(READY)
        error_log.info(
            "worker %d/%d serving %s on %s (pid %d, %s loop, %s)",
            self.index + 1,
            self.total,
            cfg.apps(),
            ", ".join(url for _, url in self.listeners),
            os.getpid(),
            loop_name(loop),
            f"{cfg.threads} threads" if cfg.threads else "inline, no threads",  # the root app's
        )
        ticker = loop.create_task(self._tick())
        how = await self._stop
        for acceptor in self.acceptors:
            acceptor.stop()
        state.stopping = True
        if self.slot is not None:
            self.slot.set_state(DRAINING)
        if how == "graceful":
            await self._drain(cfg.graceful_timeout)
        ticker.cancel()
        for conn in list(state.connections):
            conn.transport.abort()
        runner.shutdown(wait=False)
        if state.access_log is not None:
            state.access_log.close()
        error_log.info("worker %d/%d stopped (%s), %d requests served", self.index + 1, self.total, how,
                       state.requests_served)  # fmt: skip
        return EXIT_OK

    def _usage(self) -> tuple[float, int]:
        """CPU seconds (user + system) and resident memory of this process."""
        times = os.times()
        try:
            with open("/proc/self/statm", "rb") as statm:
                rss = int(statm.read().split()[1]) * self._page_size
        except (OSError, ValueError, IndexError):
            rss = 0
        return times.user + times.system, rss

    def _watch_requests(self, now: float) -> None:
        """Once a second: log requests past slow_request_timeout (once each,
        with the stack of the thread running them), and end those past
        request_terminate_timeout with a 504 (then recycle this worker: the
        thread cannot be stopped). Threads mode; inline, see _inline_slow_request."""
        cfg = self.config
        slow, terminate = cfg.slow_request_timeout, cfg.request_terminate_timeout
        for ex in list(self.state.inflight):
            elapsed = now - ex.started
            if slow and elapsed >= slow and not ex.slow_logged:
                ex.slow_logged = True
                error_log.warning(
                    "slow request: %s from %s, running for %.1f s (slow_request_timeout %g s)%s",
                    ex.describe(), ex.params.get("REMOTE_ADDR", "-"), elapsed, slow, _stack(ex.thread),
                )  # fmt: skip
            if terminate and ex.route.threads and elapsed >= terminate and not ex.terminated:
                ex.terminated = True
                error_log.error(
                    "request_terminate_timeout (%g s): %s from %s, running for %.1f s: answering 504 and "
                    "recycling worker %d%s", terminate, ex.describe(), ex.params.get("REMOTE_ADDR", "-"),
                    elapsed, self.index + 1, _stack(ex.thread),
                )  # fmt: skip
                self.state.runner.terminate(ex)

    def _inline_slow_request(self, signum: int, frame: Any) -> None:
        """SIGUSR2 from the master: the inline request has run past
        slow_request_timeout. We are inside the app's code: ``frame`` is it."""
        ex = next(iter(self.state.inflight), None) if self.state is not None else None
        if ex is None or ex.slow_logged or ex.route.threads:
            return  # (a threaded request is _watch_requests' business)
        ex.slow_logged = True
        stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
        error_log.warning(
            "slow request: %s from %s, running for %.1f s (slow_request_timeout %g s); the event loop's "
            "stack (most recent call last):\n%s", ex.describe(), ex.params.get("REMOTE_ADDR", "-"),
            time.monotonic() - ex.started, self.config.slow_request_timeout, stack.rstrip(),
        )  # fmt: skip

    def _reopen_logs(self) -> None:
        self.reopen_logs()
        if self.state.access_log is not None:
            self.state.access_log.reopen()
        if self.slot is not None:
            self.slot.logs_opened()

    def _retire(self, reason: str = "max_requests") -> None:
        """max_requests reached (called as the request that reaches it starts),
        or a request ended by request_terminate_timeout: ask the master for a
        replacement; it sends TERM once that one serves."""
        if self.slot is not None and self.slot.read()["state"] == RETIRING:
            return  # asked already
        served, name = self.state.requests_served, f"{self.index + 1}/{self.total}"
        error_log.info("worker %s: %d requests served (%s); recycling", name, served, reason)
        if self.slot is not None and not self.state.stopping:
            self.slot.set_state(RETIRING)
        else:
            self.loop.call_soon(self._request_stop, "graceful")

    def _has_capacity(self) -> bool:
        pending = sum(a.pending for a in self.acceptors)
        return len(self.state.connections) + pending < self.config.max_connections

    def _connection_closed(self) -> None:
        for acceptor in self.acceptors:
            if not acceptor.accepting:
                break
        else:
            return  # the common case: every listener is accepting
        if self._stop is not None and not self._stop.done() and self._has_capacity():
            for acceptor in self.acceptors:
                acceptor.start()

    def _request_stop(self, how: str) -> None:
        if self._stop is not None and not self._stop.done():
            error_log.debug("worker %d/%d: %s stop requested", self.index + 1, self.total, how)
            self._stop.set_result(how)

    async def _drain(self, timeout: float) -> None:
        """Let in-flight requests finish; close connections as they go idle.

        A kept FastCGI connection is the delicate case: nginx may pick an
        idle one from its cache and send a request at the very moment we
        close it, and a POST lost that way is a 502. So a connection that
        serves a request while we drain is closed right after that response
        (its END_REQUEST and our FIN leave back to back, and nginx, seeing
        both, does not put it back in its cache), and an idle one only once it
        has been idle for DRAIN_IDLE seconds: nginx reuses its most recently
        used connections first, so one idle that long is at the cold end of
        its cache.
        """
        deadline = time.monotonic() + timeout
        state = self.state
        while (state.connections or any(a.pending for a in self.acceptors)) and time.monotonic() < deadline:
            now = time.monotonic()
            for conn in list(state.connections):
                conn.close_if_idle(now, DRAIN_IDLE)
            if self.slot is not None:
                self.slot.beat()
            await asyncio.sleep(0.05)
        if state.connections:
            error_log.warning(
                "graceful_timeout (%ss) passed with %d connections busy; closing them",
                timeout,
                len(state.connections),
            )

    async def _tick(self) -> None:
        """Once a second: heartbeat, Date header, slow requests, and an
        orphaned worker's stop (each connection times itself out: see
        ServedConnection.watch)."""
        state = self.state
        slot = self.slot
        while True:
            await asyncio.sleep(1.0)
            if slot is not None:
                slot.beat()
                slot.usage(*self._usage())
            state.tick_date()
            if state.inflight:
                self._watch_requests(time.monotonic())
            if self.master_pid is not None and os.getppid() != self.master_pid:
                error_log.warning("worker %d/%d: the master is gone; stopping", self.index + 1, self.total)
                self._request_stop("graceful")


def _stack(thread_id: int) -> str:
    """The stack of thread ``thread_id``, for the log (sys._current_frames: in
    process, no ptrace)."""
    if not thread_id:
        return "; it is waiting for a free app thread (all are busy)"
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return ""
    stack = "".join(traceback.format_stack(frame)).rstrip()
    return f"; the stack of its thread (most recent call last):\n{stack}"
