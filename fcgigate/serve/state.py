"""What every connection of one serving process shares.

It lives down here, below the protocol glue, so that ``serve/*`` never has to
import ``worker.py`` (uvicorn's protocols import their server back, which is
the import circle this avoids).
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import ipaddress
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from fcgigate.protocols.fastcgi import Limits
from fcgigate.protocols.http import HTTPLimits


@dataclass(frozen=True)
class ServeSettings:
    """The settings the glue needs, by value (the glue never sees Config)."""

    mount: str = ""
    threads: int = 0
    mounts: tuple[
        tuple[str, int], ...
    ] = ()  # [mount:/prefix] sections: (prefix, threads); apps in ServerState
    body_memory_limit: int = 1024 * 1024
    max_body_size: int = 1024**3  # 0: unlimited
    stderr_limit: int = 64 * 1024
    idle_timeout: float = 75.0
    multiprocess: bool = False
    fastcgi: Limits = field(default_factory=Limits)
    http: HTTPLimits = field(default_factory=HTTPLimits)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    server_header: str = "fcgigate"
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1/32", "::1/128")

    def __post_init__(self) -> None:
        allow = self.forwarded_allow_ips
        networks = tuple(ipaddress.ip_network(n) for n in allow if n != "*")
        object.__setattr__(self, "_trust_all", "*" in allow)
        object.__setattr__(self, "_networks", networks)

    def trusts(self, address: str) -> bool:
        """Is ``address`` (a peer IP) allowed to set the proxy headers?"""
        if self._trust_all:  # type: ignore[attr-defined]
            return True
        try:
            ip = ipaddress.ip_address(address.partition("%")[0])
        except ValueError:
            return False
        return any(ip in network for network in self._networks)  # type: ignore[attr-defined]


class Mailbox:
    """Calls from app threads to the loop, with one wake-up per batch.

    ``loop.call_soon_threadsafe`` writes to the loop's self-pipe on every
    call; under load most of those wake-ups are wasted, because the loop is
    already awake. Here a thread appends to a deque and wakes the loop only
    when no wake-up is pending. The loop clears the flag *before* it drains,
    so a call appended during the drain is either drained now or schedules a
    new wake-up: none is lost (at worst one wake-up is spare). deque.append and
    popleft are atomic under the GIL, so no lock is taken.
    """

    __slots__ = ("_loop", "_calls", "_pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: collections.deque = collections.deque()
        self._pending = False

    def post(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread soon (callable from any thread)."""
        self._calls.append((fn, args))
        if not self._pending:
            self._pending = True
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._pending = False
        calls = self._calls
        while calls:
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:
                logging.getLogger("fcgigate.error").exception("a call posted to the event loop failed")


class ServerState:
    """Per-process serving state: the app, the loop, live connections, counters."""

    def __init__(
        self,
        app: Any,
        settings: ServeSettings,
        loop: asyncio.AbstractEventLoop,
        mount_apps: tuple[Any, ...] = (),
    ) -> None:
        self.app = app  # the root app; None when only mounts serve (unmatched paths: 404)
        self.mount_apps = mount_apps  # one per settings.mounts, in that order
        self.settings = settings
        self.loop = loop
        self.connections: set[Any] = set()
        self.requests_served = 0
        self.pid = os.getpid()
        self.started = time.monotonic()
        self.stopping = False
        self.mailbox = Mailbox(loop)
        # Does any app run in threads (the root app or a mount)? Else no
        # connection needs its flow control to be thread-safe.
        self.threaded = settings.threads > 0 or any(threads for _, threads in settings.mounts)
        self._server_line = (
            f"Server: {settings.server_header}\r\n".encode("latin-1") if settings.server_header else b""
        )
        # Date and Server header lines of HTTP responses, made once a second
        # by the worker's tick rather than per response.
        self.extra_headers = b""
        self.log_time = ""
        self.access_log: Any = None  # logs.AccessLog, given by the worker (the glue never imports logs)
        self.tick_date()
        self.runner: Any = None  # set by the worker: serve.runner.Runner
        self.slot: Any = None  # the worker's scoreboard slot (status.Slot), if any
        self.pages: Any = None  # statuspage.StatusPages, answered before the app, if any
        # Requests the app is serving, oldest first (Exchange -> None: an
        # ordered set), which the worker's tick watches for slow ones; and
        # whether the access log wants the app thread's CPU time measured.
        self.inflight: dict[Any, None] = {}
        self.measure_cpu = False
        # max_requests: after this many requests, call on_retire (0: never).
        self.retire_at = 0
        self.on_retire: Any = lambda reason: None
        # Called by the glue when a connection closes (the worker resumes
        # accepting if it had stopped at max_connections).
        self.on_connection_closed: Any = lambda: None

    def request_started(self, ex: Any) -> None:
        """``ex`` goes to the app. The scoreboard shows the oldest request in
        progress: this one if the worker was idle."""
        inflight = self.inflight
        inflight[ex] = None
        slot = self.slot
        if slot is not None:
            if len(inflight) == 1:
                client = ex.params.get("REMOTE_ADDR", "")
                slot.request_started(ex.channel.PROTOCOL_CODE, ex.describe(), client, len(self.connections))
            else:
                slot.count_request(len(self.connections), len(inflight))
            if self.settings.mounts:  # without mounts, every request is the root app's: no counter
                slot.count_route(ex.route.index)

    def request_finished(self, ex: Any) -> None:
        """``ex`` is answered, aborted or ended: the scoreboard then shows the
        next oldest request in progress, or none."""
        inflight = self.inflight
        if ex not in inflight:
            return
        slot = self.slot
        if len(inflight) == 1:  # the common case: the worker becomes idle
            inflight.clear()
            if slot is not None:
                slot.request_ended(len(self.connections))
            return
        shown = next(iter(inflight)) is ex
        del inflight[ex]
        if slot is not None:
            slot.counts(len(self.connections), len(inflight))
            if shown:
                oldest = next(iter(inflight))
                slot.show_request(oldest.channel.PROTOCOL_CODE, oldest.describe(),
                                  oldest.params.get("REMOTE_ADDR", ""), oldest.started)  # fmt: skip

    def tick_date(self) -> None:
        """Refresh the Date header line (RFC 9110 6.6.1); called once a second."""
        date = email.utils.formatdate(usegmt=True)
        self.extra_headers = self._server_line + f"Date: {date}\r\n".encode("ascii")
        self.log_time = time.strftime("%d/%b/%Y:%H:%M:%S %z")
