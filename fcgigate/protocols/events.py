"""The event vocabulary shared by the FastCGI and HTTP protocols.

Both wire protocols turn bytes into the same request events and take the same
response events, so that ``serve/runner.py`` and ``wsgi.py`` never care which
protocol a request came over. A request is identified by ``request_id``: the
FastCGI request id, or for HTTP a per-connection sequence number.

Request side (protocol -> glue):
    RequestStarted  the request head is complete; ``params`` holds CGI
                    meta-variables (``REQUEST_METHOD``, ``HTTP_*``...) as
                    latin-1 ``str``, exactly what a CGI environment holds.
    BodyData        a piece of the request body (never empty).
    BodyEnd         the body is complete.
    RequestAborted  the peer asked to abandon the request (FCGI_ABORT_REQUEST).

Response side (glue -> protocol):
    ResponseStart   status line (``"200 OK"``) and headers, as latin-1 ``str``.
    ResponseData    a piece of the response body (may be empty: ignored).
    ResponseEnd     the response is complete; ``app_status`` is FastCGI's
                    appStatus (ignored by HTTP).
    ErrorData       bytes for the web server's error log (FCGI_STDERR).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestStarted:
    request_id: int
    params: dict[str, str]
    keep_conn: bool = True
    role: str = "RESPONDER"


@dataclass(frozen=True, slots=True)
class BodyData:
    request_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class BodyEnd:
    request_id: int


@dataclass(frozen=True, slots=True)
class RequestAborted:
    request_id: int


@dataclass(frozen=True, slots=True)
class ResponseStart:
    request_id: int
    status: str
    headers: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ResponseData:
    request_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ResponseEnd:
    request_id: int
    app_status: int = 0


@dataclass(frozen=True, slots=True)
class ErrorData:
    request_id: int
    data: bytes


RequestEvent = RequestStarted | BodyData | BodyEnd | RequestAborted
ResponseEvent = ResponseStart | ResponseData | ResponseEnd | ErrorData
