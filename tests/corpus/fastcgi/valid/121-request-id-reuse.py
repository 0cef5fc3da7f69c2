"""A request id becomes inactive when its END_REQUEST is sent and can then be reused
by a new BEGIN_REQUEST, as nginx and Apache do (always id 1)."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, respond, stdin, stdin_end

records = [
    begin(1, keep_conn=True),
    params(1, {"N": "1"}),
    params_end(1),
    stdin_end(1),
    respond(1),
    begin(1, keep_conn=True),
    params(1, {"N": "2"}),
    params_end(1),
    stdin(1, b"second"),
    stdin_end(1),
    respond(1),
    begin(1),
    params(1, {"N": "3"}),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, {"N": "1"}, True, "RESPONDER"),
    ("end", 1),
    ("started", 1, {"N": "2"}, True, "RESPONDER"),
    ("body", 1, b"second"),
    ("end", 1),
    ("started", 1, {"N": "3"}, False, "RESPONDER"),
    ("end", 1),
]
