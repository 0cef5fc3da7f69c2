"""Hold N idle keep-alive connections open to an HTTP server, for the idle-connection
scenario (bench/driver.py runs it as a child process; standard library only).

    python bench/idle.py HOST PORT COUNT [--path /] [--parallel 512]

It opens COUNT connections, makes one GET on each (so that each is a kept
connection that has served a request, not a half-open one still in the accept
queue) and reads its answer, then prints one line::

    IDLE_OPEN {"opened": N, "failed": N, "seconds": S, "errors": {...}}

and holds them, sending nothing, until a line arrives on stdin. Then it looks at
each connection: one the server closed meanwhile counts as ``closed``; on the
others it makes one more GET (every held connection must still be served),
prints::

    IDLE_CHECK {"alive": N, "closed": N, "failed": N, "seconds": S, "errors": {...}}

and exits, closing them all. On end of file instead of a line it exits at once.
The driver raises RLIMIT_NOFILE before it starts this process (a file
descriptor per connection). With uvloop (fcgigate's virtualenv has it) 10,000
connections open in about 2.5 s on 2 cores, twice as fast as with asyncio's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter

READ_TIMEOUT = 30.0


class Held:
    """One connection: its streams, and whether it failed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer


async def request(held: Held, head: bytes) -> None:
    """One GET on ``held`` and its whole answer (Content-Length bodies only, as the
    benchmark's apps send), or an exception saying what went wrong."""
    held.writer.write(head)
    await held.writer.drain()
    header = await asyncio.wait_for(held.reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    status_line, _, rest = header.partition(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= 400:
        raise ValueError(f"status {status_line[:40]!r}")
    length = 0
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            raise ValueError("the server closes the connection after the answer")
    if length:
        await asyncio.wait_for(held.reader.readexactly(length), READ_TIMEOUT)


def _kind(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(error, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return "closed"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, OSError):
        return f"oserror {error.errno}"
    return type(error).__name__


async def open_all(
    host: str, port: int, count: int, head: bytes, parallel: int
) -> tuple[list[Held], Counter]:
    gate = asyncio.Semaphore(parallel)
    errors: Counter = Counter()

    async def one() -> Held | None:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), READ_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as error:
                errors[_kind(error)] += 1
                return None
            held = Held(reader, writer)
            try:
                await request(held, head)
            except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
                errors[_kind(error)] += 1
                writer.close()
                return None
            return held

    found = await asyncio.gather(*(one() for _ in range(count)))
    return [held for held in found if held is not None], errors


async def check_all(held: list[Held], head: bytes, parallel: int) -> dict[str, object]:
    gate = asyncio.Semaphore(parallel)
    errors: Counter = Counter()
    outcome: Counter = Counter()

    async def one(conn: Held) -> None:
        if conn.reader.at_eof() or conn.writer.is_closing():
            outcome["closed"] += 1
            return
        async with gate:
            try:
                await request(conn, head)
            except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
                errors[_kind(error)] += 1
                outcome["failed"] += 1
                return
        outcome["alive"] += 1

    began = time.monotonic()
    await asyncio.gather(*(one(conn) for conn in held))
    return {
        "alive": outcome["alive"],
        "closed": outcome["closed"],
        "failed": outcome["failed"],
        "seconds": round(time.monotonic() - began, 3),
        "errors": dict(errors),
    }


async def main_async(args: argparse.Namespace) -> int:
    head = f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n".encode("ascii")
    loop = asyncio.get_running_loop()
    began = time.monotonic()
    held, errors = await open_all(args.host, args.port, args.count, head, args.parallel)
    report = {
        "opened": len(held),
        "failed": args.count - len(held),
        "seconds": round(time.monotonic() - began, 3),
        "errors": dict(errors),
    }
    print("IDLE_OPEN " + json.dumps(report), flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line:
        print("IDLE_CHECK " + json.dumps(await check_all(held, head, args.parallel)), flush=True)
    for conn in held:
        conn.writer.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--path", default="/")
    parser.add_argument("--parallel", type=int, default=512, help="connections being opened at once")
    args = parser.parse_args(argv)
    try:  # uvloop where the driver's Python has it (fcgigate's does): opening is faster
        import uvloop
    except ImportError:
        return asyncio.run(main_async(args))
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
