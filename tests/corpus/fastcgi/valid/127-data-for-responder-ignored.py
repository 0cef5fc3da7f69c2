"""FCGI_DATA belongs to FILTER; a responder that gets it after dispatch drops it, and
a STDIN record after the end of input is dropped too (it cannot break the framing)."""

from tests.corpus.fastcgi.helpers import DATA, begin, params_end, record, stdin, stdin_end

records = [
    begin(1),
    params_end(1),
    record(DATA, 1, b"filter data"),
    stdin(1, b"in"),
    stdin_end(1),
    record(DATA, 1, b""),
    stdin(1, b"after end"),
    stdin_end(1),
]

expect = [
    ("started", 1, {}, False, "RESPONDER"),
    ("body", 1, b"in"),
    ("end", 1),
]
