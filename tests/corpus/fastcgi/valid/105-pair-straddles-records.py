"""A PARAMS stream's value does not depend on record boundaries (spec 3.3): pairs cut
inside a 4-byte length, between name and value, and inside a value."""

from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

ITEMS = {"SHORT": "v", "LONG_VALUE": "L" * 300, "REQUEST_URI": "/straddle?x=1"}
STREAM = pairs(ITEMS)
# "SHORT"/"v" take 1+1+5+1 = 8 bytes; "LONG_VALUE" starts with 1 + 4 length bytes.
records = [
    begin(1),
    params(1, raw=STREAM, cuts=(3, 8, 10, 15, 20, 100, len(STREAM) - 1)),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, ITEMS, False, "RESPONDER"),
    ("end", 1),
]
