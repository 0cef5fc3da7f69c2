"""The PEP 3333 bridge: CGI meta-variables in, environ out; start_response rules.

Both protocols hand over a request as CGI meta-variables (latin-1 ``str``, as
PEP 3333 wants native strings), so one :func:`build_environ` serves them all.

SCRIPT_NAME and PATH_INFO. nginx sends no PATH_INFO and makes SCRIPT_NAME the
whole path (``$fastcgi_script_name``); Apache does the same. Taken as is, every
URL would look like the application root to the app. So, unless the web server
sent a non-empty PATH_INFO (nginx ``fastcgi_split_path_info``, Apache
``proxy-fcgi-pathinfo``), the split is derived here: the path comes from
REQUEST_URI (what the client asked for, percent-decoded; DOCUMENT_URI changes
under nginx rewrites and ``try_files``), then DOCUMENT_URI, then SCRIPT_NAME;
SCRIPT_NAME becomes the ``mount`` setting when the path lies under it, and
PATH_INFO the rest. Dot segments are removed from the decoded path first, as
nginx does before it matches locations. An empty PATH_INFO is treated as absent: it is what a
copied ``fastcgi_param PATH_INFO $fastcgi_path_info;`` sends without a split,
and honouring it would route every URL to ``/``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import IO, Any
from urllib.parse import unquote_to_bytes

# RFC 9110 5.6.2 token, for header names.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# Field values: visible latin-1 characters, space and tab; no CR, LF or NUL.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"[1-9][0-9]{2} [^\x00-\x08\x0a-\x1f\x7f]*\Z")

# RFC 9110 7.6.1: hop-by-hop headers belong to one connection; the web server
# frames the response for its client, so an app must not send them.
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    )
)

_TRUE_HTTPS = frozenset(("on", "1", "yes", "true"))


class BadResponse(ValueError):
    """The app produced a response that must not reach the client (a 500)."""


class ClientDisconnected(OSError):
    """The client went away: the app's ``write()`` and iteration stop with this."""


def split_path(params: dict[str, str], mount: str) -> tuple[str, str]:
    """(SCRIPT_NAME, PATH_INFO) for a request, as described in the module docstring."""
    path_info = params.get("PATH_INFO")
    if path_info:
        return params.get("SCRIPT_NAME", ""), path_info
    path = request_path(params)
    if mount and (path == mount or path.startswith(mount + "/")):
        return mount, path[len(mount) :]
    return "", path


def request_path(params: dict[str, str]) -> str:
    """The path the client asked for: decoded, without dot segments.

    From REQUEST_URI, else DOCUMENT_URI, else SCRIPT_NAME (the module docstring
    says why); a web server's own non-empty PATH_INFO split is joined back
    (SCRIPT_NAME + PATH_INFO), so that the runner can route any request by its
    whole path.
    """
    path_info = params.get("PATH_INFO")
    if path_info:
        return params.get("SCRIPT_NAME", "") + path_info
    uri = params.get("REQUEST_URI")
    if not uri:
        return params.get("DOCUMENT_URI") or params.get("SCRIPT_NAME", "")
    raw = uri.partition("?")[0]
    if raw.startswith(("http://", "https://")):
        # absolute-form request target (RFC 9112 3.2.2): keep the path only
        raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
    path = unquote_to_bytes(raw).decode("latin-1") if "%" in raw else raw
    if "/." in path:
        path = remove_dot_segments(path)
    return path


def remove_dot_segments(path: str) -> str:
    """``/x/../app/y`` -> ``/app/y`` (RFC 3986 5.2.4, on the decoded path).

    nginx picks a location by the normalised path; the app must see the same
    path, or a request nginx sent to one app (or one access rule) would be
    routed by another inside it. ``..`` never climbs above the root.
    """
    if not path.startswith("/"):
        return path
    segments = path.split("/")
    out: list[str] = []
    for segment in segments[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/" + "/".join(out)


def url_scheme(params: dict[str, str]) -> str:
    https = params.get("HTTPS")
    if https and https.lower() in _TRUE_HTTPS:
        return "https"
    scheme = params.get("REQUEST_SCHEME")
    if scheme == "http" or scheme == "https":
        return scheme
    scheme = (scheme or "").lower()
    return scheme if scheme in ("http", "https") else "http"


def wsgi_constants(
    multithread: bool = False, multiprocess: bool = True, file_wrapper: Any = None
) -> dict[str, Any]:
    """The ``wsgi.*`` keys that are the same for every request of a server
    (made once, copied into each environ)."""
    constants: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.input_terminated": True,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
    }
    if file_wrapper is not None:
        constants["wsgi.file_wrapper"] = file_wrapper
    return constants


