"""RFC 9112 3.2: an empty Host is allowed when the target has no authority; the
rule is exactly one Host field line, not a non-empty one."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="",
    ),
]
