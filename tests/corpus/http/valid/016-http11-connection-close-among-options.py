"""The "close" option is found among other connection options, whatever its case."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="X-Trace, Close",
        keep_alive=False,
    ),
]
