"""Mounted apps: each answers JSON naming itself, with what PEP 3333 routing gave it.

``a``, ``ab`` (for ``/a/b``, inside ``a``'s prefix), ``b`` and ``root`` differ only in
their name, so a test of ``[mount:/prefix]`` dispatch can see which app answered,
its SCRIPT_NAME and PATH_INFO, the thread it ran on (``fcgigate-app...`` in a pool,
``MainThread`` inline) and the request body's length (read to its end).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any


def _named(name: str) -> Callable[[dict[str, Any], Any], list[bytes]]:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        payload = json.dumps(
            {
                "app": name,
                "SCRIPT_NAME": environ["SCRIPT_NAME"],
                "PATH_INFO": environ["PATH_INFO"],
                "thread": threading.current_thread().name,
                "multithread": environ["wsgi.multithread"],
                "body_len": len(body),
            }
        ).encode("ascii")
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    return app


a = _named("a")
ab = _named("ab")
b = _named("b")
root = _named("root")
