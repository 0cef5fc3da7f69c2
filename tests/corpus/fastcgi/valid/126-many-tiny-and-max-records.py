"""A body in 1-byte STDIN records, then one record of the largest size (65535 bytes,
padded by 1); the body is the same however it was cut."""

from tests.corpus.fastcgi.helpers import begin, params_end, stdin, stdin_end

BODY = bytes(range(200)) + b"M" * 65535
records = [
    begin(1),
    params_end(1),
    stdin(1, BODY[:200], chunk=1),
    stdin(1, BODY[200:], chunk=65535),
    stdin_end(1),
]

expect = [
    ("started", 1, {}, False, "RESPONDER"),
    ("body", 1, BODY),
    ("end", 1),
]
