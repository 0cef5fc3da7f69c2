"""Trailer fields after the last chunk end the body; they arrive after the params
were handed over, so they are not params."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/trailers",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_TRAILER="X-Checksum, X-Count",
        body=b"Mozilla",
    ),
]
