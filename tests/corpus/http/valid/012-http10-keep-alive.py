"""HTTP/1.0 with "Connection: keep-alive" (RFC 9112 9.3): the connection is kept."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/old",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="keep-alive",
        keep_alive=True,
    ),
]
