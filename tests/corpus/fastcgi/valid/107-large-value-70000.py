"""A 70000-byte value: more than one record holds (65535), so it spans two PARAMS
records; its 4-byte length is 0x80011170."""

from tests.corpus.fastcgi.helpers import begin, pairs, params, params_end, stdin_end

BIG = "".join(chr(32 + i % 95) for i in range(70000))
STREAM = pairs({"HTTP_X_BIG": BIG, "REQUEST_METHOD": "GET"})
records = [
    begin(1, keep_conn=True),
    params(1, raw=STREAM, cuts=(65535,), padding=0),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, {"HTTP_X_BIG": BIG, "REQUEST_METHOD": "GET"}, True, "RESPONDER"),
    ("end", 1),
]
