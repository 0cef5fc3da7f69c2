"""Pid: answers the pid of the worker that served the request, for tests that
watch workers being replaced (reload, upgrade, recycling).

The body is the pid and a newline, followed by the request body exactly as
received (so a POST shows whether it arrived whole). ``Content-Length`` is set.
"""

import os


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    parts = []
    while length > 0:
        data = stream.read(min(length, 65536))
        if not data:
            break
        parts.append(data)
        length -= len(data)
    body = f"{os.getpid()}\n".encode("ascii") + b"".join(parts)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
