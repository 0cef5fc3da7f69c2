"""FCGI_KEEP_CONN: flags bit 0 set means keep_conn; the other (reserved) flag bits
are ignored, and a request without the bit is not kept."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin_end

records = [
    begin(1, keep_conn=True),
    begin(2, flags=0xFF),
    begin(3, flags=0xFE),
    params(1, {"A": "1"}),
    params_end(1),
    params_end(2),
    params_end(3),
    stdin_end(1),
    stdin_end(2),
    stdin_end(3),
]

expect = [
    ("started", 1, {"A": "1"}, True, "RESPONDER"),
    ("started", 2, {}, True, "RESPONDER"),
    ("started", 3, {}, False, "RESPONDER"),
    ("end", 1),
    ("end", 2),
    ("end", 3),
]
