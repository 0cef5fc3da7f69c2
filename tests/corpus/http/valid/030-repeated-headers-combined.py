"""Repeated field lines combine in order with ", " (RFC 9110 5.3), whatever the
case of the name."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_ACCEPT="text/html, application/json;q=0.9, */*;q=0.1",
        HTTP_X_TAG="one, two, three",
    ),
]
