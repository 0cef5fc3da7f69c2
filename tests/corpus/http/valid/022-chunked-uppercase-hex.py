"""Chunk sizes are hex in either case, with leading zeros; "000" is the last chunk."""

expect = [
    dict(
        REQUEST_METHOD="PUT",
        REQUEST_URI="/hex",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO",
    ),
]
