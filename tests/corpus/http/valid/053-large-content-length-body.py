"""A 3000-byte body, cut into BodyData pieces however it arrives."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/big",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_LENGTH="3000",
        body=b"".join(b"%09d\n" % i for i in range(300)),
    ),
]