def build_environ(
    params: dict[str, str], body: Any, errors: Any, split: tuple[str, str], constants: dict[str, Any]
) -> dict[str, Any]:
    """The WSGI environ for one request.

    ``params`` is not modified. The web server's own variables are kept
    (DOCUMENT_ROOT, REMOTE_USER, SCRIPT_FILENAME...), with these changes:
    SCRIPT_NAME/PATH_INFO are ``split`` (:func:`split_path`'s answer, or the
    pair the runner chose while routing the request to one of several mounted
    apps); an empty CONTENT_LENGTH (a chunked upload behind nginx) removed,
    because PEP 3333 allows it absent and many frameworks choke on
    ``int("")``; HTTP_CONTENT_TYPE and HTTP_CONTENT_LENGTH (nginx passes every
    header) removed, as PEP 3333 wants them only without the prefix;
    SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL and QUERY_STRING given defaults
    when a client such as cgi-fcgi leaves them out. ``constants`` are the
    wsgi.* keys from :func:`wsgi_constants`, made once by a server rather
    than per request.
    """
    environ: dict[str, Any] = dict(params)
    environ["SCRIPT_NAME"], environ["PATH_INFO"] = split
    get = environ.get
    if not get("CONTENT_LENGTH", True):
        del environ["CONTENT_LENGTH"]
    if "HTTP_CONTENT_TYPE" in environ:
        del environ["HTTP_CONTENT_TYPE"]
    if "HTTP_CONTENT_LENGTH" in environ:
        del environ["HTTP_CONTENT_LENGTH"]
    if "QUERY_STRING" not in environ:
        environ["QUERY_STRING"] = ""
    if "SERVER_PROTOCOL" not in environ:
        environ["SERVER_PROTOCOL"] = "HTTP/1.0"
    scheme = url_scheme(params)
    if not get("SERVER_NAME"):
        environ["SERVER_NAME"] = "localhost"
    if not get("SERVER_PORT"):
        environ["SERVER_PORT"] = "443" if scheme == "https" else "80"
    environ.update(constants)
    environ["wsgi.url_scheme"] = scheme
    environ["wsgi.input"] = body
    environ["wsgi.errors"] = errors
    return environ


# Statuses and header fields already found valid. Apps send the same few
# again and again, so each is checked once; bounded (emptied when full), so
# endless distinct values (Set-Cookie, Content-Length) cannot grow them.
_VALID_STATUS: set[str] = set()
_VALID_HEADERS: set[tuple[str, str]] = set()
_VALID_MAX = 4096


def check_status(status: Any) -> str:
    if type(status) is str and status in _VALID_STATUS:
        return status
    if type(status) is not str:
        raise BadResponse(f"status must be a str, got {type(status).__name__}: {status!r}")
    if not _STATUS.match(status):
        raise BadResponse(f"malformed status {status!r} (want e.g. '200 OK')")
    if len(_VALID_STATUS) >= _VALID_MAX:
        _VALID_STATUS.clear()
    _VALID_STATUS.add(status)
    return status


def check_headers(headers: Any) -> list[tuple[str, str]]:
    """Validate response headers; return them as a list.

    Rejects what would corrupt the response or hand the client's connection
    to the app: non-str names or values, names that are not tokens, values
    with CR, LF or NUL (header injection), characters outside latin-1, and
    hop-by-hop headers.
    """
    if type(headers) is not list:
        raise BadResponse(f"headers must be a list, got {type(headers).__name__}")
    valid = _VALID_HEADERS
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise BadResponse(f"header {item!r} is not a (name, value) tuple")
        name, value = item
        if type(name) is not str or type(value) is not str:
            # (a str subclass could hash and compare like a valid field)
            raise BadResponse(f"header {item!r}: name and value must be str")
        if item in valid:
            continue
        if not _TOKEN.match(name):
            raise BadResponse(f"header name {name!r} is not a valid token")
        if _BAD_VALUE.search(value):
            raise BadResponse(f"header {name}: value {value!r} contains control characters (CR/LF/NUL)")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise BadResponse(f"header {name}: value {value!r} is not latin-1") from None
        if name.lower() in HOP_BY_HOP:
            raise BadResponse(f"hop-by-hop header {name!r} is not allowed in a WSGI response")
        if len(valid) >= _VALID_MAX:
            valid.clear()
        valid.add(item)
    return headers


