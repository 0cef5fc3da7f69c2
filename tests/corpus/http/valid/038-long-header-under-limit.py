"""An 8000-byte value, well under the default 64 KiB head limit."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_X_LONG="".join("abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(8000)),
    ),
]
