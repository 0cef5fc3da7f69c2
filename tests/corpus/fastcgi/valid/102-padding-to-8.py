"""Every record padded to a multiple of 8 (nginx's and cgi-fcgi's way)."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin, stdin_end

records = [
    begin(1),
    params(1, {"REQUEST_METHOD": "PUT", "QUERY_STRING": "a=1"}),
    params_end(1),
    stdin(1, b"0123456789"),  # 10 + 6
    stdin(1, b"x" * 8),  # 8 + 0
    stdin(1, b"y"),  # 1 + 7
    stdin_end(1),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "PUT", "QUERY_STRING": "a=1"}, False, "RESPONDER"),
    ("body", 1, b"0123456789xxxxxxxxy"),
    ("end", 1),
]
