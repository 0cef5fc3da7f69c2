"""Expect: 100-continue (RFC 9110 10.1.1): the request id is remembered in
conn.expect_continue so that the glue can send "100 Continue" when the app reads."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/upload",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="5",
        HTTP_EXPECT="100-continue",
        body=b"hello",
        expect_continue=True,
    ),
]
