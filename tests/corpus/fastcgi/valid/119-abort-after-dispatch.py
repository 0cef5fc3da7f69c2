"""FCGI_ABORT_REQUEST after dispatch: the app is told (RequestAborted) and answers the
request itself; a second ABORT_REQUEST is not reported twice. Request 2 is aborted
after its body ended."""

from tests.corpus.fastcgi.helpers import abort, begin, params, params_end, stdin, stdin_end

records = [
    begin(1, keep_conn=True),
    begin(2, keep_conn=True),
    params(1, {"REQUEST_METHOD": "POST"}),
    params_end(1),
    stdin(1, b"part"),
    abort(1),
    abort(1),
    params_end(2),
    stdin_end(2),
    abort(2),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "POST"}, True, "RESPONDER"),
    ("body", 1, b"part"),
    ("aborted", 1),
    ("started", 2, {}, True, "RESPONDER"),
    ("end", 2),
    ("aborted", 2),
]

reply = b""
