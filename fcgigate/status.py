"""The scoreboard: the master's numbers and one slot per worker, in shared memory.

The master creates it (a memfd mapped shared) before it forks; every worker
writes only its own slot, the master only the header, and anyone reads all of
it without talking to anyone: the master sees heartbeats (a worker whose event
loop stops turning stops stamping), which request a stuck worker was serving,
and when a worker is booted or wants to retire; a worker answering the status
page reads every slot; ``fcgigate status`` maps the same memory read-only
through ``/proc/<master pid>/fd`` (the memfd has no name in the filesystem, so
nothing is left behind by a crash). No lock is taken: each field has one
writer, and a torn read costs a wrong number on one status page at worst.

Ground floor: standard library only, no fcgigate import, no side effect at
import (the mapping is made by :class:`Scoreboard`, in the master).
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from typing import Any

MEMFD_NAME = "fcgigate-scoreboard"
MAGIC = b"FCGS0004"  # the layout's version: fcgigate status reads only its own

FREE, BOOTING, READY, RETIRING, DRAINING = range(5)
STATE_NAMES = ("free", "starting", "idle", "retiring", "draining")  # READY is idle or busy
PROTOCOLS = ("", "fastcgi", "http")

# Why workers exited, counted by the master. "crashed" is every exit nobody
# asked for (an exit status or a signal); "signal" counts those of them that a
# signal caused (SIGKILL from the kernel's OOM killer, a SIGSEGV, a kill -9).
EXIT_CAUSES = ("recycled", "retired", "timeout", "crashed", "signal", "boot_failed")

MAX_LISTENERS = 16
MAX_ROUTES = 16  # requests counted per app: the root app (0) and up to 15 [mount:...] sections

# The header: magic, master pid, generation, reloads, start (wall clock), one
# counter per EXIT_CAUSES, requests and connections of workers gone (so that
# totals survive recycling), the number of slots; then per listener: queue
# now, queue max seen, queue limit, the listener's URL. Requests per route of
# workers gone come right after the fixed part (their index is the route's).
_HEAD = struct.Struct(f"=8siIId{len(EXIT_CAUSES)}QQQI4x{MAX_ROUTES}Q")
_EXITS = 28
_PAST = _EXITS + 8 * len(EXIT_CAUSES)
_SIZE = _PAST + 16
_PAST_ROUTES = _SIZE + 8
_ROUTES_FMT = f"={MAX_ROUTES}Q"
_LISTENER = struct.Struct("=III4x112s")
_SLOTS_AT = _HEAD.size + MAX_LISTENERS * _LISTENER.size

# A worker's slot. The per-request fields come last and together, so that a
# request's start is one pack_into and its end another:
#   pid, generation, state, protocol of the current request, heartbeat
#   (CLOCK_MONOTONIC: comparable across processes on Linux), start (wall
#   clock), accepted connections, CPU seconds, RSS bytes, when it last
#   (re)opened its log files (monotonic: the master's built-in rotation waits
#   for it) | open connections, requests in progress, requests served, start
#   of the current request (monotonic; 0: none), "METHOD URI", client address
#   | requests per route (index 0: the root app, then the mounts in file order).
SLOT = struct.Struct("=iIBB2xddQdQd" + "IIQd160s48s" + f"{MAX_ROUTES}Q")
_PROTOCOL = struct.calcsize("=iIB")
_HEARTBEAT = struct.calcsize("=iIBB2x")
_ACCEPTED = _HEARTBEAT + 16
_USAGE = _ACCEPTED + 8
_LOGS = _USAGE + 16
_OPEN = _LOGS + 8
_REQUESTS = _OPEN + 8
_CURRENT = _REQUESTS + 8
_ROUTES = _CURRENT + 8 + 160 + 48
_STATE = struct.calcsize("=iI")
_COUNTS = struct.Struct("=II")
_USAGE_FIELDS = struct.Struct("=dQ")
_STARTED = struct.Struct("=IIQd160s48s")  # at _OPEN: a request starts on an idle worker
_ENDED = struct.Struct("=IIQd")  # at _OPEN: counts, and no current request
_BUSY = struct.Struct("=IIQ")  # at _OPEN: counts only (an older request is shown)


class Slot:
    """A worker's view of its own slot (writes) or anyone's (reads)."""

    __slots__ = ("_buf", "_offset", "requests", "accepted", "_protocol_byte", "_routes")

    def __init__(self, buf: Any, index: int) -> None:
        self._buf = buf
        self._offset = _SLOTS_AT + index * SLOT.size
        self.requests = 0
        self.accepted = 0
        self._routes = [0] * MAX_ROUTES

    # -- the master, around a worker's life
    def claim(self, pid: int, generation: int) -> None:
        SLOT.pack_into(
            self._buf, self._offset, pid, generation, BOOTING, 0, time.monotonic(), time.time(),
            0, 0.0, 0, 0.0, 0, 0, 0, 0.0, b"", b"", *([0] * MAX_ROUTES),
        )  # fmt: skip

    def set_pid(self, pid: int) -> None:
        struct.pack_into("=i", self._buf, self._offset, pid)

    def free(self) -> None:
        SLOT.pack_into(
            self._buf,
            self._offset,
            0,
            0,
            FREE,
            0,
            0.0,
            0.0,
            0,
            0.0,
            0,
            0.0,
            0,
            0,
            0,
            0.0,
            b"",
            b"",
            *([0] * MAX_ROUTES),
        )

    # -- the worker, about itself
    def set_state(self, state: int) -> None:
        self._buf[self._offset + _STATE] = state

    def beat(self) -> None:
        struct.pack_into("=d", self._buf, self._offset + _HEARTBEAT, time.monotonic())

    def connection_accepted(self, open_connections: int) -> None:
        self.accepted += 1
        struct.pack_into("=Q", self._buf, self._offset + _ACCEPTED, self.accepted)
        struct.pack_into("=I", self._buf, self._offset + _OPEN, open_connections)

    def counts(self, open_connections: int, active: int) -> None:
        _COUNTS.pack_into(self._buf, self._offset + _OPEN, open_connections, active)

    def usage(self, cpu_seconds: float, rss_bytes: int) -> None:
        _USAGE_FIELDS.pack_into(self._buf, self._offset + _USAGE, cpu_seconds, rss_bytes)

    def logs_opened(self) -> None:
        """This worker has (re)opened its log files: the master may rotate again."""
        struct.pack_into("=d", self._buf, self._offset + _LOGS, time.monotonic())

    def request_started(self, protocol: int, description: str, client: str, open_connections: int) -> None:
        """A request starts on an idle worker: counted, and shown as current."""
        self.requests += 1
        buf, offset = self._buf, self._offset
        _STARTED.pack_into(
            buf,
            offset + _OPEN,
            open_connections,
            1,
            self.requests,
            time.monotonic(),
            description.encode("latin-1", "replace"),
            client.encode("latin-1", "replace"),
        )  # fmt: skip ("s" fields cut what is longer)
        buf[offset + _PROTOCOL] = protocol

    def count_request(self, open_connections: int, active: int) -> None:
        """A request starts while an older one is shown: counted only."""
        self.requests += 1
        _BUSY.pack_into(self._buf, self._offset + _OPEN, open_connections, active, self.requests)

    def request_ended(self, open_connections: int) -> None:
        """The worker's last request in progress ended: counts, and none shown."""
        _ENDED.pack_into(self._buf, self._offset + _OPEN, open_connections, 0, self.requests, 0.0)

    def show_request(self, protocol: int, description: str, client: str, started: float) -> None:
        """Show an older request in progress as current (the one shown ended)."""
        buf, offset = self._buf, self._offset
        struct.pack_into(
            "=d160s48s", buf, offset + _CURRENT, started,
            description.encode("latin-1", "replace"), client.encode("latin-1", "replace"),
        )  # fmt: skip
        buf[offset + _PROTOCOL] = protocol

    def count_route(self, index: int) -> None:
        """A request went to route ``index`` (the root app 0, mounts 1...)."""
        count = self._routes[index] = self._routes[index] + 1
        struct.pack_into("=Q", self._buf, self._offset + _ROUTES + 8 * index, count)

    # -- anyone
    def read(self) -> dict[str, Any]:
        fields = SLOT.unpack_from(self._buf, self._offset)
        (pid, generation, state, protocol, heartbeat, started, accepted, cpu, rss, logs_opened,
         open_connections, active, requests, request_started, request, client) = fields[:16]  # fmt: skip
        return {
            "pid": pid, "generation": generation, "state": state, "heartbeat": heartbeat,
            "started": started, "accepted": accepted, "open_connections": open_connections,
            "active": active, "cpu_seconds": cpu, "rss_bytes": rss, "logs_opened": logs_opened,
            "requests": requests,
            "request_started": request_started,
            "request": request.rstrip(b"\0").decode("latin-1") if request_started else "",
            "client": client.rstrip(b"\0").decode("latin-1") if request_started else "",
            "protocol": PROTOCOLS[protocol] if request_started and protocol < len(PROTOCOLS) else "",
            "routes": list(fields[16:]),
        }  # fmt: skip


