"""Chunk extensions (RFC 9112 7.1.1), even on the last chunk, are ignored."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/ext",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"Wikipedia",
    ),
]
