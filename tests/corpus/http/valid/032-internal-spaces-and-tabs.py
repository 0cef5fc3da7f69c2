"""Spaces and tabs inside a value are part of it (RFC 9110 5.5)."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_NOTE="two  spaces\tand\ttabs \t inside",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64)",
    ),
]
