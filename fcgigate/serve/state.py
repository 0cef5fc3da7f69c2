"""What every connection of one serving process shares.

It lives down here, below the protocol glue, so that ``serve/*`` never has to
import ``worker.py`` (uvicorn's protocols import their server back, which is
the import circle this avoids).
"""

from __future__ import annotations

import asyncio
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
        self.runner: Any = None  # set by the worker: serve.runner.Runner
        # Called by the glue when a connection closes (the worker resumes
        # accepting if it had stopped at max_connections).
        self.on_connection_closed: Any = lambda: None
