"""The scoreboard: one slot per worker in memory shared with the master.

The master creates it (an anonymous shared mapping) before it forks; every
worker writes only its own slot, and the master reads all of them without
talking to anyone: that is how it sees heartbeats (a worker whose event loop
stops turning stops stamping), which request a stuck worker was serving, and
when a worker is booted or wants to retire. No lock is taken: each field has
one writer, and a torn read of the request text costs a garbled log line at
worst.

Ground floor: standard library only, no fcgigate import, no side effect at
import (the mapping is made by :class:`Scoreboard`, in the master).
"""

from __future__ import annotations

import mmap
import struct
import time

# pid, generation, state, heartbeat (CLOCK_MONOTONIC, comparable across
# processes on Linux), requests served, start of the current request, the
# current request as "METHOD URI".
SLOT = struct.Struct("=iIB3xdQd160s")

FREE, BOOTING, READY, RETIRING, DRAINING = range(5)

# Offsets of the fields a worker updates on its own, so that it need not
# rewrite the whole slot.
_HEARTBEAT = struct.calcsize("=iIB3x")
_REQUESTS = _HEARTBEAT + 8
_CURRENT = _REQUESTS + 8
_STATE = struct.calcsize("=iI")


class Slot:
    """A worker's view of its own slot (writes) or the master's (reads)."""

    __slots__ = ("_buf", "_offset", "requests")

    def __init__(self, buf: mmap.mmap, index: int) -> None:
        self._buf = buf
        self._offset = index * SLOT.size
        self.requests = 0

    # worker side
    def claim(self, pid: int, generation: int) -> None:
        SLOT.pack_into(self._buf, self._offset, pid, generation, BOOTING, time.monotonic(), 0, 0.0, b"")

    def set_pid(self, pid: int) -> None:
        struct.pack_into("=i", self._buf, self._offset, pid)

    def set_state(self, state: int) -> None:
        self._buf[self._offset + _STATE] = state

    def beat(self) -> None:
        struct.pack_into("=d", self._buf, self._offset + _HEARTBEAT, time.monotonic())

    def request_started(self, description: str) -> None:
        self.requests += 1
        struct.pack_into(
            "=Qd160s", self._buf, self._offset + _REQUESTS, self.requests, time.monotonic(),
            description.encode("latin-1", "replace")[:160],
        )  # fmt: skip

    def request_done(self) -> None:
        struct.pack_into("=d", self._buf, self._offset + _CURRENT, 0.0)

    # master side
    def read(self) -> dict:
        pid, generation, state, heartbeat, requests, started, request = SLOT.unpack_from(
            self._buf, self._offset
        )
        return {
            "pid": pid, "generation": generation, "state": state, "heartbeat": heartbeat,
            "requests": requests, "request_started": started,
            "request": request.rstrip(b"\0").decode("latin-1") if started else "",
        }  # fmt: skip

    def free(self) -> None:
        SLOT.pack_into(self._buf, self._offset, 0, 0, FREE, 0.0, 0, 0.0, b"")


class Scoreboard:
    """``size`` slots in an anonymous shared mapping (made before any fork)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._buf = mmap.mmap(-1, max(1, size) * SLOT.size, flags=mmap.MAP_SHARED)

    def slot(self, index: int) -> Slot:
        if not 0 <= index < self.size:
            raise IndexError(f"scoreboard slot {index} of {self.size}")
        return Slot(self._buf, index)

    def free_index(self) -> int | None:
        for index in range(self.size):
            if self.slot(index).read()["state"] == FREE:
                return index
        return None
