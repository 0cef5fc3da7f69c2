"""RFC 9112 2.2: a server SHOULD ignore at least one empty line received before
the request-line (some clients send a CRLF after a POST body)."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
