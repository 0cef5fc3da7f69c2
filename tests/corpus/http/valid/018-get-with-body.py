"""A GET may have a body (RFC 9110 9.3.1 gives it no meaning, but it must still be
read, or its bytes would be parsed as the next request)."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/search",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH="13",
        body=b'{"q": "fcgi"}',
    ),
]
