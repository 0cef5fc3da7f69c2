"""A form POST: Content-Type and Content-Length become CONTENT_TYPE and
CONTENT_LENGTH (RFC 3875 4.1.2, 4.1.3), without the HTTP_ prefix."""

expect = [
    dict(
        REQUEST_METHOD="POST",
        REQUEST_URI="/login",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        CONTENT_LENGTH="27",
        body=b"user=alice&password=s3cr%21",
    ),
]
