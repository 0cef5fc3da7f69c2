"""The event vocabulary shared by the FastCGI and HTTP protocols.

Both wire protocols turn bytes into the same request events and take the same
response events, so that ``serve/runner.py`` and ``wsgi.py`` never care which
protocol a request came over. A request is identified by ``request_id``: the
FastCGI request id, or for HTTP a per-connection sequence number.

Request side (protocol -> glue):
    RequestStarted  the request head is complete; ``params`` holds CGI
                    meta-variables (``REQUEST_METHOD``, ``HTTP_*``...) as
                    latin-1 ``str``, exactly what a CGI environment holds.
                    ``has_body`` False: the head says there is no body (an
                    HTTP request without Content-Length or Transfer-Encoding),
                    so BodyEnd follows with nothing before it.
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

# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__,
# three times slower, and every request makes several of these. Nothing
# mutates an event once made.


@dataclass(slots=True)
class RequestStarted:
    request_id: int
    params: dict[str, str]
    keep_conn: bool = True
    role: str = "RESPONDER"
    has_body: bool = True


@dataclass(slots=True)
class BodyData:
    request_id: int
    data: bytes


@dataclass(slots=True)
class BodyEnd:
    request_id: int


@dataclass(slots=True)
class RequestAborted:
    request_id: int


@dataclass(slots=True)
class ResponseStart:
    request_id: int
    status: str
    headers: list[tuple[str, str]]


@dataclass(slots=True)
class ResponseData:
    request_id: int
    data: bytes


@dataclass(slots=True)
class ResponseEnd:
    request_id: int
    app_status: int = 0


@dataclass(slots=True)
class ErrorData:
    request_id: int
    data: bytes


RequestEvent = RequestStarted | BodyData | BodyEnd | RequestAborted
ResponseEvent = ResponseStart | ResponseData | ResponseEnd | ErrorData
