"""Every pchar (RFC 3986 3.3) is allowed in the path, unescaped."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="/a/b;v=1/c,d/e+f/~user/!$&'()*=:@-._",
        QUERY_STRING="",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
