"""A chunked body that is only the last chunk: BodyEnd, no BodyData."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/empty",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
    ),
]