class StartResponse:
    """PEP 3333 ``start_response`` for one request.

    The runner sets ``headers_sent`` once the head went to the web server;
    after that only a call with ``exc_info`` is allowed, and it re-raises the
    app's exception (the PEP's rule), so the runner aborts the response.

    The ``write()`` it returns hands ``(this object, data)`` to ``sink``. It is
    made when asked for, never stored here: an object holding a callable that
    holds it back would be a reference cycle, left to the garbage collector
    with everything it reaches, once per request.
    """

    __slots__ = ("status", "headers", "headers_sent", "sink")

    def __init__(self, sink: Callable[[StartResponse, bytes], None]) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.sink = sink

    def write(self, data: bytes) -> None:
        """PEP 3333's write(): the legacy way to send body bytes."""
        self.sink(self, data)

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the frame <-> traceback cycle
        elif self.status is not None:
            raise BadResponse("start_response called a second time without exc_info")
        # (the check's own cache, tested inline: this runs once a request)
        self.status = status if type(status) is str and status in _VALID_STATUS else check_status(status)
        self.headers = check_headers(headers)
        return self.write


class FileWrapper:
    """``wsgi.file_wrapper``: iterates a file-like object in blocks.

    FastCGI frames every byte in records, so the file is read in blocks and
    sent through the normal path; the runner recognises the wrapper so that a
    protocol that can hand the file to the kernel (HTTP, with sendfile) may.
    """

    def __init__(self, filelike: IO[bytes], blksize: int = 64 * 1024) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block = read(self.blksize)
            if not block:
                return
            yield block


def _forwarded_elements(value: str) -> list[dict[str, str]]:
    """RFC 7239 ``Forwarded``: a list of elements, each a dict of lower-cased keys."""
    elements = []
    for element in value.split(","):
        pairs: dict[str, str] = {}
        for pair in element.split(";"):
            key, eq, val = pair.strip().partition("=")
            if eq:
                pairs[key.strip().lower()] = val.strip().strip('"')
        elements.append(pairs)
    return elements


def _node_address(node: str) -> str:
    """The IP of a ``for=`` node: ``192.0.2.1``, ``"[2001:db8::1]:4711"``, ``192.0.2.1:80``."""
    if node.startswith("["):
        return node[1:].partition("]")[0]
    return node.partition(":")[0] if node.count(":") == 1 else node


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def apply_forwarded(params: dict[str, str], trusts: Callable[[str], bool]) -> bool:
    """Apply proxy headers from a trusted peer to the CGI params, in place.

    ``Forwarded`` (RFC 7239) wins over ``X-Forwarded-For/-Proto/-Host``. The
    client address is found by walking the chain of proxies from the right
    (the entry our own peer added) and skipping proxies we trust: the first
    untrusted hop is the client. Taking the leftmost entry instead would let
    any client name its own address. The caller has already checked that the
    peer itself is trusted. Returns whether REMOTE_ADDR now names a forwarded client.
    """
    forwarded = params.get("HTTP_FORWARDED")
    if forwarded:
        elements = _forwarded_elements(forwarded)
        hops = [_node_address(e["for"]) for e in elements if "for" in e]
        last = elements[-1] if elements else {}
        proto, host = last.get("proto"), last.get("host")
    else:
        xff = params.get("HTTP_X_FORWARDED_FOR", "")
        proto = params.get("HTTP_X_FORWARDED_PROTO", "")
        host = params.get("HTTP_X_FORWARDED_HOST", "")
        if not (xff or proto or host):
            return False  # the common case, even from a trusted peer: nothing forwarded
        hops = [hop.strip() for hop in xff.split(",") if hop.strip()]
        proto = proto.rpartition(",")[2].strip() or None
        host = host.rpartition(",")[2].strip() or None
    # RFC 7239 6.2/6.3: a node may be "unknown" or an obfuscated "_id";
    # REMOTE_ADDR must stay an address, so only IP hops count.
    hops = [hop for hop in hops if _is_ip(hop)]
    if hops:
        client = hops[0]
        for hop in reversed(hops):
            if not trusts(hop):
                client = hop
                break
        params["REMOTE_ADDR"] = client
        params.pop("REMOTE_PORT", None)
    if proto:
        proto = proto.lower()
        if proto in ("http", "https"):
            params["REQUEST_SCHEME"] = proto
            if proto == "https":
                params["HTTPS"] = "on"
    if host and not _BAD_VALUE.search(host):
        params["HTTP_HOST"] = host
    return bool(hops)
