"""Threads probe: JSON describing the threads of the process that ran the request.

``active_count``, ``names`` (sorted), ``current`` (this thread's name), ``is_main``
(True when the app runs on the main thread, e.g. inline with ``threads = 0``) and
``pid``.
"""

import json
import os
import threading


def app(environ, start_response):
    payload = json.dumps(
        {
            "active_count": threading.active_count(),
            "names": sorted(thread.name for thread in threading.enumerate()),
            "current": threading.current_thread().name,
            "is_main": threading.current_thread() is threading.main_thread(),
            "pid": os.getpid(),
        }
    ).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
