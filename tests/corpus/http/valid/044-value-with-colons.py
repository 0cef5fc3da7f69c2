"""Only the first colon separates name and value."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="[2001:db8::1]:8080",
        HTTP_X_TIME="12:30:45",
        HTTP_REFERER="https://example.com:443/a?b=c:d",
    ),
]
