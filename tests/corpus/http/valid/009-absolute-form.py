"""absolute-form (RFC 9112 3.2.2): REQUEST_URI keeps the whole target (the WSGI
bridge routes on its path), QUERY_STRING is still the part after "?"."""

expect = [
    dict(
        REQUEST_METHOD="GET",
        REQUEST_URI="http://example.com/path/to?x=1",
        QUERY_STRING="x=1",
        SERVER_PROTOCOL="HTTP/1.1",
        HTTP_HOST="example.com",
    ),
]
