"""A management record (request id 0) of a type we do not know is answered with
FCGI_UNKNOWN_TYPE naming that type (spec 4.2), whatever its content."""

from tests.corpus.fastcgi.helpers import begin, params_end, record, stdin_end, unknown_type

records = [
    record(12, 0, b"abc"),
    record(200, 0, b""),
    begin(1),
    record(255, 0, b"x" * 20, padding=3),
    params_end(1),
    stdin_end(1),
]

expect = [
    ("started", 1, {}, False, "RESPONDER"),
    ("end", 1),
]

reply = unknown_type(12) + unknown_type(200) + unknown_type(255)
