"""Chunk data that looks like chunk framing ("\r\n0\r\n\r\n") is data: only the
size line decides where a chunk ends."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/bin",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"\r\n0\r\n\r\n\x00\xff\r\n\x7f",
    ),
]
