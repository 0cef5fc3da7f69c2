"""Cookie lines combine with "; " (RFC 6265 5.4), not with a comma."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_COOKIE="a=1; b=2; c=3; d=4",
    ),
]
