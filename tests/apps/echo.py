"""Echo: what the app saw, as JSON, so tests can assert on the environ and the body.

``GET|POST /anything`` returns a JSON object holding every environ value that is a
str, int or bool (``wsgi.version`` too, as a list; objects such as ``wsgi.input``
are left out), plus ``body_len`` and ``body_sha256`` of the request body read to
its end, and ``read_mode``. ``/echo/raw`` (the PATH_INFO) returns the body itself.

How the body is read is chosen with the query parameter ``read``:
``sized`` (default; ``read(n)`` calls only, which ``wsgiref.validate`` requires),
``all`` (one ``read()``), ``lines`` (``readline()`` loop), ``iter`` (``for line in
input``) or ``readlines``. The body ends at CONTENT_LENGTH, or, with no length and
``wsgi.input_terminated`` true, at EOF.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs

CHUNK = 65536


def read_body(environ: dict, mode: str = "sized") -> bytes:
    stream = environ["wsgi.input"]
    length_text = environ.get("CONTENT_LENGTH") or ""
    length = int(length_text) if length_text.strip() else None
    if length is None and not environ.get("wsgi.input_terminated"):
        length = 0  # PEP 3333: without CONTENT_LENGTH, read nothing
    if mode == "all":
        return stream.read() if length is None else stream.read(length)
    if mode == "lines":
        parts = []
        while line := stream.readline():
            parts.append(line)
        return b"".join(parts)
    if mode == "iter":
        return b"".join(stream)
    if mode == "readlines":
        return b"".join(stream.readlines())
    parts = []
    remaining = length
    while remaining is None or remaining > 0:
        data = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not data:
            break
        parts.append(data)
        if remaining is not None:
            remaining -= len(data)
    return b"".join(parts)


_SKIP = object()


def _jsonable(value: object) -> object:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(item, (str, int, bool)) for item in value):
        return list(value)
    return _SKIP


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    mode = query.get("read", ["sized"])[0]
    body = read_body(environ, mode)
    if environ.get("PATH_INFO") == "/echo/raw":
        content_type = environ.get("CONTENT_TYPE") or "application/octet-stream"
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]
    values = ((key, _jsonable(value)) for key, value in environ.items())
    data = {key: value for key, value in values if value is not _SKIP}
    data["body_len"] = len(body)
    data["body_sha256"] = hashlib.sha256(body).hexdigest()
    data["read_mode"] = mode
    payload = json.dumps(data, sort_keys=True).encode("ascii")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
