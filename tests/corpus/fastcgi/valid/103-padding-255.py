"""The largest padding (255 bytes, odd) on every record, empty ones and management
records included; padding bytes that are not zero are skipped just the same."""

from tests.corpus.fastcgi.helpers import (
    HEADER,
    STDIN,
    begin,
    get_values,
    get_values_result,
    params,
    params_end,
    stdin,
    stdin_end,
)

records = [
    begin(1, padding=255),
    params(1, {"REQUEST_METHOD": "GET", "X": "y" * 200}, padding=255),
    get_values("FCGI_MPXS_CONNS", padding=255),
    params_end(1, padding=255),
    stdin(1, b"body", padding=255),
    # Padding of 0xff bytes: its content is meaningless and must not be read.
    HEADER.pack(1, STDIN, 1, 3, 255, 0) + b"end" + b"\xff" * 255,
    stdin_end(1, padding=255),
]

expect = [
    ("started", 1, {"REQUEST_METHOD": "GET", "X": "y" * 200}, False, "RESPONDER"),
    ("body", 1, b"bodyend"),
    ("end", 1),
]

reply = get_values_result([("FCGI_MPXS_CONNS", "1")])
