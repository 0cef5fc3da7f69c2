"""A POST with an empty body: BodyEnd at once, no BodyData."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/ping",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="0",
        body=b"",
    ),
]
