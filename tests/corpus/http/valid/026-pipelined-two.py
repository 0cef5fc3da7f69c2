"""Two pipelined GETs in one buffer: two requests, numbered 1 and 2."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/a",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/b",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
