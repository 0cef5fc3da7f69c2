"""Call the WSGI app for one request and stream its response back.

Two modes, chosen by ``threads``:

* inline (``threads = 0``): the app runs on the event loop thread once the
  whole request body has arrived (it must never wait for the network). A
  streamed response is pumped one chunk at a time; when the transport is
  paused the pump stops and resumes on ``resume_writing``, so a slow client
  never makes memory grow.
* threads (``threads = N``): the app runs in the worker's thread pool as soon
  as the request head has arrived and reads the body while it streams in.
  Each chunk crosses to the loop through the worker's ``Mailbox`` (one
  wake-up per batch of completions, not one per call) after
  :meth:`FlowControl.reserve`, which blocks the app thread while the client
  is slow. The pool is created on first use, inside the serving process, after
  any fork: never before (the flup bug).

Several apps (``[mount:/prefix]`` sections): each is a :class:`Route` with its
own mode (inline, or its own pool of ``threads``). :meth:`Runner.route` picks
one at the request head, before the body buffer is made, because the mode
decides the buffer (spooled for inline, streamed for threads). With no mounts
it returns the one root route without looking at the path.

The channel (the protocol glue) is driven only from the loop thread through
:class:`Exchange`. A response whose body is a list or tuple is sent in one
write with its head (``channel.respond``): the hello-world fast path.

Failure rules: an exception before the head was sent becomes a 500 with the
traceback in the error log (never to the client); after the head was sent the
connection is broken off (``channel.broken``) so the web server sees a
truncated response rather than a short one that looks complete. The app's
iterable is always closed, also when the client went away.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from fcgigate.buffers import BodyAborted, BodyTooLarge
from fcgigate.serve.flow import FlowControl
from fcgigate.serve.pool import AppThreads
from fcgigate.serve.state import ServerState
from fcgigate.wsgi import (
    BadResponse,
    ClientDisconnected,
    FileWrapper,
    StartResponse,
    build_environ,
    request_path,
    split_path,
    wsgi_constants,
)

error_log = logging.getLogger("fcgigate.error")
app_log = logging.getLogger("fcgigate.app")  # wsgi.errors

ERROR_500 = b"Internal Server Error\n"
ERROR_413 = b"Request body too large\n"
ERROR_504 = b"The application did not answer in time (request_terminate_timeout)\n"
ERROR_404 = b"Not Found\n"
_PLAIN = [("Content-Type", "text/plain; charset=utf-8")]


def not_found(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The root "app" when only mounts are configured: a path under none of them."""
    start_response("404 Not Found", _PLAIN + [("Content-Length", str(len(ERROR_404)))])
    return [ERROR_404]


class Route:
    """An app the runner calls: the root app (``index`` 0) or a mount.

    ``threads`` > 0 gives the route its own pool, created on its first request
    (inside the serving process, after every fork); 0 runs it inline. ``index``
    is its place in the scoreboard's per-mount counters.
    """

    __slots__ = ("prefix", "app", "threads", "index", "streams", "_below", "_pool", "_pool_name")

    def __init__(self, prefix: str, app: Any, threads: int, index: int) -> None:
        self.prefix = prefix
        self.app = app
        self.threads = threads
        self.index = index
        self.streams = threads > 0  # the app is called at the head and reads the body as it arrives
        self._below = prefix + "/"
        self._pool: AppThreads | None = None
        # fcgigate-app_0 for the root app, fcgigate-app-api-v1_0 for [mount:/api/v1]
        self._pool_name = "fcgigate-app" + (prefix.replace("/", "-") if index else "")

    def matches(self, path: str) -> bool:
        """``/a`` matches ``/a`` and ``/a/...``, never ``/ab``."""
        return path == self.prefix or path.startswith(self._below)

    def pool(self) -> AppThreads:
        if self._pool is None:
            # Created here, lazily, inside the serving process: by now every
            # fork is behind us (see the module docstring).
            self._pool = AppThreads(self.threads, self._pool_name)
        return self._pool

    def shutdown(self, wait: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait)


