"""An HTTP/1.0 keep-alive POST, then an HTTP/1.1 request that closes: the keep-alive
decision is per request."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/form",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.0",
        HTTP_CONNECTION="keep-alive",
        CONTENT_TYPE="text/plain",
        CONTENT_LENGTH="4",
        body=b"a\r\nb",
        keep_alive=True,
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/next",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="close",
        keep_alive=False,
    ),
]
