"""Host plus 99 fields: exactly max_headers (100) fields, accepted."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/many",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        **{f"HTTP_X_H{i:02d}": f"value {i}" for i in range(99)},
    ),
]
