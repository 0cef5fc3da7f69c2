"""No padding on any record, with odd content lengths (Apache mod_proxy_fcgi's way)."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin, stdin_end

records = [
    begin(1, padding=0),
    params(1, {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5"}, padding=0),
    params_end(1, padding=0),
    stdin(1, b"abc", padding=0),
    stdin(1, b"de", padding=0),
    stdin_end(1, padding=0),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5"}, False, "RESPONDER"),
    ("body", 1, b"abcde"),
    ("end", 1),
]
