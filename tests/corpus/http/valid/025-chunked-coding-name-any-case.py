"""Transfer-coding names are case-insensitive (RFC 9112 7)."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="Chunked",
        body=b"abc",
    ),
]
