"""Request bodies between the event loop (the writer) and the app (the reader).

Two shapes, one reading interface (``read``, ``readline``, ``readlines``,
iteration), which is what ``wsgi.input`` exposes:

* :class:`SpooledBody` holds a body that is complete before the app runs (the
  inline mode, ``threads = 0``, where the app must never wait for the network).
  It stays in memory up to ``memory_limit`` bytes and spills to an anonymous
  temporary file past that, so a 1 GB upload costs disk, not memory.
* :class:`StreamingBody` lets an app thread read the body while it arrives.
  Unread bytes are bounded: past ``memory_limit`` the writer is told to pause
  (the glue stops reading the socket), and the reader resumes it once it has
  drained below half of that (hysteresis, so a slow reader does not flip the
  socket on every read).

Neither ever returns bytes past the end of the body, and a body whose peer went
away raises :class:`BodyAborted` in the reader instead of blocking forever.
"""

from __future__ import annotations

import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any


class BodyAborted(OSError):
    """The client went away (or the request was aborted) before the body ended."""


class BodyTooLarge(BodyAborted):
    """The request body went past ``max_body_size``."""


_GONE = "client disconnected before the request body was read"


class _Reader(ABC):
    """readlines and iteration, for bodies that implement read and readline."""

    @abstractmethod
    def read(self, size: int | None = -1) -> bytes: ...

    @abstractmethod
    def readline(self, size: int | None = -1) -> bytes: ...

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class SpooledBody(_Reader):
    """A complete body: memory up to ``memory_limit``, then a temporary file.

    The spool is made at the first byte: most requests (GET) have no body, and
    making and finalizing a SpooledTemporaryFile for each cost a few per cent
    of a hello-world request.
    """

    # Defaults as class attributes: one is made per request, and this is
    # the whole cost of a request without a body.
    _file: Any = None
    received = 0
    finished = False
    aborted = False
    error: BodyAborted | None = None  # set with aborted

    def __init__(self, memory_limit: int) -> None:
        self._limit = memory_limit

    @property
    def spilled(self) -> bool:
        return bool(getattr(self._file, "_rolled", False))

    # writer side (event loop)
    def write(self, data: bytes) -> None:
        if self._file is None:
            self._file = tempfile.SpooledTemporaryFile(max_size=self._limit)  # noqa: SIM115 - closed by close()
        self._file.write(data)
        self.received += len(data)

    def finish(self) -> None:
        self.finished = True
        if self._file is not None:
            self._file.seek(0)

    def abort(self, error: BodyAborted | None = None) -> None:
        self.aborted = True
        self.error = error or BodyAborted(_GONE)

    # reader side (app)
    def read(self, size: int | None = -1) -> bytes:
        if self.aborted:
            raise self.error
        if self._file is None:
            return b""
        if size is None or size < 0:
            return self._file.read()
        return self._file.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        if self.aborted:
            raise self.error
        if self._file is None:
            return b""
        return self._file.readline(-1 if size is None else size)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class StreamingBody(_Reader):
    """A body read by an app thread while the event loop is still receiving it.

    ``pause`` and ``resume`` are called on the writer's side of the fence:
    ``pause`` from :meth:`write` (the loop thread), ``resume`` from a reading
    thread, so the glue passes a ``resume`` that hops back onto the loop
    (``loop.call_soon_threadsafe``).
    """

    def __init__(
        self,
        memory_limit: int,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
        on_first_read: Callable[[], None] | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._limit = max(1, memory_limit)
        self._pause = pause
        self._resume = resume
        self._on_first_read = on_first_read
        self._paused = False
        self.received = 0
        self.finished = False
        self.aborted = False
        self.error: BodyAborted | None = None  # set with aborted

    # writer side (event loop)
    def write(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self.received += len(data)
            self._cond.notify_all()
            if len(self._buf) > self._limit and not self._paused and self._pause is not None:
                self._paused = True
                self._pause()

    def finish(self) -> None:
        with self._cond:
            self.finished = True
            self._cond.notify_all()

    def abort(self, error: BodyAborted | None = None) -> None:
        with self._cond:
            self.aborted = True
            self.error = error or BodyAborted(_GONE)
            self._cond.notify_all()

    # reader side (app thread)
    def _wait(self, ready: Callable[[], bool]) -> None:
        """Block until ``ready()`` or the end of the body; the lock is held."""
        if self._on_first_read is not None:
            callback, self._on_first_read = self._on_first_read, None
            callback()
        while not ready() and not self.finished:
            if self.aborted:
                raise self.error
            self._cond.wait()
        if self.aborted and not self._buf:
            raise self.error

    def _take(self, n: int) -> bytes:
        data = bytes(self._buf[:n])
        del self._buf[:n]
        if self._paused and len(self._buf) <= self._limit // 2:
            self._paused = False
            if self._resume is not None:
                self._resume()
        return data

    def read(self, size: int | None = -1) -> bytes:
        with self._cond:
            if size is None or size < 0:
                # Everything: drain as it comes so the pause threshold never
                # holds the upload back while we wait for its end.
                parts = []
                while True:
                    self._wait(lambda: bool(self._buf))
                    if not self._buf and self.finished:
                        return b"".join(parts)
                    parts.append(self._take(len(self._buf)))
            self._wait(lambda: len(self._buf) >= size)
            return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        with self._cond:
            limit = -1 if size is None else size
            while True:
                newline = self._buf.find(b"\n")
                if newline >= 0:
                    n = newline + 1
                    return self._take(n if limit < 0 else min(n, limit))
                if 0 <= limit <= len(self._buf) or self.finished:
                    return self._take(len(self._buf) if limit < 0 else limit)
                # Wait for more bytes (or the end), whatever they are.
                seen = len(self._buf)
                self._wait(lambda seen=seen: len(self._buf) > seen)

    def close(self) -> None:
        return
