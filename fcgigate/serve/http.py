"""asyncio glue for HTTP/1.1: one Protocol per connection over the sans-I/O core.

Requests on a connection are answered in order (pipelining): the first one in
``self.queue`` is the one the app works on; the others wait, their bodies
buffered, and reading pauses once ``PIPELINE_LIMIT`` of them are queued. A
request the parser refuses (:class:`RequestRejected`) is answered with its
status after the requests before it, and the connection is then closed: no
byte after the offending request reaches an app.

Timeouts are checked by each connection's timer (``deadline``,
``check_timeouts``; see ServedConnection.watch): a request head must arrive
within ``header_timeout`` of its first byte (slowloris), a body may not stall
longer than ``body_timeout``, and an idle kept-alive connection lives
``keepalive_timeout``.

``Expect: 100-continue`` is answered when the app starts reading
``wsgi.input`` (thread mode), or when the request becomes current (inline
mode, where the body is read before the app runs). An app that answers
without reading the body gets no 100, and the connection is closed after its
response, since the client may or may not send the body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

from fcgigate.buffers import BodyTooLarge
from fcgigate.protocols.events import (
    BodyData,
    BodyEnd,
    RequestStarted,
    ResponseData,
    ResponseEnd,
    ResponseStart,
)
from fcgigate.protocols.http import HTTPConnection, RequestRejected, error_response
from fcgigate.serve.connection import ServedConnection
from fcgigate.serve.runner import Exchange
from fcgigate.serve.state import ServerState
from fcgigate.wsgi import apply_forwarded

error_log = logging.getLogger("fcgigate.error")

PIPELINE_LIMIT = 16  # queued requests past which reading pauses


class HTTPProtocol(ServedConnection):
    PROTOCOL_CODE = 2

    def __init__(self, state: ServerState, listener: str) -> None:
        super().__init__(state, listener)
        self.conn = HTTPConnection(state.settings.http)
        self.queue: deque[Exchange] = deque()
        self.rejection: RequestRejected | None = None
        self.base: dict[str, str] = {}
        self.trusted = False
        self.head_started: float | None = None
        self._paused_for_pipeline = False
        # The longest the timeout timer sleeps (see ServedConnection.watch):
        # the shortest deadline a new head, body or idle spell can set.
        s = state.settings
        timeouts = (s.header_timeout, s.body_timeout, s.keepalive_timeout)
        self._cap = min([t for t in timeouts if t > 0] or [1.0])

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        base = {"REQUEST_SCHEME": "http"}
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            base.update(tls_environ(ssl_object))
        peer = None if self.on_unix else transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            local = transport.get_extra_info("sockname")
            base["REMOTE_ADDR"], base["REMOTE_PORT"] = peer[0], str(peer[1])
            base["SERVER_NAME"], base["SERVER_PORT"] = local[0], str(local[1])
            self.trusted = self.settings.trusts(peer[0])
        else:  # a unix socket: the peer is whoever may open it, i.e. trusted
            base["REMOTE_ADDR"] = "127.0.0.1"
            self.unix_peer = True
            base["SERVER_NAME"], base["SERVER_PORT"] = "localhost", "80"
            self.trusted = True
        self.base = base

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # we said Connection: close; what follows is not read
        now = time.monotonic()
        self.last_activity = now
        if self.head_started is None and not self.queue:
            self.head_started = now
        for event in self.conn.feed(data):
            if self._closing:
                break  # an earlier request in this read closed the connection
            kind = type(event)
            if kind is BodyData:
                self._on_body(event.request_id, event.data)
            elif kind is RequestStarted:
                self._on_request(event)
            elif kind is BodyEnd:
                ex = self.exchanges.get(event.request_id)
                if ex is not None and not ex.body.finished:  # (finished: a request without a body)
                    # Even if an app thread already finished its response
                    # (ex.done is the app's flag): the connection needs to
                    # know the request's bytes are all in.
                    ex.body.finish()
                    if not ex.done and not ex.route.streams and self.queue and self.queue[0] is ex:
                        self.runner.start(ex)
            elif kind is RequestRejected:
                self._on_rejected(event)
        if len(self.queue) > PIPELINE_LIMIT and not self._paused_for_pipeline:
            self._paused_for_pipeline = True
            self.flow.pause_reading(0)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.conn.close()

    def eof_received(self) -> bool:
        # The client half-closed. Requests whose bodies are complete are still
        # answered (then we close); a request cut short is abandoned.
        if self.conn.body_open and self.queue:
            self._abort_all()
            return False
        if not self.queue:
            return False
        self.conn.must_close = True
        return True

    # -- requests ----------------------------------------------------------------------

    def _on_request(self, event: RequestStarted) -> None:
        rid = event.request_id
        params = event.params
        params.update(self.base)
        forwarded = self.trusted and apply_forwarded(params, self.settings.trusts)
        route, split = self.runner.route(params)
        if rid in self.conn.expect_continue:
            post = self.state.mailbox.post
            body = self.new_body(rid, route.streams, lambda: post(self._send_continue, rid), event.has_body)
        else:
            # Without a body: finished already, so an inline app runs now, not at BodyEnd.
            body = self.new_body(rid, route.streams, None, event.has_body)
        ex = Exchange(self, self.flow, rid, params, body, 0, self.state.mailbox.post, route, split)
        if self.unix_peer and not forwarded:
            ex.unix_client = True
        if "CONTENT_LENGTH" in params and self.declares_too_much(params):
            ex.too_large = True  # answered when its turn comes
        self.exchanges[rid] = ex
        queue = self.queue
        queue.append(ex)
        self.head_started = None
        if queue[0] is ex:
            self._begin(ex)

    def _begin(self, ex: Exchange) -> None:
        """``ex`` became the current request: answer or run it."""
        if ex.too_large:
            self._refuse(ex, 413, self.too_large())
            return
        if ex.route.streams:
            self.runner.start(ex)
        else:
            # Inline: the body is read before the app runs, so a client
            # waiting for 100 Continue must get it now.
            if ex.request_id in self.conn.expect_continue:
                self._send_continue(ex.request_id)
            if ex.body.finished:
                self.runner.start(ex)

    def _body_too_large(self, ex: Exchange) -> None:
        """The current request's body passed max_body_size: 413 and close (or,
        while its app reads, fail that read). A queued one gets its 413 when
        its turn comes (``_begin``)."""
        if self.queue and self.queue[0] is ex:
            if ex.route.streams and ex.body.received:
                ex.body.abort(BodyTooLarge(self.too_large()))
                self.conn.must_close = True
            else:
                self._refuse(ex, 413, self.too_large())

    def _on_rejected(self, event: RequestRejected) -> None:
        error_log.info("http %s: request %d refused with %d: %s", self.peer, event.request_id, event.status,
                       event.reason)  # fmt: skip
        self.flow.pause_reading(-1)  # nothing after the bad request is read
        ex = self.exchanges.get(event.request_id)
        if ex is None:
            self.rejection = event
            if not self.queue:
                self._send_rejection()
            return
        # The body of an accepted request was malformed: its app must not take
        # the truncated body for a whole one.
        ex.body.abort()
        self.conn.must_close = True
        if self.queue and self.queue[0] is ex and not ex.aborted:
            self._refuse(ex, event.status, event.reason)

    def _refuse(self, ex: Exchange, status: int, reason: str) -> None:
        """Answer the current request ourselves (the app does not run or its
        output is discarded) and close the connection after it."""
        error_log.warning("http %s: %s: %d %s", self.peer, ex.describe(), status, reason)
        ex.aborted = True
        ex.done = True
        ex.body.abort()
        ex.status = str(status)
        self.log_access(ex, "http")
        self.transport.write(error_response(status, self.state.extra_headers))
        self._close()

    def _send_rejection(self) -> None:
        event, self.rejection = self.rejection, None
        if event is not None and not self._closing and not self.transport.is_closing():
            self.transport.write(error_response(event.status, self.state.extra_headers))
        self._close()

    def _send_continue(self, rid: int) -> None:
        if not self._closing and not self.transport.is_closing():
            out = self.conn.continue_100(rid)
            if out:
                self.transport.write(out)

    def _abort_all(self) -> None:
        queue, self.queue = self.queue, deque()
        self.exchanges.clear()
        for ex in queue:
            ex.abort()

    def _finished(self, ex: Exchange) -> None:
        """The response to ``ex`` is complete: start the next request or close."""
        rid = ex.request_id
        if self.exchanges.pop(rid, None) is ex:
            self.log_access(ex, "http")
            if not ex.body.finished:
                # The app answered without the whole body: the rest of it (or
                # a body the client still waits to send after a 100) cannot be
                # told from the next request. Close after this response.
                self.conn.must_close = True
        queue = self.queue
        if queue and queue[0] is ex:
            queue.popleft()
        flow = self.flow
        if flow.paused_readers:
            flow.resume_reading(rid)
            if self._paused_for_pipeline and len(queue) <= PIPELINE_LIMIT // 2:
                self._paused_for_pipeline = False
                flow.resume_reading(0)
        if self.conn.must_close or self.state.stopping:
            if not queue or self.conn.must_close:
                self._abort_all()
                self._close()
            return
        self.last_activity = time.monotonic()
        if queue:
            self._begin(queue[0])
        elif self.rejection is not None:
            self._send_rejection()

    def _close(self) -> None:
        self.close_lingering()

    # -- the channel the runner drives (loop thread) ---------------------------------

    def _closing_for(self, ex: Exchange) -> None:
        """Say Connection: close in this response's head if we will close after it:
        a stopping server, or a body not wholly received (the rest of it could
        not be told from the next request)."""
        if self.state.stopping or not ex.body.finished:
            self.conn.close_after(ex.request_id)

    def respond(self, ex: Exchange, status: str, headers: list, body: bytes) -> None:
        ex.status = status
        ex.bytes += len(body)
        transport = self.transport
        if not self._closing and not transport.is_closing():
            self._closing_for(ex)
            transport.write(self.conn.respond(ex.request_id, status, headers, body, self.state.extra_headers))
        self._finished(ex)

    def start(self, ex: Exchange, status: str, headers: list, first: bytes) -> None:
        ex.status = status
        ex.bytes += len(first)
        if not self._closing and not self.transport.is_closing():
            self._closing_for(ex)
            rid = ex.request_id
            out = self.conn.send(ResponseStart(rid, status, headers), self.state.extra_headers)
            if first:
                out += self.conn.send(ResponseData(rid, first))
            self.transport.write(out)

    def data(self, ex: Exchange, chunk: bytes) -> None:
        ex.bytes += len(chunk)
        if not self._closing and not self.transport.is_closing():
            self.transport.write(self.conn.send(ResponseData(ex.request_id, chunk)))

    def end(self, ex: Exchange) -> None:
        if not self._closing and not self.transport.is_closing():
            self.transport.write(self.conn.send(ResponseEnd(ex.request_id)))
        self._finished(ex)

    def stderr(self, ex: Exchange, data: bytes) -> None:
        return  # HTTP has no error stream: wsgi.errors already went to the error log

    def broken(self, ex: Exchange, reason: str) -> None:
        error_log.error("http %s: request %d: %s; closing the connection", self.peer, ex.request_id, reason)
        self._abort_all()
        self.transport.abort()

    # -- maintenance -----------------------------------------------------------------

    def deadline(self, now: float) -> float | None:
        s = self.settings
        if self._closing:
            return None
        if self.head_started is not None and self.conn.in_head:
            return self.head_started + s.header_timeout
        if self.queue:
            if self.conn.body_open:
                return self.last_activity + s.body_timeout
            return now + self._cap  # the app has the request: nothing to enforce yet
        return min(self.last_activity + s.keepalive_timeout, now + self._cap)

    def check_timeouts(self, now: float) -> None:
        s = self.settings
        if self.head_started is not None and self.conn.in_head:
            if now - self.head_started > s.header_timeout:
                error_log.info(
                    "http %s: request head not complete after %ss; closing", self.peer, s.header_timeout
                )
                if not self.queue:
                    self.transport.write(error_response(408, self.state.extra_headers))
                self._abort_all()
                self._close()
            return
        if self.queue:
            if self.conn.body_open and now - self.last_activity > s.body_timeout:
                error_log.info("http %s: request body stalled for %ss; closing", self.peer, s.body_timeout)
                self._abort_all()
                self.transport.abort()
            return
        if now - self.last_activity >= s.keepalive_timeout:
            self._closing = True
            self.transport.close()

    def close_if_idle(self, now: float, idle_timeout: float) -> None:
        """Close if no request is in progress and none came for ``idle_timeout``
        seconds (a graceful stop; see Worker._drain)."""
        if not self.queue and not self._closing and now - self.last_activity >= idle_timeout:
            self._closing = True
            self.transport.close()


_DN_NAMES = {
    "commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
    "stateOrProvinceName": "ST", "localityName": "L",
}  # fmt: skip


def tls_environ(ssl_object: Any) -> dict[str, str]:
    """What a TLS connection tells the app, with mod_ssl's names: HTTPS (so
    wsgi.url_scheme is https), the protocol and cipher, and the client
    certificate's subject when one was sent (mutual TLS)."""
    found = {"REQUEST_SCHEME": "https", "HTTPS": "on", "SSL_PROTOCOL": ssl_object.version() or ""}
    cipher = ssl_object.cipher()
    if cipher:
        found["SSL_CIPHER"] = cipher[0]
    peer = ssl_object.getpeercert()
    if peer:
        found["SSL_CLIENT_S_DN"] = ",".join(
            f"{_DN_NAMES.get(k, k)}={v}" for rdn in peer.get("subject", ()) for k, v in rdn
        )
        found["SSL_CLIENT_VERIFY"] = "SUCCESS"
    else:
        found["SSL_CLIENT_VERIFY"] = "NONE"
    return found
