"""Slowpage: ``/slow?started=MARK&release=PATH&seconds=S`` creates the file MARK,
then waits until the file PATH exists (or S seconds pass, default 120) before
answering ``released`` (or ``gave up``); every other path answers 404 at once.

For the status page in a browser: served inline (``threads = 0``) the slow
request blocks its worker's event loop, so that worker accepts nothing and
shows busy, while what the browser fetches besides the page (``/favicon.ico``)
goes to another worker and is answered without making it busy. The test ends
the wait by creating PATH, so that the daemon then stops promptly; MARK tells
it, without a connection that the blocked worker might have accepted, that the
worker is blocked.
"""

import os
import time
from urllib.parse import parse_qs

POLL = 0.05


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/slow":
        body = b"not here\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    deadline = time.monotonic() + float(query.get("seconds", 120))
    if query.get("started"):
        with open(query["started"], "a"):
            pass
    release = query.get("release")
    while not (release and os.path.exists(release)) and time.monotonic() < deadline:
        time.sleep(POLL)
    body = b"released" if release and os.path.exists(release) else b"gave up"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
