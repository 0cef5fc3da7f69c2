"""HTTP/1.1 persists by default; "Connection: close" ends it after this request."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/bye",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_CONNECTION="close",
        keep_alive=False,
    ),
]