class Scoreboard:
    """The header and ``size`` slots, in a shared memfd mapping (made before any fork)."""

    def __init__(self, size: int, buf: Any = None, fd: int | None = None) -> None:
        self.size = size
        self.fd = fd
        if buf is None:
            length = _SLOTS_AT + max(1, size) * SLOT.size
            self.fd = os.memfd_create(MEMFD_NAME, os.MFD_CLOEXEC)
            os.ftruncate(self.fd, length)
            buf = mmap.mmap(self.fd, length, flags=mmap.MAP_SHARED)
            _HEAD.pack_into(
                buf, 0, MAGIC, 0, 0, 0, 0.0, *([0] * len(EXIT_CAUSES)), 0, 0, size, *([0] * MAX_ROUTES)
            )
        self._buf = buf

    @classmethod
    def attach(cls, pid: int) -> Scoreboard:
        """The scoreboard of the running master ``pid``, read-only (``fcgigate
        status``); OSError when there is none or it may not be read."""
        fd_dir = f"/proc/{pid}/fd"
        for name in os.listdir(fd_dir):
            try:
                target = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            if target.startswith(f"/memfd:{MEMFD_NAME}"):
                with open(f"{fd_dir}/{name}", "rb") as file:
                    buf = mmap.mmap(file.fileno(), 0, prot=mmap.PROT_READ)
                if bytes(buf[:8]) != MAGIC:
                    raise OSError(f"PID {pid}: not an fcgigate scoreboard of this version")
                size = struct.unpack_from("=I", buf, _SIZE)[0]
                return cls(size, buf)
        raise OSError(f"PID {pid} has no fcgigate scoreboard (is it an fcgigate master?)")

    def slot(self, index: int) -> Slot:
        if not 0 <= index < self.size:
            raise IndexError(f"scoreboard slot {index} of {self.size}")
        return Slot(self._buf, index)

    def free_index(self) -> int | None:
        for index in range(self.size):
            if self._buf[_SLOTS_AT + index * SLOT.size + _STATE] == FREE:
                return index
        return None

    # -- the master's header
    def set_master(self, pid: int, generation: int, reloads: int, started: float | None = None) -> None:
        struct.pack_into("=iII", self._buf, 8, pid, generation, reloads)
        if started is not None:
            struct.pack_into("=d", self._buf, 20, started)

    def count_exit(self, cause: str) -> None:
        offset = _EXITS + 8 * EXIT_CAUSES.index(cause)
        (count,) = struct.unpack_from("=Q", self._buf, offset)
        struct.pack_into("=Q", self._buf, offset, count + 1)

    def keep_counts(self, worker: dict[str, Any]) -> None:
        """A worker is gone: its requests and connections stay in the totals."""
        requests, accepted = struct.unpack_from("=QQ", self._buf, _PAST)
        struct.pack_into(
            "=QQ", self._buf, _PAST, requests + worker["requests"], accepted + worker["accepted"]
        )
        past = struct.unpack_from(_ROUTES_FMT, self._buf, _PAST_ROUTES)
        routes = worker.get("routes") or [0] * MAX_ROUTES
        struct.pack_into(
            _ROUTES_FMT, self._buf, _PAST_ROUTES, *(a + b for a, b in zip(past, routes, strict=True))
        )

    def set_listeners(self, queues: list[tuple[str, int, int]]) -> None:
        """Each listener's URL, queue now and limit; the maximum seen is kept
        while the URL stays in the same place."""
        for index in range(MAX_LISTENERS):
            offset = _HEAD.size + index * _LISTENER.size
            if index >= len(queues):
                _LISTENER.pack_into(self._buf, offset, 0, 0, 0, b"")
                continue
            url, depth, limit = queues[index]
            _, seen, _, old_url = _LISTENER.unpack_from(self._buf, offset)
            encoded = url.encode("utf-8", "replace")[:112]
            if old_url.rstrip(b"\0") != encoded:
                seen = 0
            _LISTENER.pack_into(self._buf, offset, depth, max(seen, depth), limit, encoded)

    # -- anyone
    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain data, with the time it was taken (both clocks)."""
        head = _HEAD.unpack_from(self._buf, 0)
        _, pid, generation, reloads, started = head[:5]
        exits = dict(zip(EXIT_CAUSES, head[5 : 5 + len(EXIT_CAUSES)], strict=True))
        past_requests, past_accepted = head[5 + len(EXIT_CAUSES) : 7 + len(EXIT_CAUSES)]
        past_routes = list(head[-MAX_ROUTES:])
        listeners = []
        for index in range(MAX_LISTENERS):
            depth, seen, limit, url = _LISTENER.unpack_from(self._buf, _HEAD.size + index * _LISTENER.size)
            url = url.rstrip(b"\0").decode("utf-8", "replace")
            if url:
                listeners.append({"url": url, "queue": depth, "max_queue": seen, "queue_limit": limit})
        workers = []
        for index in range(self.size):
            slot = Slot(self._buf, index).read()
            if slot["state"] != FREE and slot["pid"]:
                slot["slot"] = index
                workers.append(slot)
        return {
            "pid": pid, "generation": generation, "reloads": reloads, "started": started, "exits": exits,
            "past_requests": past_requests, "past_accepted": past_accepted, "past_routes": past_routes,
            "listeners": listeners, "workers": workers, "now": time.time(), "monotonic": time.monotonic(),
        }  # fmt: skip
