"""A binary body holding NULs, CRLFs and even a request line: it is counted by
Content-Length, never parsed (the classic desync probe)."""

expect = [
    dict(
        REQUEST_METHOD="PUT",
        REQUEST_URI="/blob/7",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_TYPE="application/octet-stream",
        CONTENT_LENGTH="25",
        body=b"\x00\x01\x02\r\n\r\nGET / HTTP/1.1\r\n\xff\xfe",
    ),
]
