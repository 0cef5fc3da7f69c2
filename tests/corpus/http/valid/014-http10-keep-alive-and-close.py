"""RFC 9112 9.3: "If the "close" connection option is present, the connection
will not persist after the current response" - checked before keep-alive."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="keep-alive, close",
        keep_alive=False,
    ),
]
