"""An empty field value is allowed (RFC 9110 5.5): the param exists and is ""."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_EMPTY="",
        HTTP_X_BLANK="",
        HTTP_REFERER="",
    ),
]
