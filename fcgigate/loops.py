"""Pick the event loop implementation: uvloop when present ("auto"), else asyncio."""

from __future__ import annotations

import asyncio


def new_event_loop(kind: str = "auto") -> asyncio.AbstractEventLoop:
    """A new event loop of ``kind`` ("auto", "uvloop" or "asyncio").

    "uvloop" fails loudly when uvloop is not installed; "auto" falls back.
    """
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
