"""A request target exactly max_request_line (64) bytes long is accepted."""

limits = dict(max_request_line=64)

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/012345678901234567890123456789012345678901234567890123456789012",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
