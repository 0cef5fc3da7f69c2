"""asyncio glue for FastCGI: one Protocol per connection over the sans-I/O core.

It owns the transport, flow control and the per-request :class:`Exchange`
objects, turns protocol events into runner calls, and runner calls into
records. Protocol errors are translated here and only here: a
``RemoteProtocolError`` closes the connection with one log line naming the
peer and the reason, never a traceback.

Request dispatch: in thread mode the app is started when PARAMS end (the body
streams into ``wsgi.input``); in inline mode when STDIN ends, with the body
spooled to memory or a temporary file.
"""

from __future__ import annotations

import logging
import time

from fcgigate.buffers import BodyTooLarge
from fcgigate.protocols.errors import ProtocolError
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    ErrorData,
    RequestAborted,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseStart,
)
from fcgigate.protocols.fastcgi import FastCGIConnection, closing_trailer
from fcgigate.serve.connection import ServedConnection
from fcgigate.serve.runner import ERROR_413, Exchange
from fcgigate.serve.state import ServerState

error_log = logging.getLogger("fcgigate.error")


class FastCGIProtocol(ServedConnection):
    PROTOCOL_CODE = 1

    def __init__(self, state: ServerState, listener: str) -> None:
        super().__init__(state, listener)
        self.conn = FastCGIConnection(state.settings.fastcgi)

    # -- asyncio.Protocol ------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # we are closing after the last response: nothing new starts
        self.last_activity = time.monotonic()
        try:
            events = self.conn.feed(data)
        except ProtocolError as exc:
            error_log.warning("fastcgi %s: closing the connection: %s", self.peer, exc)
            self._abort_all()
            self.transport.close()
            return
        out = self.conn.data_to_send()
        if out:
            self.transport.write(out)
            if self.conn.close_when_idle and not self.conn.active_requests:
                # Everything was answered by the protocol itself (an unknown
                # role, say) on a connection the peer does not keep.
                self._finished(0)
                return
        for event in events:
            kind = type(event)
            if kind is BodyData:
                self._on_body(event.request_id, event.data)
            elif kind is RequestStarted:
                self._on_request(event)
            elif kind is BodyEnd:
                ex = self.exchanges.get(event.request_id)
                if ex is not None:
                    ex.body.finish()  # even if an app thread already answered
                    if not ex.done and not ex.route.streams:
                        self.runner.start(ex)
            elif kind is RequestAborted:
                self._on_abort(event.request_id)

    def eof_received(self) -> bool:
        # The web server closed its side: it abandons every request on this
        # connection (nginx does so on a client abort). Returning False closes.
        for event in self.conn.feed(b""):
            ex = self.exchanges.pop(event.request_id, None)
            if ex is not None:
                ex.abort()
        return False

    # -- events ----------------------------------------------------------------------

    def _on_request(self, event: RequestStarted) -> None:
        s = self.settings
        rid = event.request_id
        params = event.params  # ours: the protocol built it for this request
        route, split = self.runner.route(params)
        body = self.new_body(rid, route.streams)
        params["FCGI_ROLE"] = event.role  # as flup does; an AUTHORIZER app needs to know
        ex = Exchange(
            self, self.flow, rid, params, body, s.stderr_limit, self.state.mailbox.post, route, split
        )
        self.exchanges[rid] = ex
        if self.declares_too_much(params):
            ex.too_large = True
            self._body_too_large(ex)
            return
        if route.streams:
            self.runner.start(ex)

    def _body_too_large(self, ex: Exchange) -> None:
        """Answer 413 (or let the running app's read fail with BodyTooLarge).
        The connection stays usable: the rest of the body is STDIN for an
        inactive request id, which the protocol drops."""
        if ex.route.streams and ex.body.received:
            # The app is already reading: its next read raises, and the runner
            # turns that into a 413 if no response has started.
            ex.body.abort(BodyTooLarge(self.too_large()))
            return
        error_log.warning("fastcgi %s: %s: %s", self.peer, ex.describe(), self.too_large())
        ex.done = True
        ex.aborted = True  # the app, if queued, is not called
        ex.body.abort()
        self.respond(
            ex,
            "413 Content Too Large",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(ERROR_413)))],
            ERROR_413,
        )

    def _on_abort(self, rid: int) -> None:
        ex = self.exchanges.pop(rid, None)
        if ex is not None:
            ex.abort()
        if self.conn.is_active(rid):
            # FCGI_ABORT_REQUEST: end it now; the app, if still running, finds
            # out at its next write or read.
            self.transport.write(self.conn.send(ResponseEnd(rid)))
        self._finished(rid)

    def _abort_all(self) -> None:
        exchanges, self.exchanges = self.exchanges, {}
        for ex in exchanges.values():
            ex.abort()

    def _finished(self, rid: int) -> None:
        self.log_access(self.exchanges.pop(rid, None), "fastcgi")
        # A request that ended without reading all its body may hold reading
        # paused; the rest of its STDIN is dropped by the protocol.
        self.flow.resume_reading(rid)
        if (self.conn.close_when_idle or self.state.stopping) and not self.conn.active_requests:
            # While the worker drains, a kept connection closes right after
            # the response it carried, whose END_REQUEST went out with the
            # closing trailer: nginx does not put it back in its cache.
            self.close_lingering()

    # -- the channel the runner drives (loop thread) ---------------------------------

    def _writable(self, rid: int) -> bool:
        return self.conn.is_active(rid) and not self._closing and not self.transport.is_closing()

    def _last_words(self) -> bytes:
        """What follows the END_REQUEST of a draining connection's last request."""
        if self.state.stopping and self.conn.active_requests == 0:
            return closing_trailer()
        return b""

    def respond(self, ex: Exchange, status: str, headers: list, body: bytes) -> None:
        ex.status = status
        ex.bytes += len(body)
        rid = ex.request_id
        if self._writable(rid):
            out = self.conn.respond(rid, status, headers, body)
            self.transport.write(out + self._last_words())
        self._finished(rid)

    def start(self, ex: Exchange, status: str, headers: list, first: bytes) -> None:
        ex.status = status
        ex.bytes += len(first)
        rid = ex.request_id
        if self._writable(rid):
            out = self.conn.send(ResponseStart(rid, status, headers))
            if first:
                out += self.conn.send(ResponseData(rid, first))
            self.transport.write(out)

    def data(self, ex: Exchange, chunk: bytes) -> None:
        ex.bytes += len(chunk)
        rid = ex.request_id
        if self._writable(rid):
            self.transport.write(self.conn.send(ResponseData(rid, chunk)))

    def end(self, ex: Exchange) -> None:
        rid = ex.request_id
        if self._writable(rid):
            out = self.conn.send(ResponseEnd(rid))
            self.transport.write(out + self._last_words())
        self._finished(rid)

    def stderr(self, ex: Exchange, data: bytes) -> None:
        rid = ex.request_id
        if self._writable(rid):
            self.transport.write(self.conn.send(ErrorData(rid, data)))

    def broken(self, ex: Exchange, reason: str) -> None:
        error_log.error("fastcgi %s: request %d: %s; closing the connection", self.peer, ex.request_id,
                        reason)  # fmt: skip
        self._abort_all()
        self.transport.abort()

    # -- maintenance -----------------------------------------------------------------

    def deadline(self, now: float) -> float | None:
        idle_timeout = self.settings.idle_timeout
        if self._closing:
            return None
        if self.conn.active_requests or self.exchanges:
            return now + max(idle_timeout, 1.0)  # busy: look again later
        return self.last_activity + idle_timeout

    def check_timeouts(self, now: float) -> None:
        """Enforce ``idle_timeout``."""
        self.close_if_idle(now, self.settings.idle_timeout)

    def close_if_idle(self, now: float, idle_timeout: float) -> None:
        """Close a connection that carries no request and has been quiet too long
        (or at once when ``idle_timeout`` is 0, during a graceful stop)."""
        if not self.conn.active_requests and not self.exchanges and now - self.last_activity >= idle_timeout:
            self._closing = True
            self.transport.close()
