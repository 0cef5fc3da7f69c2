"""Optional whitespace around a value is not part of it (RFC 9112 5), and no
space after the colon is needed."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_LEFT="left",
        HTTP_X_RIGHT="right",
        HTTP_X_BOTH="both",
    ),
]
