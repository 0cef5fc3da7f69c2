"""Three requests multiplexed on one connection, their PARAMS and STDIN interleaved;
each event carries its own id, and body pieces of different requests never merge."""

from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin, stdin_end

P1 = pairs({"REQUEST_URI": "/one", "N": "1"})
P3 = pairs({"REQUEST_URI": "/three"})
records = [
    begin(1, keep_conn=True),
    begin(2, keep_conn=True),
    params(1, raw=P1[:5]),
    begin(3, keep_conn=True),
    params(2, {"REQUEST_URI": "/two"}),
    params(3, raw=P3),
    params(1, raw=P1[5:]),
    params_end(3),
    params_end(1),
    stdin(3, b"three-a"),
    stdin(1, b"one-a"),
    params_end(2),
    stdin(3, b"three-b"),
    stdin(2, b"two"),
    stdin(1, b"one-b"),
    stdin_end(2),
    stdin(1, b"one-c"),
    stdin_end(1),
    stdin_end(3),
]

expect = [
    ("started", 3, {"REQUEST_URI": "/three"}, True, "RESPONDER"),
    ("started", 1, {"REQUEST_URI": "/one", "N": "1"}, True, "RESPONDER"),
    ("body", 3, b"three-a"),
    ("body", 1, b"one-a"),
    ("started", 2, {"REQUEST_URI": "/two"}, True, "RESPONDER"),
    ("body", 3, b"three-b"),
    ("body", 2, b"two"),
    ("body", 1, b"one-b"),
    ("end", 2),
    ("body", 1, b"one-c"),
    ("end", 1),
    ("end", 3),
]
