"""Two good requests, then a bad one (two Content-Lengths), then a good one:
the first two are served, the third is refused as request 3, and /four is never
parsed."""

status = 400
before = 2

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/one",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/two",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="3",
        body=b"abc",
    ),
]
