"""The app answers before reading the whole body (Apache streams STDIN while it reads
the response): the rest of the STDIN is for an inactive id and is drained, so the
framing stays in sync and the next request on the kept connection is read."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, respond, stdin, stdin_end

records = [
    begin(1, keep_conn=True),
    params(1, {"REQUEST_METHOD": "POST"}),
    params_end(1),
    stdin(1, b"read"),
    respond(1),
    stdin(1, b"never read"),
    stdin_end(1),
    begin(1, keep_conn=True),
    params(1, {"REQUEST_METHOD": "GET"}),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "POST"}, True, "RESPONDER"),
    ("body", 1, b"read"),
    ("started", 1, {"REQUEST_METHOD": "GET"}, True, "RESPONDER"),
    ("end", 1),
]
