"""Router: one daemon, several fixture apps, chosen by the first path segment.

``/echo/...`` -> echo, ``/stream`` -> stream, ``/closing`` -> closing,
``/stderr`` -> stderr, ``/error`` -> error, ``/validated/...`` -> validated,
``/hello`` -> hello. The environ is passed through unchanged, so the apps see
the SCRIPT_NAME and PATH_INFO the server derived.
"""

from __future__ import annotations

from tests.apps import closing, echo, error, hello, stderr, stream, validated

APPS = {
    "echo": echo.app, "stream": stream.app, "closing": closing.app, "stderr": stderr.app,
    "error": error.app, "validated": validated.app, "hello": hello.app,
}  # fmt: skip


def app(environ, start_response):
    first = environ.get("PATH_INFO", "/").lstrip("/").partition("/")[0]
    target = APPS.get(first)
    if target is None:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
    return target(environ, start_response)
