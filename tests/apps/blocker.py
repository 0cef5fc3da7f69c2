"""Blocker: blocks the thread that runs it with ``time.sleep(seconds)``
(``?seconds=S``, default 30), then answers ``<pid> slept S``.

Served inline (``threads = 0``) it blocks the worker's event loop, so its
heartbeat stops: the fixture for the master's ``timeout`` check.
"""

import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    seconds = float(query.get("seconds", 30))
    time.sleep(seconds)
    body = f"{os.getpid()} slept {seconds}".encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
