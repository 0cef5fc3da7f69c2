"""A request right after a chunked body's last CRLF is a new request."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/a",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"abc",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/b",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
