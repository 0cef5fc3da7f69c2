"""The expectation token is case-insensitive (RFC 9110 10.1.1)."""

expect = [
    dict(
        REQUEST_METHOD="PUT",
        REQUEST_URI="/a",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        HTTP_EXPECT="100-Continue",
        HTTP_TRANSFER_ENCODING="chunked",
        body=b"hi",
        expect_continue=True,
    ),
]
