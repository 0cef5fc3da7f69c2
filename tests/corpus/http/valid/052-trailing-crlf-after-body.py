"""An extra CRLF after a Content-Length body (old browsers sent one, RFC 9112 2.2)
is skipped before the next request-line, never taken as body."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/a",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="2",
        body=b"ok",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/b",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
