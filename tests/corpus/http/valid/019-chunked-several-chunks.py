"""A chunked body (RFC 9112 7.1) of three chunks; CONTENT_LENGTH is absent."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/upload",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"hello, world",
    ),
]
