"""The demo WSGI application that ``make run`` serves (see conf/dev.ini).

``/`` shows what the gateway handed to the app; ``/echo`` answers a POST with the
request body, unchanged. Standard library only, and importing it does nothing.

WSGI hands the app native strings that are really bytes (PEP 3333: each character
is one byte, decoded as latin-1). To show them, the page turns them back into bytes
and decodes those as UTF-8, which is what browsers send, replacing what is not.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from urllib.parse import quote

# The request body /echo accepts, at most; a demo has no business buffering more.
ECHO_MAX_BODY = 1024 * 1024

_SHOWN = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "wsgi.url_scheme")

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>fcgigate</title></head>
<body>
<h1>It works: this is fcgigate</h1>
<p>fcgigate is serving its demo application (over HTTP or FastCGI). This request reached it as:</p>
<table>
{rows}
</table>
<h2>Echo</h2>
<form method="post" action="{echo}">
<p><textarea name="message" rows="3" cols="40">Hello, fcgigate!</textarea></p>
<p><button type="submit">POST to {echo_text}</button></p>
</form>
</body>
</html>
"""

StartResponse = Callable[..., object]


def _text(value: object) -> str:
    """A WSGI native string as readable text (see the module docstring)."""
    if not isinstance(value, str):
        return str(value)
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # not a PEP 3333 string; show it as it is
        return value


def _respond(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str,
    extra: Iterable[tuple[str, str]] = (),
) -> Iterable[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers.extend(extra)
    start_response(status, headers)
    return [body]


def _index(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    cells = ((html.escape(name), html.escape(_text(environ.get(name, "")))) for name in _SHOWN)
    rows = "\n".join(f"<tr><th>{name}</th><td><code>{value}</code></td></tr>" for name, value in cells)
    # SCRIPT_NAME is the mount prefix: the form posts to <prefix>/echo, quoted back
    # into a URL from the raw bytes the web server sent.
    echo_path = environ.get("SCRIPT_NAME", "") + "/echo"
    echo_url = quote(echo_path.encode("latin-1", "replace"), safe="/")
    page = _PAGE.format(rows=rows, echo=html.escape(echo_url), echo_text=html.escape(_text(echo_path)))
    return _respond(start_response, "200 OK", page.encode("utf-8"), "text/html; charset=utf-8")


def _read_body(environ: dict) -> bytes | None:
    """The request body, or None when it is larger than ECHO_MAX_BODY."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > ECHO_MAX_BODY:
        return None
    if not length and environ.get("wsgi.input_terminated"):
        # No CONTENT_LENGTH (a chunked upload passed through unbuffered): read to EOF.
        data = stream.read(ECHO_MAX_BODY + 1)
        return None if len(data) > ECHO_MAX_BODY else data
    return stream.read(length) if length else b""


def _echo(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD") != "POST":
        return _respond(
            start_response,
            "405 Method Not Allowed",
            b"POST something to /echo.\n",
            "text/plain; charset=utf-8",
            [("Allow", "POST")],
        )
    body = _read_body(environ)
    if body is None:
        message = f"The demo echoes at most {ECHO_MAX_BODY} bytes.\n".encode()
        return _respond(start_response, "413 Content Too Large", message, "text/plain; charset=utf-8")
    return _respond(start_response, "200 OK", body, "text/plain; charset=utf-8")


def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI application: ``/`` (the page), ``/echo`` (POST), else 404."""
    path = environ.get("PATH_INFO", "") or "/"
    if path == "/":
        return _index(environ, start_response)
    if path == "/echo":
        return _echo(environ, start_response)
    return _respond(start_response, "404 Not Found", b"Not found.\n", "text/plain; charset=utf-8")
