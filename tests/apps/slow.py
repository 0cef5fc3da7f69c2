"""Slow: an app whose time goes into functions with names a stack must show.

- ``/sleep?seconds=S`` spends S seconds (default 1) in
  ``sleepy_database_call``, which ``time.sleep``\\ s: wall time, almost no CPU;
  the slow-request log's stack must name it;
- ``/burn?seconds=S`` spends S seconds of its thread's CPU time in
  ``busy_cpu_loop``: CPU time close to wall time;
- anything else answers at once.

Every answer is ``<pid> <path>`` (the worker that served it), with
``Content-Length``.
"""

import os
import time
from urllib.parse import parse_qs


def sleepy_database_call(seconds: float) -> None:
    time.sleep(seconds)


def busy_cpu_loop(seconds: float) -> int:
    spins = 0
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        spins += 1
    return spins


def app(environ, start_response):
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    path = environ.get("PATH_INFO", "")
    seconds = float(query.get("seconds", 1))
    if path == "/sleep":
        sleepy_database_call(seconds)
    elif path == "/burn":
        busy_cpu_loop(seconds)
    body = f"{os.getpid()} {path}".encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
