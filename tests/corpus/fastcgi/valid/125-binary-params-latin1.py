"""Names and values are bytes on the wire; they arrive as latin-1 str (PEP 3333), so
every byte 0..255 round-trips: UTF-8 text, NUL, CR/LF and '=' included."""

from tests.corpus.fastcgi.helpers import begin, params, params_end, stdin_end

RAW = [
    (b"HTTP_X_UTF8", "é€".encode()),
    (b"HTTP_X_ALL", bytes(range(256))),
    (b"WITH=EQUALS", b"a=b=c"),
    (b"\x00\xff", b"\r\n"),
]
records = [
    begin(1),
    params(1, RAW),
    params_end(1),
    stdin_end(1),
]

PARAMS = {name.decode("latin-1"): value.decode("latin-1") for name, value in RAW}
expect = [
    ("started", 1, PARAMS, False, "RESPONDER"),
    ("end", 1),
]