class Exchange:
    """One request between the glue (``channel``) and the app.

    ``channel`` implements, on the loop thread: ``respond(ex, status,
    headers, body)``, ``start(ex, status, headers, first)``, ``data(ex,
    chunk)``, ``end(ex)``, ``stderr(ex, data)``, ``broken(ex, reason)``, where
    ``ex`` is this exchange (so that the glue never looks it up by id).
    """

    # Defaults, as class attributes: an exchange sets only what differs, and
    # a request costs fewer stores (no __slots__ for that reason).
    aborted = False
    done = False
    too_large = False
    _close_iterable: Any = None
    status: str | None = None  # set by the glue when the head goes out (access log)
    bytes = 0
    seq = 0  # this worker's request number (request_id in the access log)
    thread = 0  # ident of the thread running the app for it, once it runs
    app_started = 0.0
    wait_us = app_us = cpu_us = 0  # the access log's accounting
    cpu_started = 0.0  # the app thread's CPU time when it took the request (if measured)
    slow_logged = False  # the slow-request watcher's marks
    terminated = False
    unix_client = False  # an HTTP client on a unix socket, no forwarded address (status_allow)

    def __init__(
        self,
        channel: Any,
        flow: FlowControl,
        request_id: int,
        params: dict[str, str],
        body: Any,
        stderr_budget: int,
        post: Any,
        route: Route | None = None,
        split: tuple[str, str] | None = None,
    ) -> None:
        self.channel = channel
        self.flow = flow
        self.request_id = request_id
        self.params = params
        self.body = body
        self.stderr_budget = stderr_budget
        self.post = post  # Mailbox.post: run a call on the loop, from any thread
        self.started = time.monotonic()
        # What Runner.route chose at the head: the app, and for a mount its
        # (SCRIPT_NAME, PATH_INFO); None, None: the root route, split as usual.
        self.route = route
        self.split = split

    def describe(self) -> str:
        p = self.params
        return f"{p.get('REQUEST_METHOD', '-')} {p.get('REQUEST_URI') or p.get('SCRIPT_NAME', '-')}"

    def abort(self) -> None:
        """The client is gone or asked to abandon the request (loop thread)."""
        self.aborted = True
        self.channel.state.request_finished(self)
        if not self.body.finished:
            self.body.abort()
        closer, self._close_iterable = self._close_iterable, None
        if closer is not None:
            # An inline response paused mid-stream: nobody else will close it.
            _close(closer, self)

    # loop-thread delivery, used by the thread mode through ``post``
    def _deliver(self, method: str, *args: Any) -> None:
        if not self.aborted:
            getattr(self.channel, method)(self, *args)

    def _deliver_data(self, chunk: bytes) -> None:
        try:
            if not self.aborted:
                self.channel.data(self, chunk)
        finally:
            self.flow.release(len(chunk))


class ErrorStream:
    """``wsgi.errors``: lines go to the error log, and the first
    ``stderr_limit`` bytes also to the web server (FCGI_STDERR), so that they
    show up in nginx's error log next to the request that wrote them."""

    __slots__ = ("_ex", "_threaded")

    def __init__(self, exchange: Exchange, threaded: bool) -> None:
        self._ex = exchange
        self._threaded = threaded

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors.write() takes str, not {type(text).__name__}")
        ex = self._ex
        if text.strip():
            app_log.warning("%s: %s", ex.describe(), text.rstrip("\n"))
        data = text.encode("utf-8", "replace")[: max(0, ex.stderr_budget)]
        if data and not ex.aborted:
            ex.stderr_budget -= len(data)
            if self._threaded:
                ex.post(ex._deliver, "stderr", data)
            else:
                ex.channel.stderr(ex, data)
        return len(text)

    def writelines(self, seq: list[str]) -> None:
        for line in seq:
            self.write(line)

    def flush(self) -> None:
        return


def _close(iterable: Any, ex: Exchange) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            error_log.exception("%s: the response iterable's close() raised", ex.describe())


