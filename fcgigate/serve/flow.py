"""Flow control for one connection: idempotent pause/resume, both directions.

Reading is paused while any request on the connection holds it paused (a
request body its app is not reading fast enough); it resumes when none does.

Writing: asyncio calls ``pause_writing``/``resume_writing`` when the
transport's buffer crosses its high/low water marks. App threads must not run
ahead of that, so :meth:`reserve` makes a writing thread wait while the
transport is paused or while more than ``max_pending`` bytes are already on
their way to the loop (queued with ``call_soon_threadsafe`` but not yet handed
to the transport). The loop calls :meth:`release` once it has written them.
Memory per connection is thus bounded by the transport's high-water mark plus
``max_pending``, whatever the app produces and however slow the client is.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fcgigate.wsgi import ClientDisconnected

MAX_PENDING = 256 * 1024


class _Unshared:
    """The Condition of a connection no app thread ever touches (every app
    inline): nothing to lock, nobody to notify; a lock per connection less."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    def notify_all(self) -> None:
        return None


UNSHARED = _Unshared()


class FlowControl:
    def __init__(
        self, transport: asyncio.Transport, threaded: bool = True, max_pending: int = MAX_PENDING
    ) -> None:
        self._transport = transport
        self.paused_readers: set[int] = set()  # keys holding reading paused (none: reading)
        # reserve() and release() run in app threads only when some app is threaded.
        self._cond: Any = threading.Condition() if threaded else UNSHARED
        self._pending = 0
        self._max_pending = max_pending
        self.write_paused = False
        self.closed = False
        self._on_writable: list = []

    # reading (loop thread)
    def pause_reading(self, key: int) -> None:
        if not self.paused_readers and not self.closed:
            self._transport.pause_reading()
        self.paused_readers.add(key)

    def resume_reading(self, key: int) -> None:
        if key in self.paused_readers:
            self.paused_readers.discard(key)
            if not self.paused_readers and not self.closed:
                self._transport.resume_reading()

    # writing (loop thread)
    def pause_writing(self) -> None:
        with self._cond:
            self.write_paused = True

    def resume_writing(self) -> None:
        with self._cond:
            self.write_paused = False
            self._cond.notify_all()
        callbacks, self._on_writable = self._on_writable, []
        for callback in callbacks:
            callback()

    def when_writable(self, callback) -> None:
        """Call ``callback`` (on the loop) at the next resume_writing."""
        self._on_writable.append(callback)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self._on_writable.clear()

    def release(self, n: int) -> None:
        with self._cond:
            self._pending -= n
            if self._pending <= self._max_pending:
                self._cond.notify_all()

    # writing (app thread)
    def reserve(self, n: int) -> None:
        """Wait until ``n`` more bytes may be queued for the loop."""
        with self._cond:
            while not self.closed and (self.write_paused or self._pending > self._max_pending):
                self._cond.wait()
            if self.closed:
                raise ClientDisconnected("the client closed the connection")
            self._pending += n
