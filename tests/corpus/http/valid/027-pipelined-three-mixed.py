"""GET, POST with Content-Length, PUT chunked: each body ends exactly where its
framing says, and the next request starts on the following byte."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/first",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/second",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="11",
        body=b"hello world",
    ),
    dict(
        REQUEST_METHOD="PUT",
        REQUEST_URI="/third",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"ok",
    ),
]
