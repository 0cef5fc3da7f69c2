"""asterisk-form (RFC 9112 3.2.4): only OPTIONS may use it."""

expect = [
    dict(
        REQUEST_METHOD="OPTIONS",
        REQUEST_URI="*",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