class Runner:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        settings = state.settings
        root_app = state.app if state.app is not None or not settings.mounts else not_found
        # Without a root app every thread count is the mounts'; fcgigate's 404 runs inline.
        self.root = Route(settings.mount, root_app, settings.threads if root_app is not not_found else 0, 0)
        mounts = [
            Route(prefix, app, threads, index)
            for index, ((prefix, threads), app) in enumerate(
                zip(settings.mounts, state.mount_apps, strict=True), 1
            )
        ]
        self.routes = [self.root, *mounts]  # index order: the scoreboard's per-mount counters
        # Longest prefix first, so that the first match is the longest one.
        self._mounts = sorted(mounts, key=lambda route: len(route.prefix), reverse=True)
        self._root_only = (self.root, None)
        self._mount = settings.mount
        self._loop_thread = threading.get_ident()  # made on the loop's thread (Worker._serve)
        # wsgi.* keys for inline (False) and threaded (True) apps
        self._constants = {
            threaded: wsgi_constants(threaded, settings.multiprocess, FileWrapper)
            for threaded in (False, True)
        }

    def route(self, params: dict[str, str]) -> tuple[Route, tuple[str, str] | None]:
        """The route for a request's head, and for a mount its (SCRIPT_NAME, PATH_INFO).

        Matched on the decoded path without dot segments (as nginx matches its
        locations), longest prefix first; no match: the root route. With no
        mounts, no path is looked at.
        """
        if not self._mounts:
            return self._root_only
        path = request_path(params)
        for route in self._mounts:
            if route.matches(path):
                return route, (route.prefix, path[len(route.prefix) :])
        return self._root_only

    def shutdown(self, wait: bool = True) -> None:
        for route in self.routes:
            route.shutdown(wait)

    def environ(self, ex: Exchange, threaded: bool) -> dict[str, Any]:
        return build_environ(
            ex.params,
            ex.body,
            ErrorStream(ex, threaded),
            ex.split or split_path(ex.params, self._mount),
            self._constants[threaded],
        )

    def start(self, ex: Exchange) -> None:
        """Run the app for ``ex``: inline now, or in the pool (loop thread)."""
        state = self.state
        pages = state.pages
        if pages is not None and (page := pages.route(ex.params)) is not None:
            # The status and ping pages: answered here, on the loop, even when
            # every app thread is busy; not counted as the app's requests.
            if not pages.allowed(ex.params, ex.unix_client):
                page = pages.forbidden
            self._run_inline(ex, page)
            return
        state.requests_served += 1
        ex.seq = state.requests_served
        if state.requests_served == state.retire_at:
            state.on_retire("max_requests")
        route = ex.route or self.root
        ex.route = route
        state.request_started(ex)
        if route.threads:
            route.pool().submit(self._run_threaded, ex)
        else:
            self._run_inline(ex, route.app)

    def terminate(self, ex: Exchange) -> None:
        """``ex`` ran past request_terminate_timeout (loop thread, posted by the
        watcher): answer 504 if no response has started, else cut it; the app
        thread runs on, unheard. The worker is then recycled."""
        if ex.done or ex.aborted:
            return
        ex.done = True
        if ex.status is None:
            body = ERROR_504
            ex.channel.respond(ex, "504 Gateway Timeout",
                               _PLAIN + [("Content-Length", str(len(body)))], body)  # fmt: skip
        else:
            ex.channel.broken(ex, "request_terminate_timeout passed during the response")
        ex.aborted = True  # the app's next write or read fails; its late output is dropped
        self.state.request_finished(ex)
        self.state.on_retire("request_terminate_timeout")

    # -- inline mode ---------------------------------------------------------------

    def _run_inline(self, ex: Exchange, app: Any) -> None:
        result: Any = None
        sr = StartResponse(partial(self._write_inline, ex))
        ex.thread = self._loop_thread
        ex.app_started = time.monotonic()
        if self.state.measure_cpu:
            ex.cpu_started = time.thread_time()
        try:
            result = app(self.environ(ex, False), sr)
            if type(result) in (list, tuple) and sr.status is not None and not sr.headers_sent:
                # The fast path: the whole body at once, in one write with the
                # head (a list has no close() to call).
                body = b"".join(result)  # TypeError on a non-bytes item: a 500 below
                ex.done = True
                self._account(ex)
                ex.channel.respond(ex, sr.status, sr.headers, body)
                return
            self._account(ex)
            self._pump(ex, sr, result, iter(result))
        except Exception as exc:
            self._failed(ex, sr, exc, inline=True)
            if result is not None:
                _close(result, ex)

    def _write_inline(self, ex: Exchange, sr: StartResponse, data: bytes) -> None:
        """The ``write()`` start_response returns to an inline app."""
        if ex.aborted:
            raise ClientDisconnected("the client closed the connection")
        _check_bytes(data)
        if not sr.headers_sent:
            self._send_head(ex, sr, data)
        elif data:
            ex.channel.data(ex, data)

    def _send_head(self, ex: Exchange, sr: StartResponse, first: bytes) -> None:
        if sr.status is None:
            raise BadResponse("the app returned a body before calling start_response")
        sr.headers_sent = True
        ex.channel.start(ex, sr.status, sr.headers, first)

    def _pump(self, ex: Exchange, sr: StartResponse, result: Any, it: Iterator) -> None:
        """Send the next chunk, then give the loop back (loop thread).

        One chunk per loop iteration: between two chunks the loop serves other
        connections and notices a client that went away, so a long streamed
        response neither starves the worker nor outlives its client. While the
        transport is paused the pump waits for ``resume_writing``.
        """
        flow = ex.flow
        try:
            for chunk in it:
                if ex.aborted:
                    break
                _check_bytes(chunk)
                if not sr.headers_sent:
                    self._send_head(ex, sr, chunk)
                elif chunk:
                    ex.channel.data(ex, chunk)
                if flow.closed:
                    break
                ex._close_iterable = result
                if flow.write_paused:
                    flow.when_writable(lambda: self._resume_pump(ex, sr, result, it))
                else:
                    self.state.loop.call_soon(self._resume_pump, ex, sr, result, it)
                return
            else:
                if not sr.headers_sent:
                    self._send_head(ex, sr, b"")
                ex.done = True
                ex.channel.end(ex)
        except Exception as exc:
            self._failed(ex, sr, exc, inline=True)
        _close(result, ex)

    def _resume_pump(self, ex: Exchange, sr: StartResponse, result: Any, it: Iterator) -> None:
        if ex._close_iterable is None:  # aborted meanwhile, and closed by abort()
            return
        ex._close_iterable = None
        self._pump(ex, sr, result, it)

    # -- thread mode ---------------------------------------------------------------

    def _account(self, ex: Exchange) -> None:
        """The access log's app_us and cpu_us, taken in the app's thread as it
        finishes (before the last delivery is posted, which logs the line)."""
        ex.app_us = int((time.monotonic() - ex.app_started) * 1e6)
        if self.state.measure_cpu:
            ex.cpu_us = int((time.thread_time() - ex.cpu_started) * 1e6)

    def _run_threaded(self, ex: Exchange) -> None:
        if ex.aborted:
            return
        ex.thread = threading.get_ident()
        ex.app_started = time.monotonic()
        if self.state.measure_cpu:
            ex.cpu_started = time.thread_time()
        ex.wait_us = int((ex.app_started - ex.started) * 1e6)
        post = self.state.mailbox.post
        result: Any = None
        sr = StartResponse(partial(self._write_threaded, ex))
        write = sr.write
        try:
            result = ex.route.app(self.environ(ex, True), sr)
            if type(result) in (list, tuple) and sr.status is not None and not sr.headers_sent:
                body = b"".join(result)
                if ex.aborted:
                    raise ClientDisconnected("the client closed the connection")
                ex.done = True
                self._account(ex)
                post(ex._deliver, "respond", sr.status, sr.headers, body)
            else:
                for chunk in result:
                    write(chunk)
                if not sr.headers_sent:
                    write(b"")
                ex.done = True
                self._account(ex)
                post(ex._deliver, "end")
        except Exception as exc:
            self._account(ex)
            post(self._failed, ex, sr, exc, False)
        finally:
            if result is not None:
                _close(result, ex)

    def _write_threaded(self, ex: Exchange, sr: StartResponse, data: bytes) -> None:
        """The ``write()`` start_response returns to an app in a thread (and
        how the runner sends each chunk of its iterable)."""
        _check_bytes(data)
        if not sr.headers_sent:
            if sr.status is None:
                raise BadResponse("write() called before start_response")
            sr.headers_sent = True
            self._to_loop(ex, "start", sr.status, sr.headers, data)
        elif data:
            self._to_loop(ex, "data", data)

    def _to_loop(self, ex: Exchange, what: str, *args: Any) -> None:
        """Hand response bytes to the loop, waiting while the client is slow."""
        if ex.aborted:
            raise ClientDisconnected("the client closed the connection")
        data = args[-1]
        ex.flow.reserve(len(data))
        if what == "data":
            ex.post(ex._deliver_data, data)
        else:
            ex.post(_deliver_start, ex, *args)

    # -- failures (loop thread) ----------------------------------------------------

    def _failed(self, ex: Exchange, sr: StartResponse, exc: BaseException, inline: bool) -> None:
        if ex.done and not isinstance(exc, Exception):
            return
        if ex.aborted or isinstance(exc, ClientDisconnected) and not isinstance(exc, BodyTooLarge):
            if not ex.aborted:
                error_log.info("%s: client went away: %s", ex.describe(), exc)
            return
        ex.done = True
        if ex.too_large or isinstance(exc, BodyTooLarge):
            status, body = "413 Content Too Large", ERROR_413
            error_log.warning("%s: %s", ex.describe(), exc)
        elif isinstance(exc, BodyAborted):
            error_log.info("%s: request body incomplete: %s", ex.describe(), exc)
            return
        else:
            status, body = "500 Internal Server Error", ERROR_500
            error_log.error("%s: the app failed", ex.describe(), exc_info=(type(exc), exc, exc.__traceback__))
        if sr.headers_sent:
            ex.channel.broken(ex, f"the app failed after sending the response head: {exc!r}")
        else:
            ex.channel.respond(ex, status, _PLAIN + [("Content-Length", str(len(body)))], body)


def _deliver_start(ex: Exchange, status: str, headers: list[tuple[str, str]], first: bytes) -> None:
    try:
        if not ex.aborted:
            ex.channel.start(ex, status, headers, first)
    finally:
        ex.flow.release(len(first))


def _check_bytes(data: Any) -> None:
    if type(data) is not bytes:
        raise BadResponse(f"the app produced {type(data).__name__}, not bytes: {data!r:.80}")
