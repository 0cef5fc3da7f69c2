"""obs-text (bytes 0x80-0xFF) is allowed in values (RFC 9110 5.5) and arrives
decoded as latin-1, one character per byte, as PEP 3333 wants."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_NAME="Caf\xe9 \x80\xa0\xff",
        HTTP_CONTENT_DISPOSITION='attachment; filename="r\xe9sum\xe9.pdf"',
    ),
]
