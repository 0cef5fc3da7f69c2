"""What every connection of one serving process shares.

It lives down here, below the protocol glue, so that ``serve/*`` never has to
import ``worker.py`` (uvicorn's protocols import their server back, which is
the import circle this avoids).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fcgigate.protocols.fastcgi import Limits


@dataclass(frozen=True)
class ServeSettings:
    """The settings the glue needs, by value (the glue never sees Config)."""

    mount: str = ""
    threads: int = 0
    body_memory_limit: int = 1024 * 1024
    max_body_size: int = 1024**3  # 0: unlimited
    stderr_limit: int = 64 * 1024
    idle_timeout: float = 75.0
    multiprocess: bool = False
    fastcgi: Limits = field(default_factory=Limits)


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

    def __init__(self, app: Any, settings: ServeSettings, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.settings = settings
        self.loop = loop
        self.connections: set[Any] = set()
        self.requests_served = 0
        self.started = time.monotonic()
        self.stopping = False
        self.mailbox = Mailbox(loop)
        self.runner: Any = None  # set by the worker: serve.runner.Runner
        # Called by the glue when a connection closes (the worker resumes
        # accepting if it had stopped at max_connections).
        self.on_connection_closed: Any = lambda: None
