"""What the FastCGI and HTTP glue share: one served connection's plumbing.

A subclass owns its wire protocol and its requests; this base owns the
transport, flow control, the peer's name, registration with the worker, the
request-body buffers and the lingering close. Subclasses implement
``_abort_all()`` (the connection is gone: abort every request on it).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import Any

from fcgigate.buffers import SpooledBody, StreamingBody
from fcgigate.serve.flow import FlowControl
from fcgigate.serve.state import ServerState

# Seconds a half-closed connection waits for the peer to close its side.
LINGER = 2.0
# The soonest a connection's timeout timer fires again (a deadline met to the
# millisecond by a coarse clock must not make it spin).
MIN_CHECK = 0.05


class ServedConnection(asyncio.Protocol, ABC):
    PROTOCOL_CODE = 0  # status.PROTOCOLS: 1 FastCGI, 2 HTTP (for the scoreboard)

    def __init__(self, state: ServerState, listener: str) -> None:
        self.state = state
        self.listener = listener
        self.settings = state.settings
        self.runner = state.runner
        self.transport: asyncio.Transport | None = None
        self.flow: FlowControl | None = None
        self.peer = listener
        self.on_unix = "+unix://" in listener  # a unix-socket listener (see sockets.describe)
        self.last_activity = time.monotonic()
        self._closing = False
        self.exchanges: dict[int, Any] = {}  # request id -> serve.runner.Exchange
        self.unix_peer = False  # an HTTP peer on a unix socket (see Exchange.unix_client)
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.flow = FlowControl(transport, self.state.threaded)  # type: ignore[arg-type]
        # A unix socket's peer has no name: the listener names it. (Nagle is
        # off on a TCP connection already: see worker.AcceptedSocket.)
        if not self.on_unix:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple):
                self.peer = f"{peer[0]}:{peer[1]}"
        state = self.state
        state.connections.add(self)
        if state.slot is not None:
            state.slot.connection_accepted(len(state.connections))
        self.watch(self.last_activity)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        state = self.state
        state.connections.discard(self)
        self._abort_all()
        self.flow.close()
        if state.slot is not None:
            state.slot.counts(len(state.connections), len(state.inflight))
        state.on_connection_closed()

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()

    @abstractmethod
    def _abort_all(self) -> None:
        """The connection is gone: abort every request on it."""

    # -- timeouts --------------------------------------------------------------------
    #
    # Each connection has one timer, armed for the moment its nearest timeout
    # could pass (``deadline``); when it fires, ``check_timeouts`` acts on
    # what did pass and the timer is armed again. The worker does not visit
    # every connection each second: ten thousand idle keep-alive connections
    # cost a timer each now and then, spread out in time, instead of a burst
    # of ten thousand calls every second that stalls the loop (and, in thread
    # mode, hands the GIL to app threads in the middle of it).
    #
    # A subclass's ``deadline`` is capped so that the timer fires before any
    # deadline a later change of state could set (a head beginning on an idle
    # connection, say), which is why no request has to re-arm it.

    @abstractmethod
    def deadline(self, now: float) -> float | None:
        """When to check this connection's timeouts next (None: never)."""

    @abstractmethod
    def check_timeouts(self, now: float) -> None:
        """Enforce the timeouts that have passed by ``now``."""

    def watch(self, now: float) -> None:
        """Arm the timeout timer for ``deadline(now)``."""
        deadline = self.deadline(now)
        if deadline is not None:
            self._timer = self.state.loop.call_later(max(deadline - now, MIN_CHECK), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closing or self.transport.is_closing():
            return
        now = time.monotonic()
        self.check_timeouts(now)
        if not self._closing and not self.transport.is_closing():
            self.watch(now)

    # -- shared helpers --------------------------------------------------------------

    def new_body(self, rid: int, streams: bool, on_first_read: Any = None, has_body: bool = True) -> Any:
        """The body buffer for request ``rid``: streamed to an app thread (with
        back-pressure on this connection) or spooled for an inline app
        (``streams``: the request's route, see Runner.route). A request whose
        head says it has no body gets an empty one, already finished."""
        s = self.settings
        if not has_body:
            body = SpooledBody(s.body_memory_limit)
            body.finish()
            return body
        if not streams:
            return SpooledBody(s.body_memory_limit)
        flow = self.flow
        post = self.state.mailbox.post
        return StreamingBody(
            s.body_memory_limit,
            pause=lambda: flow.pause_reading(rid),
            resume=lambda: post(flow.resume_reading, rid),
            on_first_read=on_first_read,
        )

    def declares_too_much(self, params: dict[str, str]) -> bool:
        """Does the request's CONTENT_LENGTH already exceed max_body_size?"""
        limit, declared = self.settings.max_body_size, params.get("CONTENT_LENGTH", "")
        return bool(limit) and declared.isdigit() and int(declared) > limit

    def _on_body(self, rid: int, data: bytes) -> None:
        """Body bytes for request ``rid``: into its buffer, or, the first time
        they pass max_body_size, to the protocol's ``_body_too_large``."""
        ex = self.exchanges.get(rid)
        if ex is None or ex.done:
            return
        limit = self.settings.max_body_size
        if limit and ex.body.received + len(data) > limit:
            if not ex.too_large:
                ex.too_large = True
                self._body_too_large(ex)
            return
        ex.body.write(data)

    @abstractmethod
    def _body_too_large(self, ex: Any) -> None:
        """Answer 413, or make the app's next read fail (``ex.too_large`` is set)."""

    def log_access(self, ex: Any, protocol: str) -> None:
        """A finished exchange: no longer in flight, and one access-log line
        (nothing without an access log, or for a request that got no response head)."""
        if ex is None:
            return
        state = self.state
        state.request_finished(ex)
        log = state.access_log
        if log is None or ex.status is None:
            return
        if log.add(log.render(ex.params, ex, state, protocol)):
            state.loop.call_soon(log.flush)

    def too_large(self) -> str:
        return f"request body larger than max_body_size ({self.settings.max_body_size} bytes)"

    def close_lingering(self) -> None:
        """Half-close, then let the peer close (or close after LINGER seconds).

        Closing a socket that still has unread input makes the kernel send
        RST, which can destroy the end of the response still in flight to
        the peer; php-fpm and flup linger the same way.
        """
        if self._closing or self.transport.is_closing():
            return
        self._closing = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            # The timeout timer's slot: no timeout matters any more, and
            # connection_lost cancels it when the peer closes first (as it
            # nearly always does), instead of leaving one timer a connection
            # in the loop's heap for LINGER seconds.
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.state.loop.call_later(LINGER, self.transport.close)
        else:
            self.transport.close()
