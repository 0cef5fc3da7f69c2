"""EOF aborts the dispatched requests only: one still reading PARAMS was never seen by
the app, one answered already is gone; the others get RequestAborted."""

from tests.corpus.fastcgi.helpers import begin, eof, params, params_end, respond, stdin, stdin_end

records = [
    begin(1, keep_conn=True),
    begin(2, keep_conn=True),
    begin(3, keep_conn=True),
    begin(4, keep_conn=True),
    params(1, {"STATE": "awaiting params"}),
    params_end(2),
    stdin(2, b"half"),
    params_end(3),
    stdin_end(3),
    params_end(4),
    stdin_end(4),
    respond(4),
    eof(),
]

expect = [
    ("started", 2, {}, True, "RESPONDER"),
    ("body", 2, b"half"),
    ("started", 3, {}, True, "RESPONDER"),
    ("end", 3),
    ("started", 4, {}, True, "RESPONDER"),
    ("end", 4),
    ("aborted", 2),
    ("aborted", 3),
]
