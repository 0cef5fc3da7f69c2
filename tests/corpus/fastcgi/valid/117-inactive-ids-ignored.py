"""Records for request ids that are not active are ignored (spec 3.3): never begun
(7), and ids from a response's point of view (STDOUT, END_REQUEST, DATA)."""

from tests.corpus.fastcgi.helpers import (
    DATA,
    END_REQUEST,
    STDERR,
    STDOUT,
    abort,
    begin,
    params,
    params_end,
    record,
    stdin,
    stdin_end,
)

records = [
    params(7, {"NOT": "active"}),
    params_end(7),
    stdin(7, b"lost"),
    begin(1),
    stdin_end(7),
    abort(7),
    record(STDOUT, 7, b"x"),
    record(STDERR, 7, b"y"),
    record(END_REQUEST, 7, bytes(8)),
    record(DATA, 7, b"z"),
    params(1, {"A": "b"}),
    params_end(1),
    stdin(65535, b"max id, inactive"),
    stdin(1, b"kept"),
    stdin_end(1),
]

expect = [
    ("started", 1, {"A": "b"}, False, "RESPONDER"),
    ("body", 1, b"kept"),
    ("end", 1),
]
